// The FUSE adapter: turns a Filesystem (src/vfs/filesystem-api.ts) into the
// operations object fuse-native calls. For each operation it decodes the
// arguments, calls the one Filesystem method, and replies: a value, or the
// errno that errno.ts chooses for the rejection. It holds no cache and makes
// no decision about files; everything a user could observe besides the
// encoding belongs to the filesystem layer, which rejects only with FsError
// (its errno code, decided and logged there). Each operation is logged at
// trace. A rejection that is not an FsError breaks that contract: EIO, and a
// warning naming the bug.
//
// Every operation goes to the filesystem layer, which decides what it means
// (symlink, readlink, mknod, link, the extended attributes too: see
// docs/semantics.md). fsyncdir is not registered, so the kernel treats fsync
// of a directory as success.
//
// Who asks: create, mkdir, mknod and symlink pass the calling process's uid
// and gid (AdapterOptions.caller, read from the binding while the operation
// is being dispatched), the owner of what they create.
//
// Handle-based operations (read, write, flush, fsync, release, fgetattr,
// ftruncate) on a file that was unlinked while open receive path "" (the
// file has no name any more; see native/fuse-native.c): the filesystem
// layer must answer them by handle.
import { constants as fsConstants } from 'node:fs';
import { performance } from 'node:perf_hooks';
import type { Logger } from '../log/logger.js';
import { silentLogger } from '../log/logger.js';
import { type Caller, type Filesystem, type DirectoryEntry, type LockRequest, FsError } from '../vfs/index.js';
import { errnoOf } from './errno.js';
import type { FilesfsOperations, FuseLock, FuseStat } from './operations.js';
import { toFuseStat, toFuseStatfs } from './stat.js';

/**
 * Told about every operation once it is answered: its name, the errno name
 * it failed with (null for success) and how long it took, in seconds. For
 * metrics (src/metrics); an observer that throws is ignored.
 */
export type OperationObserver = (operation: string, errno: string | null, seconds: number) => void;

export interface AdapterOptions {
  logger?: Logger;
  observer?: OperationObserver;
  /**
   * The process whose request is being dispatched (filesfs-fuse.ts,
   * FilesfsFuse.caller), read synchronously when an operation starts;
   * undefined when unknown (the filesystem then uses the mount's owner).
   */
  caller?: () => Caller | undefined;
}

/** fuse-native copies each readdir name into a 1024-byte buffer (NUL included). */
const MAX_NAME_BYTES = 1023;
/** Handles travel as signed 32-bit integers from JS to the binding. */
const MAX_HANDLE = 0x3fff_ffff;
/** Set in an open's answer: the kernel keeps the file's page cache from earlier opens (the binding's KEEP_CACHE_FLAG, native/fuse-native.c item 19). */
const KEEP_CACHE_FLAG = 0x4000_0000;
/** chown(2) passes (uid_t)-1 for "leave unchanged"; it arrives as unsigned. */
const UNCHANGED_ID = 0xffff_ffff;
const PERMISSION_BITS = 0o7777;
/** fcntl(2) commands and lock types, and flock(2) operations (Linux values; node:fs exports none of them). */
const F_GETLK = 5;
const F_SETLK = 6;
const F_SETLKW = 7;
const F_RDLCK = 0;
const F_WRLCK = 1;
const F_UNLCK = 2;
const LOCK_SH = 1;
const LOCK_EX = 2;
const LOCK_NB = 4;
const LOCK_UN = 8;

export function createOperations(fs: Filesystem, options: AdapterOptions = {}): FilesfsOperations {
  const logger = options.logger ?? silentLogger;
  const tracing = logger.enabled('trace');
  const observer = options.observer;
  const timing = tracing || observer !== undefined;
  const callerOf = options.caller ?? ((): undefined => undefined);

  function observe(op: string, errno: string | null, started: number): void {
    if (!observer) return;
    try {
      observer(op, errno, (performance.now() - started) / 1000);
    } catch {
      // The observer's failure is not the operation's.
    }
  }

  /**
   * Runs one operation: `work` calls the filesystem, `reply` answers a
   * success (it may throw FsError to refuse a malformed result), `fail`
   * answers an errno. Exactly one of them reaches the kernel.
   */
  function run<T>(op: string, path: string, work: () => Promise<T>, reply: (value: T) => void, fail: (errno: number) => void): void {
    const started = timing ? performance.now() : 0;
    let pending: Promise<T>;
    try {
      pending = work();
    } catch (err) {
      pending = Promise.reject(err);
    }
    pending
      .then((value) => {
        reply(value);
        if (tracing) logger.trace('%s %s → ok (%s ms)', op, JSON.stringify(path), (performance.now() - started).toFixed(1));
        observe(op, null, started);
      })
      .catch((err: unknown) => {
        const code = err instanceof FsError ? err.code : 'EIO';
        observe(op, code, started);
        if (tracing) logger.trace('%s %s → %s (%s ms)', op, JSON.stringify(path), code, (performance.now() - started).toFixed(1));
        if (!(err instanceof FsError)) logger.warn('%s %s: the filesystem rejected with something other than an FsError (a bug): %s', op, JSON.stringify(path), err instanceof Error ? err.stack ?? err.message : String(err));
        fail(errnoOf(code));
      });
  }

  /** For operations that answer nothing but success. */
  function simple(op: string, path: string, work: () => Promise<void>, cb: (code: number) => void): void {
    run(op, path, work, () => cb(0), cb);
  }

  function refuse(op: string, path: string, code: 'EPERM' | 'ENOSYS' | 'EINVAL', cb: (code: number) => void): void {
    if (tracing) logger.trace('%s %s → refused (%s)', op, JSON.stringify(path), code);
    observe(op, code, timing ? performance.now() : 0);
    cb(errnoOf(code));
  }

  /** A result the filesystem should never give (a bug): logged here, answered with EIO. */
  function malformed(message: string): FsError {
    logger.warn('%s', message);
    return new FsError('EIO', message);
  }

  function handle(op: string, fh: unknown, allowZero: boolean): number {
    if (typeof fh === 'number' && Number.isInteger(fh) && fh <= MAX_HANDLE && (fh > 0 || (allowZero && fh === 0))) return fh;
    throw malformed(`${op}: the filesystem returned an invalid handle ${String(fh)}`);
  }

  function byteCount(op: string, n: unknown, length: number): number {
    if (typeof n === 'number' && Number.isInteger(n) && n >= 0 && n <= length) return n;
    throw malformed(`${op}: the filesystem returned ${String(n)} bytes for a ${length}-byte request`);
  }

  const operations: FilesfsOperations = {
    getattr(path, cb) {
      run('getattr', path, () => fs.getattr(path), (a) => cb(0, toFuseStat(a)), cb);
    },

    fgetattr(path, fh, cb) {
      if (fh === 0) {
        run('getattr', path, () => fs.getattr(path), (a) => cb(0, toFuseStat(a)), cb);
        return;
      }
      run('fgetattr', path, () => fs.fgetattr(path, fh), (a) => cb(0, toFuseStat(a)), cb);
    },

    access(path, mode, cb) {
      simple('access', path, () => fs.access(path, mode), cb);
    },

    statfs(path, cb) {
      run('statfs', path, () => fs.statfs(path), (s) => cb(0, toFuseStatfs(s)), cb);
    },

    opendir(path, flags, cb) {
      run('opendir', path, async () => handle('opendir', await fs.opendir(path, flags), true), (fh) => cb(0, fh), cb);
    },

    readdir(path, cb) {
      run('readdir', path, () => fs.readdir(path), (entries) => {
        const { names, stats } = listing(entries, logger);
        cb(0, names, stats);
      }, cb);
    },

    releasedir(path, fh, cb) {
      simple('releasedir', path, () => fs.releasedir(path, fh), cb);
    },

    open(path, flags, cb) {
      run('open', path, async () => handle('open', await fs.open(path, flags), false), (fh) => cb(0, fs.keepsPageCache?.(fh) ? fh | KEEP_CACHE_FLAG : fh), cb);
    },

    create(path, mode, flags, cb) {
      const caller = callerOf();
      run('create', path, async () => handle('create', await fs.create(path, mode & PERMISSION_BITS, flags, caller), false), (fh) => cb(0, fh), cb);
    },

    read(path, fh, buffer, length, position, cb) {
      const target = buffer.length === length ? buffer : buffer.subarray(0, length);
      run('read', path, async () => byteCount('read', await fs.read(path, fh, target, position), length), (n) => cb(n), cb);
    },

    write(path, fh, buffer, length, position, cb) {
      const source = buffer.length === length ? buffer : buffer.subarray(0, length);
      run('write', path, async () => byteCount('write', await fs.write(path, fh, source, position), length), (n) => cb(n), cb);
    },

    flush(path, fh, cb) {
      simple('flush', path, () => fs.flush(path, fh), cb);
    },

    fsync(path, datasync, fh, cb) {
      simple('fsync', path, () => fs.fsync(path, fh, datasync !== 0), cb);
    },

    release(path, fh, cb) {
      simple('release', path, () => fs.release(path, fh), cb);
    },

    truncate(path, size, cb) {
      simple('truncate', path, () => fs.truncate(path, size), cb);
    },

    ftruncate(path, fh, size, cb) {
      simple('ftruncate', path, () => fs.ftruncate(path, fh, size), cb);
    },

    mkdir(path, mode, cb) {
      const caller = callerOf();
      simple('mkdir', path, () => fs.mkdir(path, mode & PERMISSION_BITS, caller), cb);
    },

    rmdir(path, cb) {
      simple('rmdir', path, () => fs.rmdir(path), cb);
    },

    unlink(path, cb) {
      simple('unlink', path, () => fs.unlink(path), cb);
    },

    rename(from, to, cb) {
      simple('rename', `${from} → ${to}`, () => fs.rename(from, to), cb);
    },

    utimens(path, atime, mtime, cb) {
      simple('utimens', path, () => fs.utimens(path, atime === null ? null : new Date(atime), mtime === null ? null : new Date(mtime)), cb);
    },

    chmod(path, mode, cb) {
      simple('chmod', path, () => fs.chmod(path, mode & PERMISSION_BITS), cb);
    },

    chown(path, uid, gid, cb) {
      simple('chown', path, () => fs.chown(path, uid === UNCHANGED_ID ? -1 : uid, gid === UNCHANGED_ID ? -1 : gid), cb);
    },

    symlink(target, path, cb) {
      const caller = callerOf();
      simple('symlink', path, () => fs.symlink(target, path, caller), cb);
    },

    readlink(path, cb) {
      run('readlink', path, () => fs.readlink(path), (target) => cb(0, target), cb);
    },

    link(from, to, cb) {
      simple('link', `${from} → ${to}`, () => fs.link(from, to), cb);
    },

    mknod(path, mode, dev, cb) {
      const caller = callerOf();
      simple('mknod', path, () => fs.mknod(path, mode & (fsConstants.S_IFMT | PERMISSION_BITS), dev, caller), cb);
    },
  };
  // Without them, libfuse answers ENOSYS once and the kernel stops asking (ENOTSUP to programs).
  if (fs.extendedAttributes !== false) {
    operations.setxattr = (path, name, value, _position, flags, cb) => {
      // The value is the kernel's buffer, valid until the answer: the filesystem copies what it keeps.
      simple('setxattr', path, () => fs.setxattr(path, name, value, flags), cb);
    };
    operations.getxattr = (path, name, _position, cb) => {
      run('getxattr', path, () => fs.getxattr(path, name), (value) => cb(0, value), cb);
    };
    operations.listxattr = (path, cb) => {
      run('listxattr', path, () => fs.listxattr(path), (names) => cb(0, names), cb);
    };
    operations.removexattr = (path, name, cb) => {
      simple('removexattr', path, () => fs.removexattr(path, name), cb);
    };
  }
  if (fs.locking) {
    const locking = fs.locking;
    operations.lock = (path, fh, cmd, lock, owner, cb) => {
      if (cmd !== F_GETLK && cmd !== F_SETLK && cmd !== F_SETLKW) {
        refuse('lock', path, 'EINVAL', cb);
        return;
      }
      run(cmd === F_GETLK ? 'getlk' : 'setlk', path, async () => {
        const request = posixRequest(cmd, lock, owner);
        if (cmd !== F_GETLK) {
          await locking.set(path, fh, request);
          return null;
        }
        return locking.test(path, fh, request);
      }, (conflict) => {
        if (!conflict) return cb(0, { type: F_UNLCK });
        const len = conflict.end === Infinity ? 0 : conflict.end - conflict.start;
        return cb(0, { type: conflict.type === 'write' ? F_WRLCK : F_RDLCK, whence: 0, start: conflict.start, len, pid: conflict.pid });
      }, cb);
    };
    operations.flock = (path, fh, op, owner, pid, cb) => {
      const kind = op & ~LOCK_NB;
      const type = kind === LOCK_SH ? 'read' : kind === LOCK_EX ? 'write' : kind === LOCK_UN ? 'unlock' : null;
      if (!type) {
        refuse('flock', path, 'EINVAL', cb);
        return;
      }
      const request: LockRequest = { family: 'flock', owner, pid, type, start: 0, end: Infinity, wait: (op & LOCK_NB) === 0 && type !== 'unlock' };
      simple('flock', path, () => locking.set(path, fh, request), cb);
    };
  }
  return operations;
}

/** fcntl(2)'s struct flock as a LockRequest; len 0 reaches to the end of the file, however long. */
function posixRequest(cmd: number, lock: FuseLock, owner: bigint): LockRequest {
  const type = lock.type === F_RDLCK ? 'read' : lock.type === F_WRLCK ? 'write' : lock.type === F_UNLCK ? 'unlock' : null;
  if (!type || lock.whence !== 0 || lock.start < 0 || lock.len < 0) throw new FsError('EINVAL', `invalid lock (type ${lock.type}, whence ${lock.whence}, start ${lock.start}, len ${lock.len})`);
  return { family: 'posix', owner, pid: lock.pid, type, start: lock.start, end: lock.len === 0 ? Infinity : lock.start + lock.len, wait: cmd === F_SETLKW };
}

/**
 * Names and stats for readdir, with "." and ".." first (libfuse does not add
 * them; `ls -a` and some programs expect them). The kernel takes only the
 * name and the file type from a readdir entry, so theirs need no real
 * attributes. A name the binding cannot carry (over 1023 UTF-8 bytes, or
 * containing "/" or NUL) is left out with a warning rather than shown cut.
 */
function listing(entries: DirectoryEntry[], logger: Logger): { names: string[]; stats: FuseStat[] } {
  const epoch = new Date(0);
  const dir: FuseStat = {
    mode: fsConstants.S_IFDIR | 0o755, uid: 0, gid: 0, size: 0, nlink: 2, blocks: 0, blksize: 0, atime: epoch, mtime: epoch, ctime: epoch,
  };
  const names = ['.', '..'];
  const stats = [dir, dir];
  for (const entry of entries) {
    const name = entry.name;
    if (name === '' || name === '.' || name === '..' || name.includes('/') || name.includes('\0') || Buffer.byteLength(name) > MAX_NAME_BYTES) {
      logger.warn('readdir: leaving out an entry whose name cannot be shown through FUSE: %s', JSON.stringify(name.slice(0, 200)));
      continue;
    }
    names.push(name);
    stats.push(toFuseStat(entry.attributes));
  }
  return { names, stats };
}
