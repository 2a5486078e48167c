// Ambient typings for the parts of fuse-native 2.2.6 that filesfs uses (the
// package ships none). They describe what node_modules/fuse-native/index.js
// (with native/fuse-native-index.patch) and our libfuse 3 binding
// (native/fuse-native.c) really do, which differs from fuse-native's README
// in places (marked "code, not README"). src/fuse subclasses `Fuse` and
// overrides the protected `_fuseOptions` and a few `_op_*` methods; those are
// typed here too, as protected members.
//
// Conventions of the binding: every callback's first argument is 0 for
// success or a negative errno (e.g. Fuse.ENOENT = -2); read and write answer
// with the byte count (or a negative errno) instead. File handles are
// unsigned 32-bit on the way in and signed 32-bit on the way out; 0 means "no
// handle".
declare module 'fuse-native' {
  namespace Fuse {
    /** 0 or a negative errno. */
    type Callback = (code: number) => void;

    /** What getattr/fgetattr/readdir answer; times as Date or ms since the epoch. */
    interface Stat {
      mode: number;
      uid?: number;
      gid?: number;
      size?: number;
      dev?: number;
      /** Defaults to 1. */
      nlink?: number;
      ino?: number;
      rdev?: number;
      blksize?: number;
      /** 512-byte blocks. */
      blocks?: number;
      atime?: Date | number;
      mtime?: Date | number;
      ctime?: Date | number;
    }

    /** statvfs(3) fields; each is stored in an unsigned 32-bit integer. */
    interface Statfs {
      bsize: number;
      frsize: number;
      blocks: number;
      bfree: number;
      bavail: number;
      files: number;
      ffree: number;
      favail: number;
      fsid: number;
      flag: number;
      namemax: number;
    }

    /**
     * A POSIX record lock (struct flock) as fcntl(2) describes it. `start` and
     * `len` are 64-bit in the kernel; as numbers they are exact up to 2^53.
     */
    interface FileLock {
      /** F_RDLCK (0), F_WRLCK (1) or F_UNLCK (2). */
      type: number;
      /** SEEK_SET (0), SEEK_CUR (1) or SEEK_END (2); the kernel sends SEEK_SET. */
      whence: number;
      start: number;
      /** 0 = to the end of the file, however long it grows. */
      len: number;
      /** The locking process (F_SETLK/F_SETLKW), or the holder of a conflicting lock (F_GETLK's answer). */
      pid: number;
    }

    /**
     * The operations object. An operation left out is not registered with
     * libfuse at all, which then answers ENOSYS for it (lock and flock: the
     * kernel then keeps locks local to this machine, see `lock`).
     */
    interface Operations {
      init?(cb: Callback): void;
      error?(cb: Callback): void;
      access?(path: string, mode: number, cb: Callback): void;
      statfs?(path: string, cb: (code: number, stats?: Statfs) => void): void;
      getattr?(path: string, cb: (code: number, stat?: Stat) => void): void;
      /**
       * getattr through an open file's handle, when the kernel sends one
       * (lseek SEEK_END, a read past the cached size, the getattr after a
       * change through a handle; fstat(2) sends none): the binding calls this
       * instead of getattr when it is registered. Stock fuse-native's handler
       * calls getattr without the handle; the filesfs subclass calls this.
       * `path` is "" when the file was unlinked while open.
       */
      fgetattr?(path: string, fd: number, cb: (code: number, stat?: Stat) => void): void;
      flush?(path: string, fd: number, cb: Callback): void;
      /** Code, not README: datasync comes before the handle. */
      fsync?(path: string, datasync: number, fd: number, cb: Callback): void;
      /** Code, not README: datasync comes before the handle. */
      fsyncdir?(path: string, datasync: number, fd: number, cb: Callback): void;
      /**
       * Names, and optionally one Stat per name (same length, or they are
       * ignored). With the stats, the kernel's READDIRPLUS gets each entry's
       * attributes and needs no LOOKUP per entry.
       */
      readdir?(path: string, cb: (code: number, names?: string[], stats?: Stat[]) => void): void;
      truncate?(path: string, size: number, cb: Callback): void;
      /** truncate through a handle (ftruncate(2), open with O_TRUNC); called instead of truncate when registered. */
      ftruncate?(path: string, fd: number, size: number, cb: Callback): void;
      /** Stock: ms since the epoch, from two unsigned 32-bit halves. See the filesfs subclass for UTIME_OMIT. */
      utimens?(path: string, atime: number, mtime: number, cb: Callback): void;
      /** The target; one longer than the kernel's buffer (PATH_MAX) is cut, as readlink(2) does. */
      readlink?(path: string, cb: (code: number, target?: string) => void): void;
      chown?(path: string, uid: number, gid: number, cb: Callback): void;
      chmod?(path: string, mode: number, cb: Callback): void;
      /** `mode` has the type bits (S_IFREG, S_IFIFO, S_IFCHR, ...); `dev` is the device number (makedev) for S_IFCHR/S_IFBLK. */
      mknod?(path: string, mode: number, dev: number, cb: Callback): void;
      /** `value` is valid only until the callback; `position` is always 0 on Linux; `flags` XATTR_CREATE (1) / XATTR_REPLACE (2). */
      setxattr?(path: string, name: string, value: Buffer, position: number, flags: number, cb: Callback): void;
      /**
       * Answer (0, Buffer) with the whole value; (0, null) answers ENODATA.
       * The binding answers a size query (getxattr(2) with size 0) with the
       * value's length, and a buffer too small with ERANGE.
       */
      getxattr?(path: string, name: string, position: number, cb: (code: number, value?: Buffer | null) => void): void;
      /** All names; the binding answers a size query with their total length (NULs included), and a buffer too small with ERANGE. */
      listxattr?(path: string, cb: (code: number, names?: string[]) => void): void;
      removexattr?(path: string, name: string, cb: Callback): void;
      open?(path: string, flags: number, cb: (code: number, fd?: number) => void): void;
      /** Stock fuse-native passes the (still 0) handle as `flags`; the filesfs subclass passes the flags. */
      opendir?(path: string, flags: number, cb: (code: number, fd?: number) => void): void;
      /**
       * Fill the first `length` bytes of `buffer` (the libfuse thread's 1 MiB
       * I/O buffer, so usually longer) and answer the byte count, 0 at EOF,
       * or a negative errno. `path` is "" when the file was unlinked while open.
       */
      read?(path: string, fd: number, buffer: Buffer, length: number, position: number, cb: (bytesOrCode: number) => void): void;
      /** The data is the first `length` bytes of `buffer`, valid only until the answer: the byte count written or a negative errno. */
      write?(path: string, fd: number, buffer: Buffer, length: number, position: number, cb: (bytesOrCode: number) => void): void;
      release?(path: string, fd: number, cb: Callback): void;
      releasedir?(path: string, fd: number, cb: Callback): void;
      /** Stock: (path, mode); our binding also passes the open flags, which the filesfs subclass forwards. */
      create?(path: string, mode: number, cb: (code: number, fd?: number) => void): void;
      unlink?(path: string, cb: Callback): void;
      /**
       * A plain rename. renameat2(2) with RENAME_NOREPLACE or RENAME_EXCHANGE
       * never reaches it: the patched index.js answers ENOSYS, and the kernel
       * then answers EINVAL to such calls itself (see `_op_rename`).
       */
      rename?(src: string, dest: string, cb: Callback): void;
      /** link(2): `src` exists, `dest` is the new name. */
      link?(src: string, dest: string, cb: Callback): void;
      /** `target` is the link's content, `path` the new link. */
      symlink?(target: string, path: string, cb: Callback): void;
      mkdir?(path: string, mode: number, cb: Callback): void;
      rmdir?(path: string, cb: Callback): void;
      /**
       * fcntl(2) record locks. Registering it makes the kernel send every
       * POSIX lock of the mount here (FUSE_POSIX_LOCKS) instead of keeping
       * locks local to this machine. `cmd` is F_GETLK (5), F_SETLK (6) or
       * F_SETLKW (7, may wait until the lock is free); `owner` identifies the
       * lock's owner (the kernel's lock owner, 64 bits). F_GETLK answers
       * (0, lock) with the conflicting lock, or (0) / (0, { type: F_UNLCK })
       * when there is none. Note that libfuse also answers F_GETLK itself when
       * the conflicting lock was set through this mount.
       */
      lock?(path: string, fd: number, cmd: number, lock: FileLock, owner: bigint, cb: (code: number, lock?: Partial<FileLock> & { type: number }) => void): void;
      /**
       * flock(2). Registering it makes the kernel send flock locks here
       * (FUSE_FLOCK_LOCKS). `op` is LOCK_SH (1), LOCK_EX (2) or LOCK_UN (8),
       * with LOCK_NB (4) when the caller must not wait (answer EWOULDBLOCK
       * then); `owner` identifies the open file description.
       */
      flock?(path: string, fd: number, op: number, owner: bigint, pid: number, cb: Callback): void;
    }

    /** Per-operation timeout in ms; false = none. Unlisted operations use `default` (15 s if absent). */
    type TimeoutOption = number | false | ({ default?: number } & { [op: string]: number | false | undefined });

    interface Options {
      /** Default 15000 ms for every operation; on expiry the kernel gets ETIMEDOUT. */
      timeout?: TimeoutOption;
      force?: boolean;
      mkdir?: boolean;
      debug?: boolean;
      allowOther?: boolean;
      allowRoot?: boolean;
      autoUnmount?: boolean;
      defaultPermissions?: boolean;
      maxRead?: number;
      fsname?: string;
      subtype?: string;
      kernelCache?: boolean;
      autoCache?: boolean;
      umask?: number;
      uid?: number;
      gid?: number;
      entryTimeout?: number;
      attrTimeout?: number;
      acAttrTimeout?: number;
      [other: string]: unknown;
    }

    /** What an `_op_*` method calls with its answer. */
    type Signal = (code: number, ...values: unknown[]) => void;
  }

  class Fuse {
    constructor(mnt: string, ops: Fuse.Operations, opts?: Fuse.Options);

    /** The resolved mountpoint. */
    readonly mnt: string;
    readonly ops: Fuse.Operations;
    readonly opts: Fuse.Options;
    /** True between a successful mount and unmount (from nanoresource). */
    readonly opened: boolean;
    readonly closed: boolean;

    /** Mounts; calls back once the kernel's INIT has arrived (or with the mount error). */
    mount(cb: (err: Error | null) => void): void;
    /** Runs `fusermount3 -uz`, then releases the native handle (see `_close`). */
    unmount(cb: (err: Error | null) => void): void;
    errno(code: string): number;

    /** Lazy unmount with `fusermount3 -uz <mnt>` (macOS: diskutil unmount force). */
    static unmount(mnt: string, cb: (err: Error | null) => void): void;

    // Protected surface the filesfs subclass overrides.
    /** The single "-o..." argument for libfuse ('' for none). */
    protected _fuseOptions(): string;
    protected _close(cb: (err: Error | null) => void): void;
    protected _op_getattr(signal: Fuse.Signal, path: string): void;
    protected _op_readdir(signal: Fuse.Signal, path: string): void;
    protected _op_fgetattr(signal: Fuse.Signal, path: string, fd: number): void;
    protected _op_opendir(signal: Fuse.Signal, path: string, fd: number, flags: number): void;
    protected _op_create(signal: Fuse.Signal, path: string, mode: number, flags: number): void;
    protected _op_utimens(signal: Fuse.Signal, path: string, atimeLow: number, atimeHigh: number, mtimeLow: number, mtimeHigh: number): void;
    /** `flags`: renameat2(2)'s; the patched index.js answers ENOSYS unless 0. */
    protected _op_rename(signal: Fuse.Signal, src: string, dest: string, flags: number): void;
    /** The native mount state (a Buffer of sizeof(fuse_thread_t)). */
    protected _thread: Buffer | null;

    static readonly EPERM: number;
    static readonly ENOENT: number;
    static readonly EINTR: number;
    static readonly EIO: number;
    static readonly ENXIO: number;
    static readonly EBADF: number;
    static readonly EAGAIN: number;
    /** = EAGAIN on Linux. */
    static readonly EWOULDBLOCK: number;
    static readonly ENOMEM: number;
    static readonly EACCES: number;
    static readonly EBUSY: number;
    static readonly EEXIST: number;
    static readonly EXDEV: number;
    static readonly ENODEV: number;
    static readonly ENOTDIR: number;
    static readonly EISDIR: number;
    static readonly EINVAL: number;
    static readonly EMFILE: number;
    static readonly EFBIG: number;
    static readonly ENOSPC: number;
    static readonly EROFS: number;
    static readonly EMLINK: number;
    static readonly ERANGE: number;
    static readonly ENAMETOOLONG: number;
    static readonly ENOSYS: number;
    static readonly ENOTEMPTY: number;
    static readonly ENODATA: number;
    static readonly EOPNOTSUPP: number;
    static readonly ENOTCONN: number;
    static readonly ETIMEDOUT: number;
    static readonly ESTALE: number;
    static readonly EDQUOT: number;
  }

  export = Fuse;
}
