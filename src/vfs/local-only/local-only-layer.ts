// OS junk stays local: a write layer around the mount's own (write-back)
// that keeps files whose names match the local-only patterns (patterns.ts)
// in the cache dir (store.ts). They are created, read, written, listed,
// renamed and deleted there and never reach the server; a copy of such a
// name on the server (another client's .DS_Store) is hidden, so it is never
// shown here nor overwritten. A rename between a local-only name and any
// other answers EXDEV, which `mv` and file managers meet with a copy and a
// delete, as between two filesystems. Everything else passes to the inner
// layer unchanged.
import { constants } from 'node:fs';
import type { FileHandle as NodeFileHandle } from 'node:fs/promises';
import type { RemoteEntry } from '../../client/index.js';
import { baseName, joinPath } from '../../path/index.js';
import type { FileAttributes } from '../filesystem-api.js';
import type { VfsContext } from '../filesystem.js';
import { FsError } from '../fs-error.js';
import type { FileHandle } from '../handles/file-handle.js';
import type { MetadataMap } from '../posix/posix-metadata.js';
import type { WriteLayer } from '../writes.js';
import type { LocalOnlyPatterns } from './patterns.js';
import type { LocalFile, LocalOnlyStore } from './store.js';

/** A write layer factory that keeps local-only names in `store` and passes the rest to `inner`. */
export function keepLocal(inner: (ctx: VfsContext) => WriteLayer, store: LocalOnlyStore, patterns: LocalOnlyPatterns): (ctx: VfsContext) => WriteLayer {
  return (ctx) => new LocalOnlyLayer(inner(ctx), store, patterns, ctx);
}

export class LocalOnlyLayer implements WriteLayer {
  constructor(private readonly inner: WriteLayer, private readonly store: LocalOnlyStore, private readonly patterns: LocalOnlyPatterns, private readonly ctx: VfsContext) {}

  private local(path: string): boolean {
    return this.patterns.matches(baseName(path));
  }

  private now(): Date {
    return new Date(Math.floor(this.ctx.options.clock() / 1000) * 1000);
  }

  localEntry(remotePath: string): RemoteEntry | null | undefined {
    if (this.local(remotePath)) return this.store.get(remotePath)?.entry() ?? null;
    return this.inner.localEntry(remotePath);
  }

  localChildren(dirPath: string): readonly RemoteEntry[] {
    const mine = this.store.childrenOf(dirPath);
    const theirs = this.inner.localChildren(dirPath);
    return mine.length === 0 ? theirs : [...theirs, ...mine.map((f) => f.entry())];
  }

  async openRead(entry: RemoteEntry, flags: number): Promise<FileHandle | undefined> {
    if (!this.local(entry.path)) return this.inner.openRead(entry, flags);
    return this.open(this.existing(entry.path), flags, false);
  }

  async openWrite(entry: RemoteEntry, flags: number): Promise<FileHandle> {
    if (!this.local(entry.path)) return this.inner.openWrite(entry, flags);
    return this.open(this.existing(entry.path), flags, true);
  }

  async create(remotePath: string, existing: RemoteEntry | null, mode: number, flags: number, metadata?: MetadataMap): Promise<FileHandle> {
    if (!this.local(remotePath)) return this.inner.create(remotePath, existing, mode, flags, metadata);
    const there = this.store.get(remotePath);
    if (there && flags & constants.O_EXCL) throw new FsError('EEXIST', `${remotePath}: already exists`);
    return this.open(there ?? (await this.store.create(remotePath, this.now())), flags, true);
  }

  async truncate(entry: RemoteEntry, size: number): Promise<void> {
    if (!this.local(entry.path)) return this.inner.truncate(entry, size);
    const handle = await this.open(this.existing(entry.path), constants.O_WRONLY, true);
    try {
      await handle.truncate(size);
    } finally {
      await handle.release();
    }
  }

  async unlink(entry: RemoteEntry): Promise<boolean> {
    if (!this.local(entry.path)) return this.inner.unlink(entry);
    await this.store.remove(this.existing(entry.path));
    return true;
  }

  async rename(from: RemoteEntry, to: string, replacing: RemoteEntry | null): Promise<boolean> {
    if (from.type === 'directory') {
      // The folder moves on the server (by the inner layer); what is local below it follows in renamed().
      return this.inner.rename(from, to, replacing);
    }
    const fromLocal = this.local(from.path);
    if (fromLocal !== this.local(to)) {
      throw new FsError('EXDEV', `${from.path} → ${to}: one name is kept only on this machine (local-only), the other on the server; copy it instead`);
    }
    if (!fromLocal) return this.inner.rename(from, to, replacing);
    await this.store.move(this.existing(from.path), to);
    return true;
  }

  async renamed(from: string, to: string): Promise<void> {
    await this.inner.renamed(from, to);
    const depth = from.split('/').length;
    for (const file of this.store.atOrBelow(from)) {
      if (file.path === from) continue; // a file rename is handled in rename()
      const rest = file.path.split('/').slice(depth);
      await this.store.move(file, joinPath(to, rest.join('/')));
    }
  }

  renameFailed(from: string, to: string): void {
    this.inner.renameFailed?.(from, to);
  }

  async setMtime(entry: RemoteEntry, mtime: Date): Promise<boolean> {
    if (!this.local(entry.path)) return this.inner.setMtime(entry, mtime);
    await this.store.setMtime(this.existing(entry.path), mtime);
    return true;
  }

  /** Local-only files keep no metadata (they show the mount's defaults): accepted without effect. */
  async setMetadata(entry: RemoteEntry, metadata: MetadataMap): Promise<boolean> {
    if (!this.local(entry.path)) return this.inner.setMetadata(entry, metadata);
    this.existing(entry.path);
    return true;
  }

  uploadState(remotePath: string): string | undefined {
    return this.local(remotePath) ? undefined : this.inner.uploadState?.(remotePath);
  }

  private existing(path: string): LocalFile {
    const file = this.store.get(path);
    if (!file) throw new FsError('ENOENT', `${path}: no such file`);
    return file;
  }

  private async open(file: LocalFile, flags: number, writable: boolean): Promise<FileHandle> {
    const fd = await this.store.openContent(file);
    file.handles++;
    const handle = new LocalOnlyHandle(file, fd, writable, writable && (flags & constants.O_APPEND) !== 0, (f) => this.ctx.attributes(f.entry()), () => this.now());
    if (writable && flags & constants.O_TRUNC) await handle.truncate(0);
    return handle;
  }
}

/** An open local-only file: plain reads and writes on its content file. */
class LocalOnlyHandle implements FileHandle {
  private released = false;

  constructor(
    private readonly file: LocalFile,
    private readonly fd: NodeFileHandle,
    private readonly writable: boolean,
    private readonly append: boolean,
    private readonly attributes: (file: LocalFile) => FileAttributes,
    private readonly now: () => Date,
  ) {}

  get remotePath(): string {
    return this.file.path;
  }

  async getattr(): Promise<FileAttributes> {
    return this.attributes(this.file);
  }

  async read(buffer: Buffer, position: number): Promise<number> {
    return (await this.fd.read(buffer, 0, buffer.length, position)).bytesRead;
  }

  async write(buffer: Buffer, position: number): Promise<number> {
    if (!this.writable) throw new FsError('EBADF', `${this.remotePath}: not open for writing`);
    const at = this.append ? this.file.size : position;
    const { bytesWritten } = await this.fd.write(buffer, 0, buffer.length, at);
    this.file.size = Math.max(this.file.size, at + bytesWritten);
    this.file.mtime = this.now();
    return bytesWritten;
  }

  async truncate(size: number): Promise<void> {
    await this.fd.truncate(size);
    this.file.size = size;
    this.file.mtime = this.now();
  }

  async flush(): Promise<void> {}

  async fsync(): Promise<void> {
    await this.fd.datasync();
  }

  async release(): Promise<void> {
    if (this.released) return;
    this.released = true;
    this.file.handles--;
    await this.fd.close();
  }
}
