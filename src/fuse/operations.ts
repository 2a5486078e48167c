// The operations object the adapter (adapter.ts) builds and the fuse-native
// subclass (filesfs-fuse.ts) calls: fuse-native's callback style, with the
// arguments our subclass decodes better than stock fuse-native does (fgetattr
// with its handle, opendir and create with their open flags, utimens with
// UTIME_OMIT as null). Callbacks take 0 or a negative errno; read and write
// take the byte count or a negative errno. lock and flock are optional: the
// binding registers them with libfuse only when present, and registering
// them moves every lock of the mount from the kernel to the filesystem
// (native/fuse-native.d.ts), so the adapter sets them only when the
// filesystem keeps locks (Filesystem.locking).
import type Fuse from 'fuse-native';

/** A stat as the adapter answers it; filesfs-fuse.ts encodes it for the binding. */
export interface FuseStat {
  /** File type and permission bits (S_IFDIR, S_IFREG, S_IFLNK, ... | 0o7777). */
  mode: number;
  uid: number;
  gid: number;
  size: number;
  nlink: number;
  /** 512-byte blocks. */
  blocks: number;
  /** Preferred I/O size (st_blksize). */
  blksize: number;
  /** Device number of a device node (0 otherwise). */
  rdev?: number;
  atime: Date;
  mtime: Date;
  ctime: Date;
}

/** statvfs(3) as the binding takes it: every field an unsigned 32-bit integer. */
export type FuseStatfs = Fuse.Statfs;

/** A POSIX record lock as the binding passes it (fcntl(2)'s struct flock). */
export type FuseLock = Fuse.FileLock;

export type Done = (code: number) => void;
export type Answer<T> = (code: number, value?: T) => void;
export type Count = (bytesOrCode: number) => void;

export interface FilesfsOperations {
  getattr(path: string, cb: Answer<FuseStat>): void;
  /** fh 0: the kernel sent no handle. */
  fgetattr(path: string, fh: number, cb: Answer<FuseStat>): void;
  access(path: string, mode: number, cb: Done): void;
  statfs(path: string, cb: Answer<FuseStatfs>): void;
  opendir(path: string, flags: number, cb: Answer<number>): void;
  readdir(path: string, cb: (code: number, names?: string[], stats?: FuseStat[]) => void): void;
  releasedir(path: string, fh: number, cb: Done): void;
  open(path: string, flags: number, cb: Answer<number>): void;
  create(path: string, mode: number, flags: number, cb: Answer<number>): void;
  read(path: string, fh: number, buffer: Buffer, length: number, position: number, cb: Count): void;
  write(path: string, fh: number, buffer: Buffer, length: number, position: number, cb: Count): void;
  flush(path: string, fh: number, cb: Done): void;
  /** fuse-native's argument order: datasync before the handle. */
  fsync(path: string, datasync: number, fh: number, cb: Done): void;
  release(path: string, fh: number, cb: Done): void;
  truncate(path: string, size: number, cb: Done): void;
  ftruncate(path: string, fh: number, size: number, cb: Done): void;
  mkdir(path: string, mode: number, cb: Done): void;
  rmdir(path: string, cb: Done): void;
  unlink(path: string, cb: Done): void;
  rename(from: string, to: string, cb: Done): void;
  /** Times in ms since the epoch; null = UTIME_OMIT (leave unchanged). */
  utimens(path: string, atime: number | null, mtime: number | null, cb: Done): void;
  chmod(path: string, mode: number, cb: Done): void;
  chown(path: string, uid: number, gid: number, cb: Done): void;
  symlink(target: string, path: string, cb: Done): void;
  readlink(path: string, cb: Answer<string>): void;
  link(from: string, to: string, cb: Done): void;
  mknod(path: string, mode: number, dev: number, cb: Done): void;
  /** The extended attribute operations: absent when the filesystem keeps none (libfuse then answers ENOSYS, and the kernel stops asking). */
  setxattr?(path: string, name: string, value: Buffer, position: number, flags: number, cb: Done): void;
  getxattr?(path: string, name: string, position: number, cb: (code: number, value?: Buffer | null) => void): void;
  listxattr?(path: string, cb: (code: number, names?: string[]) => void): void;
  removexattr?(path: string, name: string, cb: Done): void;
  /** fcntl(2) F_GETLK (answers the conflicting lock, or none), F_SETLK, F_SETLKW; `owner` is the kernel's lock owner. */
  lock?(path: string, fh: number, cmd: number, lock: FuseLock, owner: bigint, cb: (code: number, conflict?: Partial<FuseLock> & { type: number }) => void): void;
  /** flock(2): LOCK_SH, LOCK_EX or LOCK_UN, with LOCK_NB when the caller must not wait. */
  flock?(path: string, fh: number, op: number, owner: bigint, pid: number, cb: Done): void;
}
