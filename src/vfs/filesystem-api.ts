// The contract between the FUSE adapter (src/fuse) and the filesystem layer
// (src/vfs): one async method per operation, plain arguments and plain
// results, no fuse-native types. Paths are the kernel's paths below the
// mountpoint ('/', '/a/b.txt'); the filesystem layer maps them to remote paths
// (applying the mount's remote root). Methods reject only with FsError, whose
// errno the filesystem layer chose (errno.ts); the adapter encodes it.
//
// File handles are positive integers (fuse-native treats 0 as "no handle").

/**
 * What an entry is. Files.com has files and folders; the other kinds are
 * files that carry a type in their metadata (posix/posix-metadata.ts).
 */
export type FileKind = 'file' | 'directory' | 'symlink' | 'fifo' | 'socket' | 'char-device' | 'block-device';

export interface FileAttributes {
  kind: FileKind;
  /** Bytes (a folder reports 0; the adapter shows a block size); a symbolic link's is its target's length. */
  size: number;
  mtime: Date;
  /** Default: mtime. */
  atime?: Date;
  /** Default: mtime. */
  ctime?: Date;
  /** Permission bits with set-id and sticky bits (e.g. 0o644, 0o4755); the adapter adds the file type bits. */
  permissions: number;
  uid: number;
  gid: number;
  /** Device number (Linux makedev) of a device node. Default 0. */
  rdev?: number;
  /** Link count. Default: 2 for a folder, 1 otherwise; 0 for a file unlinked while open. */
  nlink?: number;
}

/** The process asking for an operation, where the kernel says (the owner of what it creates). */
export interface Caller {
  uid: number;
  gid: number;
}

/** setxattr(2)'s flags. */
export const XATTR_CREATE = 1;
export const XATTR_REPLACE = 2;

export interface DirectoryEntry {
  /** The name as the server shows it. */
  name: string;
  attributes: FileAttributes;
}

export interface FilesystemStats {
  blockSize: number;
  totalBlocks: number;
  freeBlocks: number;
  availableBlocks: number;
  totalFiles: number;
  freeFiles: number;
  maxNameLength: number;
}

/** A lock operation, decoded from fcntl(2) (F_GETLK/F_SETLK/F_SETLKW) or flock(2). */
export interface LockRequest {
  /** 'posix': fcntl/lockf record locks, owned by the kernel's lock owner; 'flock': owned by the open file description. */
  family: 'posix' | 'flock';
  owner: bigint;
  /** The process asking. */
  pid: number;
  type: 'read' | 'write' | 'unlock';
  start: number;
  /** Exclusive end; Infinity = to the end of the file, however long it grows. */
  end: number;
  /** F_SETLKW, or flock without LOCK_NB: wait until the lock can be had. */
  wait: boolean;
}

/** A lock that stands in the way (F_GETLK's answer). */
export interface LockConflict {
  type: 'read' | 'write';
  start: number;
  end: number;
  /** The local process holding it; 0 when another client of the site holds it. */
  pid: number;
}

/**
 * POSIX and flock locks, when the filesystem keeps them (rather than the
 * kernel, which then keeps them local to this machine). Releasing on close
 * comes as an unlock from the kernel (flush for POSIX owners, release for
 * flock files).
 */
export interface FileLocking {
  /** F_GETLK: the lock that would stop `request`, or null. */
  test(path: string, fh: number, request: LockRequest): Promise<LockConflict | null>;
  /** F_SETLK, F_SETLKW and flock: takes, changes or drops the owner's lock. */
  set(path: string, fh: number, request: LockRequest): Promise<void>;
}

export interface Filesystem {
  /** Present when locks are the filesystem's (see FileLocking). */
  readonly locking?: FileLocking;
  /** False when the filesystem answers no extended attributes (the xattr operations are then not offered). */
  readonly extendedAttributes?: boolean;

  getattr(path: string): Promise<FileAttributes>;
  /** Attributes through an open handle (sees unflushed local writes). */
  fgetattr(path: string, fh: number): Promise<FileAttributes>;
  /** `access(2)`: resolves when allowed; mode is F_OK/R_OK/W_OK/X_OK bits. */
  access(path: string, mode: number): Promise<void>;
  statfs(path: string): Promise<FilesystemStats>;

  opendir(path: string, flags: number): Promise<number>;
  /** Entries without "." and "..". */
  readdir(path: string): Promise<DirectoryEntry[]>;
  releasedir(path: string, fh: number): Promise<void>;

  /** Opens an existing file; flags are open(2) flags (O_ACCMODE, O_TRUNC, O_APPEND, ...). */
  open(path: string, flags: number): Promise<number>;
  /**
   * Asked once right after open: whether the kernel may keep the file's page
   * cache from earlier opens (this open reads the version those pages hold).
   */
  keepsPageCache?(fh: number): boolean;
  /**
   * Creates (or, if it exists, opens) a file; mode is the requested
   * permission bits, `caller` who creates it (default: the mount's owner).
   */
  create(path: string, mode: number, flags: number, caller?: Caller): Promise<number>;
  /** Reads into `buffer` (its length is the request size); resolves to bytes read, 0 at EOF. */
  read(path: string, fh: number, buffer: Buffer, position: number): Promise<number>;
  /** Writes `buffer`; resolves to bytes written. */
  write(path: string, fh: number, buffer: Buffer, position: number): Promise<number>;
  flush(path: string, fh: number): Promise<void>;
  /** Waits until the file's content is durable on the server. */
  fsync(path: string, fh: number, datasync: boolean): Promise<void>;
  release(path: string, fh: number): Promise<void>;
  truncate(path: string, size: number): Promise<void>;
  ftruncate(path: string, fh: number, size: number): Promise<void>;

  mkdir(path: string, mode: number, caller?: Caller): Promise<void>;
  /** mknod(2): `mode` carries the type (S_IFREG, S_IFIFO, S_IFSOCK, S_IFCHR, S_IFBLK) and the permission bits; `dev` the device number. */
  mknod(path: string, mode: number, dev: number, caller?: Caller): Promise<void>;
  /** symlink(2): a symbolic link at `path` whose content is `target`. */
  symlink(target: string, path: string, caller?: Caller): Promise<void>;
  /** readlink(2): the target of the symbolic link at `path` (EINVAL when it is not one). */
  readlink(path: string): Promise<string>;
  /** link(2): hard links (EPERM: the server has none). */
  link(from: string, to: string): Promise<void>;
  rmdir(path: string): Promise<void>;
  unlink(path: string): Promise<void>;
  rename(from: string, to: string): Promise<void>;
  /** null = leave that time unchanged (UTIME_OMIT). */
  utimens(path: string, atime: Date | null, mtime: Date | null): Promise<void>;
  chmod(path: string, mode: number): Promise<void>;
  /** uid or gid -1: leave it unchanged. */
  chown(path: string, uid: number, gid: number): Promise<void>;

  /** The value of an extended attribute; ENODATA when it has none by that name. */
  getxattr(path: string, name: string): Promise<Buffer>;
  /** Names of the entry's extended attributes. */
  listxattr(path: string): Promise<string[]>;
  /** `flags`: XATTR_CREATE (fail with EEXIST if it exists), XATTR_REPLACE (ENODATA if it does not), or 0. */
  setxattr(path: string, name: string, value: Buffer, flags: number): Promise<void>;
  /** ENODATA when there is no such attribute. */
  removexattr(path: string, name: string): Promise<void>;
}
