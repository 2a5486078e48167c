// What the kernel sees of a file: FileAttributes (the filesystem layer's
// plain result) turned into a stat, the stat encoded the way fuse-native's C
// binding reads it, and FilesystemStats turned into statvfs fields. Pure
// formatting: every value comes from the filesystem layer.
import { constants } from 'node:fs';
import type { FileAttributes, FileKind, FilesystemStats } from '../vfs/index.js';
import type { FuseStat, FuseStatfs } from './operations.js';

/**
 * st_blksize. cp, cat and stdio size their I/O by it; 1 MiB is exactly one
 * FUSE request (max_write = max_read = 1 MiB, mount-options.ts), so a tool
 * reads and writes in whole requests (NFS reports its 1 MiB wsize the same
 * way).
 */
export const PREFERRED_IO_SIZE = 1024 * 1024;

/** A folder's st_size: folders have no size on the server; 4096 is what local filesystems show. */
export const DIRECTORY_SIZE = 4096;

/** st_blocks counts 512-byte units whatever the block size (stat(2)). */
const STAT_BLOCK_UNIT = 512;

const UINT32_MAX = 0xffff_ffff;

/** The file type bits of each kind. */
const TYPE_BITS: Readonly<Record<FileKind, number>> = {
  file: constants.S_IFREG,
  directory: constants.S_IFDIR,
  symlink: constants.S_IFLNK,
  fifo: constants.S_IFIFO,
  socket: constants.S_IFSOCK,
  'char-device': constants.S_IFCHR,
  'block-device': constants.S_IFBLK,
};

export function toFuseStat(attributes: FileAttributes): FuseStat {
  const directory = attributes.kind === 'directory';
  const size = directory ? DIRECTORY_SIZE : wholeBytes(attributes.size);
  return {
    mode: TYPE_BITS[attributes.kind] | (attributes.permissions & 0o7777),
    uid: attributes.uid,
    gid: attributes.gid,
    size,
    // A folder's 2 ("." and its entry in the parent) plus its subfolders,
    // when the filesystem layer knows them; otherwise 2, which find(1)
    // treats as "unknown" and so stays correct.
    nlink: attributes.nlink ?? (directory ? 2 : 1),
    blocks: Math.ceil(size / STAT_BLOCK_UNIT),
    blksize: PREFERRED_IO_SIZE,
    rdev: attributes.rdev ?? 0,
    atime: attributes.atime ?? attributes.mtime,
    mtime: attributes.mtime,
    ctime: attributes.ctime ?? attributes.mtime,
  };
}

function wholeBytes(n: number): number {
  return Number.isFinite(n) && n > 0 ? Math.floor(n) : 0;
}

/**
 * Encodes a stat in the layout populate_stat() in fuse-native.c reads: 18
 * unsigned 32-bit integers; 64-bit values (size, blocks, times in ms since
 * the epoch) as low/high pairs. Unlike fuse-native's own getStatArray, times
 * before 1970 and invalid dates become 0 instead of wrapping to the year
 * 584 million.
 */
export function encodeStat(stat: FuseStat): Uint32Array {
  const ints = new Uint32Array(18);
  ints[0] = stat.mode;
  ints[1] = stat.uid;
  ints[2] = stat.gid;
  setUint64(ints, 3, stat.size);
  ints[5] = 0; // dev
  ints[6] = stat.nlink;
  ints[7] = 0; // ino: libfuse assigns inode numbers (no use_ino)
  ints[8] = stat.rdev ?? 0;
  ints[9] = stat.blksize;
  setUint64(ints, 10, stat.blocks);
  setUint64(ints, 12, epochMs(stat.atime));
  setUint64(ints, 14, epochMs(stat.mtime));
  setUint64(ints, 16, epochMs(stat.ctime));
  return ints;
}

function epochMs(date: Date): number {
  const ms = date.getTime();
  return Number.isFinite(ms) && ms > 0 ? Math.floor(ms) : 0;
}

function setUint64(ints: Uint32Array, index: number, value: number): void {
  const v = Number.isFinite(value) && value > 0 ? Math.floor(value) : 0;
  ints[index] = v % 0x1_0000_0000;
  ints[index + 1] = Math.floor(v / 0x1_0000_0000);
}

/**
 * statvfs fields. The binding stores each in 32 bits, so when the block
 * counts do not fit, the fragment size (the unit df multiplies f_blocks by)
 * doubles until they do: a 100 TiB quota is still reported as 100 TiB.
 */
export function toFuseStatfs(stats: FilesystemStats): FuseStatfs {
  let frsize = Math.max(1, Math.floor(stats.blockSize));
  let blocks = wholeBytes(stats.totalBlocks);
  let bfree = wholeBytes(stats.freeBlocks);
  let bavail = wholeBytes(stats.availableBlocks);
  while (Math.max(blocks, bfree, bavail) > UINT32_MAX && frsize < 0x4000_0000) {
    frsize *= 2;
    blocks = Math.floor(blocks / 2);
    bfree = Math.floor(bfree / 2);
    bavail = Math.floor(bavail / 2);
  }
  const files = Math.min(wholeBytes(stats.totalFiles), UINT32_MAX);
  const ffree = Math.min(wholeBytes(stats.freeFiles), UINT32_MAX);
  return {
    bsize: Math.min(Math.max(1, Math.floor(stats.blockSize)), UINT32_MAX),
    frsize,
    blocks: Math.min(blocks, UINT32_MAX),
    bfree: Math.min(bfree, UINT32_MAX),
    bavail: Math.min(bavail, UINT32_MAX),
    files,
    ffree,
    favail: ffree,
    fsid: 0,
    flag: 0,
    namemax: Math.min(wholeBytes(stats.maxNameLength), UINT32_MAX),
  };
}
