// OS junk stays local: a write layer around the mount's own (write-back)
// that keeps files whose names match the local-only patterns (patterns.ts)
// in the cache dir (store.ts). They are created, read, written, listed,
// renamed and deleted there and never reach the server; a copy of such a
// name on the server (another client's .DS_Store) is hidden, so it is never
// shown here nor overwritten. A rename between a local-only name and any
// other answers EXDEV, which `mv` and file managers meet with a copy and a
// delete, as between two filesystems. Everything else passes to the inner
// layer unchanged. A document another client has locked shows an Office
// owner file (office-owner.ts) unless one is kept here.
import { constants } from 'node:fs';
import type { FileHandle as NodeFileHandle } from 'node:fs/promises';
import type { RemoteEntry } from '../../client/index.js';
import { baseName, joinPath, parentPath } from '../../path/index.js';
import type { FileAttributes } from '../filesystem-api.js';
import type { VfsContext } from '../filesystem.js';
import { FsError } from '../fs-error.js';
import type { FileHandle } from '../handles/file-handle.js';
import type { MetadataMap } from '../posix/posix-metadata.js';
import type { WriteLayer } from '../writes.js';
import { isOwnerFileName, OWNER_FILE_BYTES, ownerFileContent, ownerFileName, ownerFileTarget } from './office-owner.js';
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
    if (this.local(remotePath)) return this.store.get(remotePath)?.entry() ?? this.ownerFile(remotePath)?.entry ?? null;
    return this.inner.localEntry(remotePath);
  }

  dependsOnListing(remotePath: string): boolean {
    if (this.local(remotePath)) return isOwnerFileName(baseName(remotePath)) && !this.store.get(remotePath);
    return this.inner.dependsOnListing?.(remotePath) ?? false;
  }

  localChildren(dirPath: string): readonly RemoteEntry[] {
    const mine = this.store.childrenOf(dirPath).map((f) => f.entry());
    const theirs = this.inner.localChildren(dirPath);
    const owners = this.ownerFilesIn(dirPath);
    return mine.length === 0 && owners.length === 0 ? theirs : [...theirs, ...mine, ...owners];
  }

  localFoldersIn(dirPath: string): readonly RemoteEntry[] {
    return this.inner.localFoldersIn(dirPath);
  }

  unpublishedFolder(dirPath: string): boolean {
    return this.inner.unpublishedFolder(dirPath);
  }

  impliedFolder(path: string): RemoteEntry | undefined {
    return this.inner.impliedFolder(path);
  }

  impliedChildren(dirPath: string): readonly RemoteEntry[] {
    return this.inner.impliedChildren(dirPath);
  }

  /** Folders are never local-only (the patterns name files). */
  mkdir(remotePath: string, metadata?: MetadataMap): Promise<RemoteEntry | null> {
    return this.inner.mkdir(remotePath, metadata);
  }

  rmdir(entry: RemoteEntry): Promise<boolean> {
    return this.inner.rmdir(entry);
  }

  async openRead(entry: RemoteEntry, flags: number): Promise<FileHandle | undefined> {
    if (!this.local(entry.path)) return this.inner.openRead(entry, flags);
    if (!this.store.get(entry.path)) {
      const owner = this.ownerFile(entry.path);
      if (owner) return new OwnerFileHandle(entry.path, await this.lockHolder(owner.document), () => this.ctx.attributes(owner.entry));
    }
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

  pendingVersion(remotePath: string): object | undefined {
    if (this.local(remotePath)) return this.store.get(remotePath);
    return this.inner.pendingVersion?.(remotePath);
  }

  async replacedElsewhere(to: string, replacing: RemoteEntry): Promise<string | null | undefined> {
    // A local-only name never reaches the server: nothing there to protect.
    if (this.local(to)) return undefined;
    return this.inner.replacedElsewhere?.(to, replacing);
  }

  async setMtime(entry: RemoteEntry, mtime: Date): Promise<boolean> {
    if (entry.type === 'directory' || !this.local(entry.path)) return this.inner.setMtime(entry, mtime);
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
    if (file) return file;
    const owner = this.ownerFile(path);
    if (owner) throw new FsError('EACCES', `${path}: shows who has ${owner.document.name} open on another client; it cannot be changed`);
    throw new FsError('ENOENT', `${path}: no such file`);
  }

  /** Is `document` locked on the server by someone other than this mount (from its cached listing)? */
  private lockedElsewhere(document: RemoteEntry): boolean {
    if (document.locked !== true) return false;
    const locks = this.ctx.locks;
    if (!locks) return true;
    // Held here, or released here since a listing that saw this mount's own lock.
    const { attrTtlMs, dirTtlMs } = this.ctx.options;
    return locks.heldToken(document.path) === undefined && !locks.releasedWithin(document.path, Math.max(attrTtlMs, dirTtlMs) + 1_000);
  }

  /** The Office owner file shown at `path` for a document locked elsewhere (only from a cached listing: no request). */
  private ownerFile(path: string): { entry: RemoteEntry; document: RemoteEntry } | undefined {
    const name = baseName(path);
    if (!isOwnerFileName(name)) return undefined;
    const listing = this.ctx.lookup.cachedListing(parentPath(path));
    if (!listing) return undefined;
    const document = ownerFileTarget(name, listing.children.values());
    if (!document || !this.lockedElsewhere(document)) return undefined;
    return { entry: ownerEntry(path, name, document), document };
  }

  private ownerFilesIn(dirPath: string): RemoteEntry[] {
    const listing = this.ctx.lookup.cachedListing(dirPath);
    if (!listing) return [];
    const out: RemoteEntry[] = [];
    for (const document of listing.children.values()) {
      if (document.type !== 'file' || !this.lockedElsewhere(document) || isOwnerFileName(document.name)) continue;
      const name = ownerFileName(document.name);
      const path = joinPath(dirPath, name);
      if (!this.store.get(path)) out.push(ownerEntry(path, name, document));
    }
    return out;
  }

  /** Who holds the lock on `document` (the first lock that is not this mount's). */
  private async lockHolder(document: RemoteEntry): Promise<string> {
    const mine = this.ctx.locks?.heldToken(document.path);
    try {
      const locks = (await this.ctx.client.locks?.(document.path)) ?? [];
      const theirs = locks.find((l) => l.token !== mine);
      return theirs?.username ?? theirs?.owner ?? 'another user';
    } catch (err) {
      this.ctx.logger.debug('%s: could not ask who holds its lock (%s)', document.path, (err as Error).message);
      return 'another user';
    }
  }

  private async open(file: LocalFile, flags: number, writable: boolean): Promise<FileHandle> {
    const fd = await this.store.openContent(file);
    file.handles++;
    const handle = new LocalOnlyHandle(file, fd, writable, writable && (flags & constants.O_APPEND) !== 0, (f) => this.ctx.attributes(f.entry()), () => this.now());
    if (writable && flags & constants.O_TRUNC) await handle.truncate(0);
    return handle;
  }
}

function ownerEntry(path: string, name: string, document: RemoteEntry): RemoteEntry {
  return { path, name, type: 'file', size: OWNER_FILE_BYTES, mtime: document.mtime, serverMtime: null, providedMtime: null, createdAt: null, md5: null, crc32: null, permissions: 'r' };
}

/** An open Office owner file: its content is made when it is opened. */
class OwnerFileHandle implements FileHandle {
  private readonly content: Buffer;

  constructor(readonly remotePath: string, user: string, private readonly attributes: () => FileAttributes) {
    this.content = ownerFileContent(user);
  }

  async getattr(): Promise<FileAttributes> {
    return this.attributes();
  }

  async read(buffer: Buffer, position: number): Promise<number> {
    if (position >= this.content.length) return 0;
    return this.content.copy(buffer, 0, position, Math.min(this.content.length, position + buffer.length));
  }

  async write(): Promise<number> {
    throw new FsError('EBADF', `${this.remotePath}: not open for writing`);
  }

  async truncate(): Promise<void> {
    throw new FsError('EBADF', `${this.remotePath}: not open for writing`);
  }

  async flush(): Promise<void> {}

  async fsync(): Promise<void> {}

  async release(): Promise<void> {}
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
