/// <reference path="../../../native/fuse-native.d.ts" />
// A small in-memory filesystem written straight against fuse-native's
// operations (no filesfs adapter), for checking what our libfuse 3 binding
// passes through for operations the adapter does not register yet: symlink,
// readlink, link, mknod, the four xattr operations, rename's flags, and the
// lock and flock operations (which move every lock of the mount from the
// kernel to this filesystem). Every call is recorded with its arguments.
//
// Locks: POSIX record locks per file, as fcntl(2) describes them (a lock of
// another owner that overlaps and is not compatible conflicts; F_SETLKW waits
// for it), and flock(2) locks per file (shared or exclusive, per owner;
// without LOCK_NB a conflicting request waits). `remoteLock` plants a lock of
// "another client" that F_GETLK must report.
import Fuse from 'fuse-native';

const S_IFMT = 0o170000;
const S_IFDIR = 0o040000;
const S_IFREG = 0o100000;
const S_IFLNK = 0o120000;

export const F_GETLK = 5;
export const F_SETLK = 6;
export const F_SETLKW = 7;
export const F_RDLCK = 0;
export const F_WRLCK = 1;
export const F_UNLCK = 2;
export const LOCK_SH = 1;
export const LOCK_EX = 2;
export const LOCK_NB = 4;
export const LOCK_UN = 8;
const XATTR_CREATE = 1;
const XATTR_REPLACE = 2;

interface Node {
  mode: number;
  data: Buffer;
  target?: string;
  rdev: number;
  nlink: number;
  xattrs: Map<string, Buffer>;
}

interface RecordLock {
  owner: bigint;
  type: number;
  start: number;
  /** Inclusive; Infinity for "to the end". */
  end: number;
  pid: number;
}

export interface BindingCall {
  op: string;
  [detail: string]: unknown;
}

type Waiter = () => void;

export class BindingFilesystem {
  readonly nodes = new Map<string, Node>();
  readonly calls: BindingCall[] = [];
  readonly #recordLocks = new Map<string, RecordLock[]>();
  readonly #flocks = new Map<string, Map<bigint, number>>();
  readonly #handles = new Map<number, string>();
  #waiters: Waiter[] = [];
  #nextHandle = 1;

  constructor() {
    this.nodes.set('/', this.#node(S_IFDIR | 0o755));
  }

  #node(mode: number, data = Buffer.alloc(0)): Node {
    return { mode, data, rdev: 0, nlink: 1, xattrs: new Map() };
  }

  addFile(path: string, content: string): void {
    this.nodes.set(path, this.#node(S_IFREG | 0o644, Buffer.from(content)));
  }

  /** A lock held by another client of the same files (not through this mount). */
  remoteLock(path: string, lock: Omit<RecordLock, 'owner'>): void {
    this.#locksOf(path).push({ ...lock, owner: -1n });
  }

  callsOf(op: string): BindingCall[] {
    return this.calls.filter((c) => c.op === op);
  }

  #locksOf(path: string): RecordLock[] {
    let list = this.#recordLocks.get(path);
    if (!list) this.#recordLocks.set(path, (list = []));
    return list;
  }

  #wakeWaiters(): void {
    const waiters = this.#waiters;
    this.#waiters = [];
    for (const w of waiters) w();
  }

  #stat(node: Node): Fuse.Stat {
    const t = new Date('2024-05-06T07:08:09Z');
    const size = (node.mode & S_IFMT) === S_IFLNK ? Buffer.byteLength(node.target ?? '') : node.data.length;
    return { mode: node.mode, uid: 0, gid: 0, size, nlink: node.nlink, rdev: node.rdev, atime: t, mtime: t, ctime: t };
  }

  #conflict(path: string, owner: bigint, type: number, start: number, end: number): RecordLock | undefined {
    return this.#locksOf(path).find((l) => l.owner !== owner && l.start <= end && start <= l.end && (type === F_WRLCK || l.type === F_WRLCK));
  }

  #flockConflict(path: string, owner: bigint, exclusive: boolean): boolean {
    const holders = this.#flocks.get(path) ?? new Map<bigint, number>();
    return [...holders].some(([o, t]) => o !== owner && (exclusive || t === LOCK_EX));
  }

  readonly ops: Fuse.Operations = {
    getattr: (path, cb) => {
      const node = this.nodes.get(path);
      if (!node) return cb(Fuse.ENOENT);
      return cb(0, this.#stat(node));
    },
    readdir: (path, cb) => {
      const prefix = path === '/' ? '/' : `${path}/`;
      const names = [...this.nodes.keys()].filter((p) => p !== path && p.startsWith(prefix) && !p.slice(prefix.length).includes('/')).map((p) => p.slice(prefix.length));
      return cb(0, ['.', '..', ...names]);
    },
    open: (path, _flags, cb) => {
      if (!this.nodes.has(path)) return cb(Fuse.ENOENT);
      const fh = this.#nextHandle++;
      this.#handles.set(fh, path);
      return cb(0, fh);
    },
    create: (path, mode, cb) => {
      this.nodes.set(path, this.#node(mode));
      const fh = this.#nextHandle++;
      this.#handles.set(fh, path);
      return cb(0, fh);
    },
    release: (_path, fh, cb) => {
      this.#handles.delete(fh);
      return cb(0);
    },
    read: (path, _fh, buffer, length, position, cb) => {
      const node = this.nodes.get(path);
      if (!node) return cb(Fuse.ENOENT);
      const n = Math.max(0, Math.min(length, node.data.length - position));
      node.data.copy(buffer, 0, position, position + n);
      return cb(n);
    },
    write: (path, _fh, buffer, length, position, cb) => {
      const node = this.nodes.get(path);
      if (!node) return cb(Fuse.ENOENT);
      const end = position + length;
      if (end > node.data.length) node.data = Buffer.concat([node.data, Buffer.alloc(end - node.data.length)]);
      buffer.copy(node.data, position, 0, length);
      return cb(length);
    },
    truncate: (path, size, cb) => {
      const node = this.nodes.get(path);
      if (!node) return cb(Fuse.ENOENT);
      node.data = Buffer.concat([node.data, Buffer.alloc(Math.max(0, size - node.data.length))]).subarray(0, size);
      return cb(0);
    },
    chmod: (path, mode, cb) => {
      const node = this.nodes.get(path);
      if (!node) return cb(Fuse.ENOENT);
      node.mode = (node.mode & S_IFMT) | (mode & 0o7777);
      return cb(0);
    },
    unlink: (path, cb) => {
      this.calls.push({ op: 'unlink', path });
      return this.nodes.delete(path) ? cb(0) : cb(Fuse.ENOENT);
    },
    rename: (src, dest, cb) => {
      this.calls.push({ op: 'rename', src, dest });
      const node = this.nodes.get(src);
      if (!node) return cb(Fuse.ENOENT);
      this.nodes.delete(src);
      this.nodes.set(dest, node);
      return cb(0);
    },
    symlink: (target, path, cb) => {
      this.calls.push({ op: 'symlink', target, path });
      const node = this.#node(S_IFLNK | 0o777);
      node.target = target;
      this.nodes.set(path, node);
      return cb(0);
    },
    readlink: (path, cb) => {
      this.calls.push({ op: 'readlink', path });
      const node = this.nodes.get(path);
      if (!node || node.target === undefined) return cb(Fuse.EINVAL);
      return cb(0, node.target);
    },
    link: (src, dest, cb) => {
      this.calls.push({ op: 'link', src, dest });
      const node = this.nodes.get(src);
      if (!node) return cb(Fuse.ENOENT);
      node.nlink++;
      this.nodes.set(dest, node);
      return cb(0);
    },
    mknod: (path, mode, dev, cb) => {
      this.calls.push({ op: 'mknod', path, mode, dev });
      const node = this.#node(mode);
      node.rdev = dev;
      this.nodes.set(path, node);
      return cb(0);
    },
    setxattr: (path, name, value, position, flags, cb) => {
      this.calls.push({ op: 'setxattr', path, name, value: Buffer.from(value), position, flags });
      const node = this.nodes.get(path);
      if (!node) return cb(Fuse.ENOENT);
      if (flags & XATTR_CREATE && node.xattrs.has(name)) return cb(Fuse.EEXIST);
      if (flags & XATTR_REPLACE && !node.xattrs.has(name)) return cb(Fuse.ENODATA);
      node.xattrs.set(name, Buffer.from(value));
      return cb(0);
    },
    getxattr: (path, name, position, cb) => {
      this.calls.push({ op: 'getxattr', path, name, position });
      const node = this.nodes.get(path);
      if (!node) return cb(Fuse.ENOENT);
      return cb(0, node.xattrs.get(name) ?? null);
    },
    listxattr: (path, cb) => {
      this.calls.push({ op: 'listxattr', path });
      const node = this.nodes.get(path);
      if (!node) return cb(Fuse.ENOENT);
      return cb(0, [...node.xattrs.keys()]);
    },
    removexattr: (path, name, cb) => {
      this.calls.push({ op: 'removexattr', path, name });
      const node = this.nodes.get(path);
      if (!node) return cb(Fuse.ENOENT);
      return node.xattrs.delete(name) ? cb(0) : cb(Fuse.ENODATA);
    },
    lock: (path, fd, cmd, lock, owner, cb) => {
      this.calls.push({ op: 'lock', path, fd, cmd, ...lock, owner });
      const start = lock.start;
      const end = lock.len === 0 ? Infinity : lock.start + lock.len - 1;
      if (cmd === F_GETLK) {
        const c = this.#conflict(path, owner, lock.type, start, end);
        if (!c) return cb(0, { type: F_UNLCK });
        return cb(0, { type: c.type, whence: 0, start: c.start, len: c.end === Infinity ? 0 : c.end - c.start + 1, pid: c.pid });
      }
      const attempt = (): void => {
        if (lock.type !== F_UNLCK && this.#conflict(path, owner, lock.type, start, end)) {
          if (cmd === F_SETLKW) {
            this.#waiters.push(attempt);
            return;
          }
          return cb(Fuse.EAGAIN);
        }
        // Simplified: a new lock or an unlock replaces the owner's overlapping locks.
        const kept = this.#locksOf(path).filter((l) => l.owner !== owner || l.end < start || end < l.start);
        if (lock.type !== F_UNLCK) kept.push({ owner, type: lock.type, start, end, pid: lock.pid });
        this.#recordLocks.set(path, kept);
        this.#wakeWaiters();
        cb(0);
      };
      attempt();
    },
    flock: (path, fd, op, owner, pid, cb) => {
      this.calls.push({ op: 'flock', path, fd, operation: op, owner, pid });
      let holders = this.#flocks.get(path);
      if (!holders) this.#flocks.set(path, (holders = new Map()));
      if (op & LOCK_UN) {
        holders.delete(owner);
        this.#wakeWaiters();
        return cb(0);
      }
      const exclusive = (op & LOCK_EX) !== 0;
      const attempt = (): void => {
        if (this.#flockConflict(path, owner, exclusive)) {
          if (op & LOCK_NB) return cb(Fuse.EWOULDBLOCK);
          this.#waiters.push(attempt);
          return;
        }
        holders!.set(owner, exclusive ? LOCK_EX : LOCK_SH);
        cb(0);
      };
      attempt();
    },
  };
}
