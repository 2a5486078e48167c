// The filesystem layer's options: one typed object with documented defaults,
// checked and normalised once (resolveOptions) so that the rest of src/vfs
// reads plain numbers. The CLI maps its flags (--attr-ttl, --dir-ttl, --uid,
// --gid, --umask, --read-only, --root) onto FilesystemOptions; tests inject a
// clock and small sizes.
import { checkInteger as integer } from '../options/check.js';
import { ConfigError } from '../options/config-error.js';
import { silentLogger, type Logger } from '../log/logger.js';
import { normalize } from '../path/index.js';

/** Milliseconds since some fixed point; Date.now by default, a fake in tests. */
export type Clock = () => number;

const KiB = 1024;
const MiB = 1024 * KiB;
const GiB = 1024 * MiB;

export interface FilesystemOptions {
  /** Remote folder shown as the mount's root; '' (default) = the site root. */
  remoteRoot?: string;
  /** How long attributes (stat results) are trusted, ms. Default 5,000; 0 disables. */
  attrTtlMs?: number;
  /** How long a folder listing is trusted, ms. Default 5,000; 0 disables. */
  dirTtlMs?: number;
  /** How long "does not exist" is trusted, ms. Default: attrTtlMs. */
  negativeTtlMs?: number;
  /** Owner shown for every file; default: the mounting process's uid. */
  uid?: number;
  /** Group shown for every file; default: the mounting process's gid. */
  gid?: number;
  /** Files show 0666 & ~umask, folders 0777 & ~umask. Default 0o022. */
  umask?: number;
  /** Refuse every change with EROFS (and show no write bits). Default false. */
  readOnly?: boolean;
  /**
   * Keep modes, owners and file types (symbolic links, FIFOs, sockets,
   * devices) in each entry's custom_metadata (posix/posix-metadata.ts).
   * Default true; false shows the mount's --uid, --gid and --umask for
   * everything, accepts chmod and chown without effect and refuses symbolic
   * links and special files with EPERM.
   */
  posixMetadata?: boolean;
  /**
   * Answer extended attributes (user.* as custom_metadata, the read-only
   * user.filesfs.* ones). Default true. false: the mount says it has none
   * (ENOTSUP), and the kernel stops asking: `ls -l` then costs no
   * getxattr round trips (two per entry otherwise, for the SELinux label
   * and the ACL indicator).
   */
  xattrs?: boolean;
  /**
   * Unit of the read cache and of random reads, bytes. Default 256 KiB: twice
   * the kernel's largest FUSE read (128 KiB), so an unaligned kernel read
   * touches at most two blocks, and small enough that a random 4 KiB read
   * transfers little.
   */
  readBlockSize?: number;
  /** First read-ahead window once a reader looks sequential. Default 1 MiB. */
  readAheadInitialBytes?: number;
  /**
   * Largest read-ahead window (bytes kept requested ahead of a sequential
   * reader). Default 16 MiB: with 8 MiB requests, two range requests in
   * flight, which is what the memory budget holds (readCacheTotalBytes);
   * enough for 1 Gbit/s at 100 ms.
   */
  readAheadMaxBytes?: number;
  /**
   * Largest single range request. Default 8 MiB: a sequential 256 MiB read
   * then costs about 35 requests (the limit we promise is 64), and a window
   * is still split into parallel requests.
   */
  readRequestMaxBytes?: number;
  /** Memory one file version may hold (cached + in flight), bytes. Default: all of readCacheTotalBytes. */
  readCachePerFileBytes?: number;
  /**
   * Memory for file content, whole mount (the pool every cached or fetched
   * block is cut from), bytes. Default 16 MiB: two range requests in flight.
   * The disk cache and the kernel's page cache hold what was read; memory
   * holds what is in flight and on its way to disk (read/block-pool.ts).
   */
  readCacheTotalBytes?: number;
  /** Bytes a file nobody has open keeps in memory when they are not on disk. Default 8 MiB. */
  closedFileKeptBytes?: number;
  /** The content cache on disk: its folder (created 0700). None: contents are cached in memory only. */
  contentCacheDir?: string;
  /** Most bytes the content cache may use on disk. Default 10 GiB; 0 turns it off. */
  contentCacheBytes?: number;
  /** Free space the content cache leaves on its disk (it stops growing, and gives space back). Default 2 GiB. */
  contentCacheMinFreeBytes?: number;
  /**
   * The content cache's unit: a file per block of this size, fetched whole
   * while the cache is on. Default 1 MiB (a multiple of readBlockSize): a
   * file per 256 KiB block cost the kernel several times the CPU per GiB
   * (creating and renaming 4,096 files per GiB), and 1 MiB is what the
   * kernel asks for at once anyway.
   */
  contentCacheBlockBytes?: number;
  /**
   * Small files (≤ 1 MiB) fetched ahead once a program reads a folder's files
   * one after another (read/folder-read-ahead.ts). Default 256: the files a
   * fast reader gets through in the second a fault costs (a 429 or 503 says
   * to wait that long), so one file's retry does not stall the copy; the
   * window's bytes are bounded apart (16 MiB). 0 disables.
   */
  prefetchFiles?: number;
  /** Entries per listing page. Default 1,000 (Files.com recommends ≤ 1,000; max 10,000). */
  listPageSize?: number;
  /**
   * Bound on cached metadata: attribute + negative entries, and separately
   * the entries held in cached listings. Default 100,000 each (a cached entry
   * is a few hundred bytes, shared between both caches: tens of MB at most).
   */
  metadataMaxEntries?: number;
  /**
   * fcntl/lockf and flock locks are Files.com locks, seen by every client of
   * the site (locks/lock-manager.ts). Default true; false leaves locks to the
   * kernel, local to this machine.
   */
  serverLocks?: boolean;
  /** How long a server lock lasts before it is taken again, seconds. Default 3,600. */
  lockTimeoutSeconds?: number;
  /**
   * Like Files.com's own mount: an exclusive server lock for as long as a
   * file is open for writing, and while its upload publishes. Another
   * client's lock makes open for writing fail with EBUSY, and an upload wait
   * until the lock is gone. Default false; needs serverLocks.
   */
  lockOnWrite?: boolean;
  /**
   * Every this many ms, ask the server what changed in the folders in use
   * (remote-changes/poller.ts). Default 0: off.
   */
  pollIntervalMs?: number;
  logger?: Logger;
  clock?: Clock;
}

export interface ResolvedOptions {
  remoteRoot: string;
  attrTtlMs: number;
  dirTtlMs: number;
  negativeTtlMs: number;
  uid: number;
  gid: number;
  umask: number;
  /** Permission bits shown for files and folders (umask and read-only applied). */
  fileMode: number;
  dirMode: number;
  readOnly: boolean;
  posixMetadata: boolean;
  xattrs: boolean;
  readBlockSize: number;
  readAheadInitialBytes: number;
  readAheadMaxBytes: number;
  readRequestMaxBytes: number;
  readCachePerFileBytes: number;
  readCacheTotalBytes: number;
  closedFileKeptBytes: number;
  contentCacheDir: string | undefined;
  contentCacheBytes: number;
  contentCacheMinFreeBytes: number;
  contentCacheBlockBytes: number;
  prefetchFiles: number;
  listPageSize: number;
  metadataMaxEntries: number;
  serverLocks: boolean;
  lockTimeoutSeconds: number;
  lockOnWrite: boolean;
  pollIntervalMs: number;
  logger: Logger;
  clock: Clock;
}

export const DEFAULTS = {
  attrTtlMs: 5_000,
  dirTtlMs: 5_000,
  umask: 0o022,
  readBlockSize: 256 * KiB,
  readAheadInitialBytes: 1 * MiB,
  readAheadMaxBytes: 16 * MiB,
  readRequestMaxBytes: 8 * MiB,
  readCachePerFileBytes: 16 * MiB,
  readCacheTotalBytes: 16 * MiB,
  closedFileKeptBytes: 8 * MiB,
  contentCacheBytes: 10 * GiB,
  contentCacheMinFreeBytes: 2 * GiB,
  contentCacheBlockBytes: 1 * MiB,
  prefetchFiles: 256,
  listPageSize: 1_000,
  metadataMaxEntries: 100_000,
  lockTimeoutSeconds: 3_600,
} as const;

/** More files ahead than this only waits in the queue (16 are fetched at once). */
export const MAX_PREFETCH_FILES = 10_000;

/** Files.com accepts at most 10,000 entries per listing page (docs/files-api.md §2). */
const MAX_LIST_PAGE = 10_000;

function fail(name: string, expected: string, value: unknown): never {
  throw new ConfigError(`${name}: expected ${expected}, got ${String(value)}`);
}

function number(name: string, value: number, min: number): number {
  if (!Number.isFinite(value) || value < min) fail(name, `a number ≥ ${min}`, value);
  return value;
}

function multipleOf(name: string, value: number, unit: number): number {
  if (!Number.isInteger(value) || value <= 0 || value % unit !== 0) fail(name, `a positive multiple of ${unit} (the block size)`, value);
  return value;
}

export function resolveOptions(options: FilesystemOptions = {}): ResolvedOptions {
  const attrTtlMs = number('attrTtlMs', options.attrTtlMs ?? DEFAULTS.attrTtlMs, 0);
  const dirTtlMs = number('dirTtlMs', options.dirTtlMs ?? DEFAULTS.dirTtlMs, 0);
  const negativeTtlMs = number('negativeTtlMs', options.negativeTtlMs ?? attrTtlMs, 0);
  const umask = integer('umask', options.umask ?? DEFAULTS.umask, 0, 0o777);
  const readOnly = options.readOnly ?? false;
  // A read-only mount shows no write bits: tools then explain refusals better.
  const writeMask = readOnly ? 0o222 : 0;

  const readBlockSize = integer('readBlockSize', options.readBlockSize ?? DEFAULTS.readBlockSize, 4 * KiB);
  const readAheadInitialBytes = multipleOf('readAheadInitialBytes', options.readAheadInitialBytes ?? Math.max(DEFAULTS.readAheadInitialBytes, readBlockSize), readBlockSize);
  const readAheadMaxBytes = multipleOf('readAheadMaxBytes', options.readAheadMaxBytes ?? Math.max(DEFAULTS.readAheadMaxBytes, readAheadInitialBytes), readBlockSize);
  const readRequestMaxBytes = multipleOf('readRequestMaxBytes', options.readRequestMaxBytes ?? Math.max(DEFAULTS.readRequestMaxBytes, readBlockSize), readBlockSize);
  if (readAheadMaxBytes < readAheadInitialBytes) fail('readAheadMaxBytes', `a size ≥ readAheadInitialBytes (${readAheadInitialBytes})`, readAheadMaxBytes);
  // Memory must hold two of the largest requests: one in flight while a
  // reader copies out of the other. The read-ahead window is not a bound:
  // read-ahead takes only memory that is free (or on disk anyway).
  const minTotal = 2 * readRequestMaxBytes;
  const readCacheTotalBytes = integer('readCacheTotalBytes', options.readCacheTotalBytes ?? Math.max(DEFAULTS.readCacheTotalBytes, minTotal), minTotal);
  const readCachePerFileBytes = integer('readCachePerFileBytes', options.readCachePerFileBytes ?? Math.min(DEFAULTS.readCachePerFileBytes, readCacheTotalBytes), readRequestMaxBytes, readCacheTotalBytes);
  const closedFileKeptBytes = integer('closedFileKeptBytes', options.closedFileKeptBytes ?? DEFAULTS.closedFileKeptBytes, 0);
  const contentCacheBytes = integer('contentCacheBytes', options.contentCacheBytes ?? DEFAULTS.contentCacheBytes, 0);
  const contentCacheMinFreeBytes = integer('contentCacheMinFreeBytes', options.contentCacheMinFreeBytes ?? DEFAULTS.contentCacheMinFreeBytes, 0);
  const contentCacheBlockBytes = multipleOf('contentCacheBlockBytes', options.contentCacheBlockBytes ?? Math.max(DEFAULTS.contentCacheBlockBytes, readBlockSize), readBlockSize);
  if (contentCacheBlockBytes > readCacheTotalBytes / 2) fail('contentCacheBlockBytes', `at most half of readCacheTotalBytes (${readCacheTotalBytes})`, contentCacheBlockBytes);
  const prefetchFiles = integer('prefetchFiles', options.prefetchFiles ?? DEFAULTS.prefetchFiles, 0, MAX_PREFETCH_FILES);
  const listPageSize = integer('listPageSize', options.listPageSize ?? DEFAULTS.listPageSize, 1, MAX_LIST_PAGE);
  const metadataMaxEntries = integer('metadataMaxEntries', options.metadataMaxEntries ?? DEFAULTS.metadataMaxEntries, 1);
  const lockTimeoutSeconds = integer('lockTimeoutSeconds', options.lockTimeoutSeconds ?? DEFAULTS.lockTimeoutSeconds, 1);
  return {
    remoteRoot: normalize(options.remoteRoot ?? ''),
    attrTtlMs,
    dirTtlMs,
    negativeTtlMs,
    uid: integer('uid', options.uid ?? process.getuid?.() ?? 0, 0, 0xffffffff),
    gid: integer('gid', options.gid ?? process.getgid?.() ?? 0, 0, 0xffffffff),
    umask,
    fileMode: 0o666 & ~umask & ~writeMask,
    dirMode: 0o777 & ~umask & ~writeMask,
    readOnly,
    posixMetadata: options.posixMetadata ?? true,
    xattrs: options.xattrs ?? true,
    readBlockSize,
    readAheadInitialBytes,
    readAheadMaxBytes,
    readRequestMaxBytes,
    readCachePerFileBytes,
    readCacheTotalBytes,
    closedFileKeptBytes,
    contentCacheDir: options.contentCacheDir,
    contentCacheBytes,
    contentCacheMinFreeBytes,
    contentCacheBlockBytes,
    prefetchFiles,
    listPageSize,
    metadataMaxEntries,
    serverLocks: options.serverLocks ?? true,
    lockTimeoutSeconds,
    lockOnWrite: options.lockOnWrite ?? false,
    pollIntervalMs: number('pollIntervalMs', options.pollIntervalMs ?? 0, 0),
    logger: options.logger ?? silentLogger,
    clock: options.clock ?? Date.now,
  };
}
