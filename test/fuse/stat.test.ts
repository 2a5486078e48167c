// Stat and statfs formatting, the stat encoding the binding reads, and the
// utimens time decoding.
import { constants } from 'node:fs';
import { describe, expect, test } from 'vitest';
import type { FileAttributes } from '../../src/vfs/filesystem-api.js';
import { DIRECTORY_SIZE, PREFERRED_IO_SIZE, encodeStat, toFuseStat, toFuseStatfs } from '../../src/fuse/stat.js';
import { decodeTimeWords } from '../../src/fuse/time.js';

const mtime = new Date('2024-05-06T07:08:09.123Z');

describe('toFuseStat', () => {
  test('a file', () => {
    expect(toFuseStat({ kind: 'file', size: 1025, mtime, permissions: 0o640, uid: 1000, gid: 100 })).toEqual({
      mode: constants.S_IFREG | 0o640, uid: 1000, gid: 100, size: 1025, nlink: 1, blocks: 3, blksize: PREFERRED_IO_SIZE, rdev: 0,
      atime: mtime, mtime, ctime: mtime,
    });
  });

  test('each kind has its type bits; link count, device number, atime and ctime when given', () => {
    const base = { size: 0, mtime, permissions: 0o644, uid: 0, gid: 0 };
    const bits = (kind: FileAttributes['kind']): number => toFuseStat({ ...base, kind }).mode & constants.S_IFMT;
    expect(bits('symlink')).toBe(constants.S_IFLNK);
    expect(bits('fifo')).toBe(constants.S_IFIFO);
    expect(bits('socket')).toBe(constants.S_IFSOCK);
    expect(bits('char-device')).toBe(constants.S_IFCHR);
    expect(bits('block-device')).toBe(constants.S_IFBLK);
    const atime = new Date(5000);
    const ctime = new Date(9000);
    expect(toFuseStat({ ...base, kind: 'char-device', rdev: 0x0102, atime, ctime })).toMatchObject({ rdev: 0x0102, atime, ctime, mtime });
    expect(toFuseStat({ ...base, kind: 'directory', nlink: 5 }).nlink).toBe(5);
    expect(toFuseStat({ ...base, kind: 'file', nlink: 0 }).nlink).toBe(0);
    expect(encodeStat(toFuseStat({ ...base, kind: 'block-device', rdev: 0x0803 }))[8]).toBe(0x0803);
  });

  test('a folder shows a block size, two links and S_IFDIR', () => {
    const s = toFuseStat({ kind: 'directory', size: 0, mtime, permissions: 0o755, uid: 0, gid: 0 });
    expect(s).toMatchObject({ mode: constants.S_IFDIR | 0o755, size: DIRECTORY_SIZE, nlink: 2, blocks: 8 });
  });

  test('type bits in permissions are ignored; odd sizes are cleaned', () => {
    expect(toFuseStat({ kind: 'file', size: -5, mtime, permissions: constants.S_IFDIR | 0o7644, uid: 0, gid: 0 })).toMatchObject({ mode: constants.S_IFREG | 0o7644, size: 0, blocks: 0 });
    expect(toFuseStat({ kind: 'file', size: 5 * 1024 ** 3 + 1, mtime, permissions: 0o644, uid: 0, gid: 0 }).blocks).toBe(5 * 1024 ** 3 / 512 + 1);
  });
});

describe('encodeStat (the layout of populate_stat in fuse-native.c)', () => {
  test('64-bit size, blocks and millisecond times as low/high halves', () => {
    const ints = encodeStat({ mode: 0o100644, uid: 7, gid: 8, size: 5 * 2 ** 32 + 3, nlink: 1, blocks: 2 ** 33, blksize: 4096, atime: new Date(1000), mtime, ctime: mtime });
    expect([...ints.slice(0, 3)]).toEqual([0o100644, 7, 8]);
    expect([ints[3], ints[4]]).toEqual([3, 5]);
    expect([ints[6], ints[9]]).toEqual([1, 4096]);
    expect([ints[10], ints[11]]).toEqual([0, 2]);
    expect([ints[12], ints[13]]).toEqual([1000, 0]);
    expect(ints[14]! + ints[15]! * 2 ** 32).toBe(mtime.getTime());
  });

  test('times before 1970 and invalid dates become 0 instead of wrapping', () => {
    const ints = encodeStat({ mode: 0, uid: 0, gid: 0, size: 0, nlink: 1, blocks: 0, blksize: 0, atime: new Date(-1000), mtime: new Date(NaN), ctime: new Date(0) });
    expect([...ints.slice(12)]).toEqual([0, 0, 0, 0, 0, 0]);
  });
});

describe('toFuseStatfs', () => {
  test('block counts beyond 32 bits scale the fragment size, keeping the total', () => {
    const s = toFuseStatfs({ blockSize: 4096, totalBlocks: 2 ** 40, freeBlocks: 2 ** 39, availableBlocks: 2 ** 38, totalFiles: 2 ** 40, freeFiles: 10, maxNameLength: 255 });
    expect(s.frsize * s.blocks).toBe(4096 * 2 ** 40);
    expect(s.frsize * s.bavail).toBe(4096 * 2 ** 38);
    expect(s.blocks).toBeLessThanOrEqual(0xffffffff);
    expect(s).toMatchObject({ bsize: 4096, files: 0xffffffff, ffree: 10, favail: 10, namemax: 255 });
  });

  test('small values pass unchanged', () => {
    expect(toFuseStatfs({ blockSize: 4096, totalBlocks: 100, freeBlocks: 50, availableBlocks: 40, totalFiles: 1000, freeFiles: 900, maxNameLength: 512 }))
      .toEqual({ bsize: 4096, frsize: 4096, blocks: 100, bfree: 50, bavail: 40, files: 1000, ffree: 900, favail: 900, fsid: 0, flag: 0, namemax: 512 });
  });
});

describe('decodeTimeWords', () => {
  const words = (ms: bigint): [number, number] => {
    const u = BigInt.asUintN(64, ms);
    return [Number(u & 0xffffffffn), Number(u >> 32n)];
  };

  test('the all-ones sentinel is UTIME_OMIT', () => {
    expect(decodeTimeWords(0xffffffff, 0xffffffff)).toBeNull();
  });

  test('positive and negative millisecond times', () => {
    for (const ms of [0, 1, 981173106000, Date.UTC(2100, 0, 1), -1000, -315619200000, -1500]) {
      expect(decodeTimeWords(...words(BigInt(ms)))).toBe(ms);
    }
  });
});
