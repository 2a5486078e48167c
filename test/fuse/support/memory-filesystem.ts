// A test double of the Filesystem contract (src/vfs/filesystem-api.ts) held in
// memory, for exercising the FUSE adapter through real mounts without a
// server. Case-sensitive, no caching, no write-back: just enough files and
// behaviour for shell tools, plus instrumentation (every call recorded, write
// sizes, time and flag arguments) and scripted failures at fixed paths:
//
//   /readonly/*      mutations → FsError EROFS
//   /forbidden.txt   open → FilesError not-authorized (EACCES)
//   /ghost.txt       stat works, open → FilesError not-found (ENOENT)
//   /flaky.txt       read → FilesError service-unavailable (EIO)
//   /buggy.txt       read → a plain Error (a broken contract: EIO, and the
//                    adapter warns)
//   /locked.txt      unlink → FilesError processing-failure/file-locked (EBUSY)
//   /huge.bin        5 GiB, sparse: each 8-byte word holds its own offset (big-endian)
//   names > 255 bytes → FsError ENAMETOOLONG; rmdir of a non-empty folder →
//   FilesError folder-not-empty.
// Like the real filesystem layer, it rejects with FsError: a server's
// FilesError goes through the one errno table (src/vfs/errno.ts) first.
import { constants } from 'node:fs';
import type { Caller, DirectoryEntry, FileAttributes, Filesystem, FilesystemStats } from '../../../src/vfs/filesystem-api.js';
import { toFsError } from '../../../src/vfs/errno.js';
import { FsError } from '../../../src/vfs/fs-error.js';
import {
  FolderNotEmptyError, NotAuthorizedError, NotFoundError, ProcessingFailureError, ServiceUnavailableError,
} from '../../../src/client/errors.js';

export const HUGE_SIZE = 5 * 1024 ** 3;
/** open(2)'s access-mode mask (Node's fs.constants lacks it). */
export const O_ACCMODE = 3;
const MAX_NAME_BYTES = 255;

interface FileNode {
  kind: 'file';
  data: Buffer;
  /** Sparse generated content instead of `data`. */
  pattern?: (position: number, target: Buffer) => void;
  size: number;
  mtime: Date;
  permissions: number;
}

interface DirNode {
  kind: 'directory';
  mtime: Date;
  permissions: number;
}

type Node = FileNode | DirNode;

export interface Call {
  op: string;
  path: string;
  [detail: string]: unknown;
}

/** Byte at `position` of /huge.bin: the big-endian offset of its 8-byte word. */
export function hugeByte(position: number): number {
  const word = position - (position % 8);
  return Math.floor(word / 2 ** (8 * (7 - (position % 8)))) % 256;
}

function fillHuge(position: number, target: Buffer): void {
  for (let i = 0; i < target.length; i++) target[i] = hugeByte(position + i);
}

const err = {
  notFound: (path: string) => toFsError(new NotFoundError({ message: `Not Found: ${path}`, status: 404, type: 'not-found/file-not-found' })),
};

export class MemoryFilesystem implements Filesystem {
  readonly nodes = new Map<string, Node>();
  readonly calls: Call[] = [];
  readonly writeSizes: number[] = [];
  /** Delay applied to every fsync (the long-fsync test). */
  fsyncDelayMs = 0;
  readonly uid: number;
  readonly gid: number;
  readonly #handles = new Map<number, { path: string; node: Node }>();
  #nextHandle = 1;

  constructor(options: { uid?: number; gid?: number; now?: Date } = {}) {
    this.uid = options.uid ?? process.getuid?.() ?? 0;
    this.gid = options.gid ?? process.getgid?.() ?? 0;
    const t = options.now ?? new Date('2024-05-06T07:08:09.000Z');
    this.nodes.set('/', { kind: 'directory', mtime: t, permissions: 0o755 });
    this.addDir('/docs', t);
    this.addFile('/docs/readme.md', '# readme\n', t);
    this.addFile('/hello.txt', 'hello world\n', t);
    this.addDir('/readonly', t);
    this.addFile('/readonly/fixed.txt', 'fixed\n', t);
    for (const name of ['/forbidden.txt', '/ghost.txt', '/flaky.txt', '/buggy.txt', '/locked.txt']) this.addFile(name, 'scripted\n', t);
    this.nodes.set('/huge.bin', { kind: 'file', data: Buffer.alloc(0), pattern: fillHuge, size: HUGE_SIZE, mtime: t, permissions: 0o644 });
  }

  addDir(path: string, mtime = new Date()): void {
    this.nodes.set(path, { kind: 'directory', mtime, permissions: 0o755 });
  }

  addFile(path: string, content: string | Buffer, mtime = new Date()): void {
    const data = Buffer.from(content);
    this.nodes.set(path, { kind: 'file', data, size: data.length, mtime, permissions: 0o644 });
  }

  callsOf(op: string): Call[] {
    return this.calls.filter((c) => c.op === op);
  }

  #record(op: string, path: string, details: Record<string, unknown> = {}): void {
    this.calls.push({ op, path, ...details });
  }

  #checkName(path: string): void {
    for (const part of path.split('/')) if (Buffer.byteLength(part) > MAX_NAME_BYTES) throw new FsError('ENAMETOOLONG', `name longer than ${MAX_NAME_BYTES} bytes`);
  }

  #lookup(path: string): Node {
    this.#checkName(path);
    const node = this.nodes.get(path);
    if (!node) throw err.notFound(path);
    return node;
  }

  #parentOf(path: string): string {
    const i = path.lastIndexOf('/');
    return i <= 0 ? '/' : path.slice(0, i);
  }

  #checkWritable(path: string): void {
    if (path === '/readonly' || path.startsWith('/readonly/')) throw new FsError('EROFS', 'read-only folder');
  }

  #attributes(node: Node): FileAttributes {
    return {
      kind: node.kind,
      size: node.kind === 'file' ? node.size : 0,
      mtime: node.mtime,
      permissions: node.permissions,
      uid: this.uid,
      gid: this.gid,
    };
  }

  #handle(fh: number): { path: string; node: Node } {
    const h = this.#handles.get(fh);
    if (!h) throw new FsError('EBADF', `no handle ${fh}`);
    return h;
  }

  #open(path: string, node: Node): number {
    const fh = this.#nextHandle++;
    this.#handles.set(fh, { path, node });
    return fh;
  }

  #children(path: string): string[] {
    const prefix = path === '/' ? '/' : path + '/';
    return [...this.nodes.keys()].filter((p) => p !== path && p.startsWith(prefix) && !p.slice(prefix.length).includes('/'));
  }

  async getattr(path: string): Promise<FileAttributes> {
    this.#record('getattr', path);
    return this.#attributes(this.#lookup(path));
  }

  async fgetattr(path: string, fh: number): Promise<FileAttributes> {
    this.#record('fgetattr', path, { fh });
    return this.#attributes(this.#handle(fh).node);
  }

  async access(path: string, mode: number): Promise<void> {
    this.#record('access', path, { mode });
    this.#lookup(path);
  }

  async statfs(path: string): Promise<FilesystemStats> {
    this.#record('statfs', path);
    return { blockSize: 4096, totalBlocks: 2 ** 40, freeBlocks: 2 ** 39, availableBlocks: 2 ** 39, totalFiles: 1e6, freeFiles: 5e5, maxNameLength: MAX_NAME_BYTES };
  }

  async opendir(path: string, flags: number): Promise<number> {
    this.#record('opendir', path, { flags });
    const node = this.#lookup(path);
    if (node.kind !== 'directory') throw new FsError('ENOTDIR');
    return this.#open(path, node);
  }

  async readdir(path: string): Promise<DirectoryEntry[]> {
    this.#record('readdir', path);
    const node = this.#lookup(path);
    if (node.kind !== 'directory') throw new FsError('ENOTDIR');
    return this.#children(path).map((p) => ({ name: p.slice(p.lastIndexOf('/') + 1), attributes: this.#attributes(this.nodes.get(p)!) }));
  }

  async releasedir(path: string, fh: number): Promise<void> {
    this.#record('releasedir', path, { fh });
    this.#handles.delete(fh);
  }

  async open(path: string, flags: number): Promise<number> {
    this.#record('open', path, { flags });
    const node = this.#lookup(path);
    if (path === '/forbidden.txt') throw toFsError(new NotAuthorizedError({ message: 'Not authorized to read', status: 403, type: 'not-authorized/read-permission-required' }));
    if (path === '/ghost.txt') throw err.notFound(path);
    if (node.kind === 'directory') throw new FsError('EISDIR');
    if ((flags & O_ACCMODE) !== constants.O_RDONLY || flags & constants.O_TRUNC) this.#checkWritable(path);
    if (flags & constants.O_TRUNC) this.#truncateNode(node, 0);
    return this.#open(path, node);
  }

  async create(path: string, mode: number, flags: number, caller?: Caller): Promise<number> {
    this.#record('create', path, { mode, flags, caller });
    this.#checkName(path);
    this.#checkWritable(path);
    const parent = this.nodes.get(this.#parentOf(path));
    if (!parent) throw err.notFound(this.#parentOf(path));
    let node = this.nodes.get(path);
    if (node && flags & constants.O_EXCL) throw new FsError('EEXIST');
    if (!node) {
      node = { kind: 'file', data: Buffer.alloc(0), size: 0, mtime: new Date(), permissions: mode & 0o7777 };
      this.nodes.set(path, node);
    }
    return this.#open(path, node);
  }

  async read(path: string, fh: number, buffer: Buffer, position: number): Promise<number> {
    this.#record('read', path, { fh, position, length: buffer.length });
    if (path === '/flaky.txt') throw toFsError(new ServiceUnavailableError({ message: 'Service Unavailable', status: 503, type: 'service-unavailable' }));
    if (path === '/buggy.txt') throw new Error('boom: the memory filesystem failed on purpose');
    const node = this.#handle(fh).node;
    if (node.kind !== 'file') throw new FsError('EISDIR');
    if (position >= node.size) return 0;
    const n = Math.min(buffer.length, node.size - position);
    if (node.pattern) node.pattern(position, buffer.subarray(0, n));
    else node.data.copy(buffer, 0, position, position + n);
    return n;
  }

  async write(path: string, fh: number, buffer: Buffer, position: number): Promise<number> {
    this.#record('write', path, { fh, position, length: buffer.length });
    this.writeSizes.push(buffer.length);
    const node = this.#handle(fh).node;
    if (node.kind !== 'file' || node.pattern) throw new FsError('EIO', 'not writable');
    const end = position + buffer.length;
    if (end > node.data.length) {
      const grown = Buffer.alloc(Math.max(end, node.data.length * 2));
      node.data.copy(grown, 0, 0, node.size);
      node.data = grown;
    }
    buffer.copy(node.data, position);
    node.size = Math.max(node.size, end);
    node.mtime = new Date();
    return buffer.length;
  }

  async flush(path: string, fh: number): Promise<void> {
    this.#record('flush', path, { fh });
  }

  async fsync(path: string, fh: number, datasync: boolean): Promise<void> {
    this.#record('fsync', path, { fh, datasync });
    if (this.fsyncDelayMs > 0) await new Promise((r) => setTimeout(r, this.fsyncDelayMs));
    this.#record('fsync-done', path, { fh });
  }

  async release(path: string, fh: number): Promise<void> {
    this.#record('release', path, { fh });
    this.#handles.delete(fh);
  }

  #truncateNode(node: Node, size: number): void {
    if (node.kind !== 'file' || node.pattern) throw new FsError('EISDIR');
    if (size > node.data.length) {
      const grown = Buffer.alloc(size);
      node.data.copy(grown, 0, 0, node.size);
      node.data = grown;
    } else {
      node.data.fill(0, size);
    }
    node.size = size;
    node.mtime = new Date();
  }

  async truncate(path: string, size: number): Promise<void> {
    this.#record('truncate', path, { size });
    this.#checkWritable(path);
    this.#truncateNode(this.#lookup(path), size);
  }

  async ftruncate(path: string, fh: number, size: number): Promise<void> {
    this.#record('ftruncate', path, { fh, size });
    this.#truncateNode(this.#handle(fh).node, size);
  }

  async mkdir(path: string, mode: number, caller?: Caller): Promise<void> {
    this.#record('mkdir', path, { mode, caller });
    this.#checkName(path);
    this.#checkWritable(path);
    if (this.nodes.has(path)) throw new FsError('EEXIST');
    if (!this.nodes.has(this.#parentOf(path))) throw err.notFound(this.#parentOf(path));
    this.nodes.set(path, { kind: 'directory', mtime: new Date(), permissions: mode & 0o7777 });
  }

  async rmdir(path: string): Promise<void> {
    this.#record('rmdir', path);
    this.#checkWritable(path);
    const node = this.#lookup(path);
    if (node.kind !== 'directory') throw new FsError('ENOTDIR');
    if (this.#children(path).length > 0) throw toFsError(new FolderNotEmptyError({ message: 'Folder not empty', status: 422, type: 'processing-failure/folder-not-empty' }));
    this.nodes.delete(path);
  }

  async unlink(path: string): Promise<void> {
    this.#record('unlink', path);
    this.#checkWritable(path);
    if (path === '/locked.txt') throw toFsError(new ProcessingFailureError({ message: 'File is locked', status: 422, type: 'processing-failure/file-locked' }));
    const node = this.#lookup(path);
    if (node.kind === 'directory') throw new FsError('EISDIR');
    this.nodes.delete(path);
  }

  async rename(from: string, to: string): Promise<void> {
    this.#record('rename', from, { to });
    this.#checkName(to);
    this.#checkWritable(from);
    this.#checkWritable(to);
    this.#lookup(from);
    const moved = [...this.nodes.entries()].filter(([p]) => p === from || p.startsWith(from + '/'));
    for (const [p] of moved) this.nodes.delete(p);
    this.nodes.delete(to);
    for (const [p, n] of moved) this.nodes.set(to + p.slice(from.length), n);
  }

  async utimens(path: string, atime: Date | null, mtime: Date | null): Promise<void> {
    this.#record('utimens', path, { atime, mtime });
    this.#checkWritable(path);
    const node = this.#lookup(path);
    if (mtime) node.mtime = mtime;
  }

  async chmod(path: string, mode: number): Promise<void> {
    this.#record('chmod', path, { mode });
    this.#lookup(path);
  }

  async chown(path: string, uid: number, gid: number): Promise<void> {
    this.#record('chown', path, { uid, gid });
    this.#lookup(path);
  }

  /** Regular files only (what the adapter passes on is checked by the adapter tests). */
  async mknod(path: string, mode: number, dev: number, caller?: Caller): Promise<void> {
    this.#record('mknod', path, { mode, dev, caller });
    if ((mode & constants.S_IFMT) !== constants.S_IFREG) throw new FsError('EPERM', 'only regular files here');
    await this.release(path, await this.create(path, mode & 0o7777, constants.O_CREAT | constants.O_EXCL | constants.O_WRONLY));
  }

  async symlink(target: string, path: string, caller?: Caller): Promise<void> {
    this.#record('symlink', path, { target, caller });
    throw new FsError('EPERM', 'no symbolic links here');
  }

  async readlink(path: string): Promise<string> {
    this.#record('readlink', path);
    this.#lookup(path);
    throw new FsError('EINVAL', 'not a symbolic link');
  }

  async link(from: string, to: string): Promise<void> {
    this.#record('link', to, { from });
    throw new FsError('EPERM', 'no hard links here');
  }

  /** One attribute, user.test, on /xattr.txt; none elsewhere. */
  async getxattr(path: string, name: string): Promise<Buffer> {
    this.#record('getxattr', path, { name });
    this.#lookup(path);
    if (path === '/xattr.txt' && name === 'user.test') return Buffer.from('value');
    throw new FsError('ENODATA');
  }

  async listxattr(path: string): Promise<string[]> {
    this.#record('listxattr', path);
    this.#lookup(path);
    return path === '/xattr.txt' ? ['user.test'] : [];
  }

  async setxattr(path: string, name: string, value: Buffer, flags: number): Promise<void> {
    this.#record('setxattr', path, { name, value: Buffer.from(value).toString(), flags });
    this.#lookup(path);
    throw new FsError('EOPNOTSUPP');
  }

  async removexattr(path: string, name: string): Promise<void> {
    this.#record('removexattr', path, { name });
    this.#lookup(path);
    throw new FsError('ENODATA');
  }
}
