// A file open for reading follows the changes made to it through this mount,
// as on a local disk, where every descriptor on a file sees its writes: a
// reader that opened the server's version reads the local content once a
// program here changes the file (a rewrite, an append: `tail -f`), and the
// new server version once that change has landed. Changes made elsewhere are
// not followed (a reader keeps the version it opened: read-handle.ts), and
// neither is the file that a rename or a new file puts at the path once the
// one it opened is unlinked (orphan()).
//
// It holds one inner handle at a time (a staging-backed one from the write
// layer, or a ReadHandle on a server version) and, before each read or
// fgetattr, asks the write layer (a map lookup, no I/O) which pending version
// the path has now; when that differs from what the inner handle reads, it
// opens the current one and closes the old one.
import type { FileAttributes } from '../filesystem-api.js';
import { FsError } from '../fs-error.js';
import type { FileHandle } from './file-handle.js';
import { ReadHandle } from './read-handle.js';

export interface FollowingReaderDeps {
  /** The pending (local) version at a path: an identity, undefined when there is none. */
  pendingVersion(remotePath: string): object | undefined;
  /** A handle on what the path shows now: its local content when pending, else the server's version. */
  reopen(remotePath: string): Promise<FileHandle>;
}

export class FollowingReader implements FileHandle {
  private orphaned = false;
  private released = false;
  /** Serializes switches, so concurrent reads never open two handles. */
  private switching: Promise<void> | null = null;

  constructor(private inner: FileHandle, private boundTo: object | undefined, private readonly deps: FollowingReaderDeps) {}

  get remotePath(): string {
    return this.inner.remotePath;
  }

  /** The server version read now (its version and this mount's uploads before it), or null for local content. */
  get serverVersion(): string | null {
    return this.inner instanceof ReadHandle ? `${this.inner.content.version}/${this.inner.content.rewrites}` : null;
  }

  /** The file was unlinked while open (or renamed over): it reads on what it has, and follows nothing at the path. */
  orphan(): void {
    this.orphaned = true;
    if (this.inner instanceof ReadHandle) this.inner.orphan();
  }

  getattr(): Promise<FileAttributes> {
    const inner = this.settled();
    return inner ? inner.getattr() : this.current().then((h) => h.getattr());
  }

  read(buffer: Buffer, position: number): Promise<number> {
    // The usual case answers without an extra turn of the event loop (the read path's timing is the read-ahead's).
    const inner = this.settled();
    return inner ? inner.read(buffer, position) : this.current().then((h) => h.read(buffer, position));
  }

  /** The inner handle when no switch is due or under way. */
  private settled(): FileHandle | undefined {
    if (this.switching) return undefined;
    return this.orphaned || this.released || !this.stale() ? this.inner : undefined;
  }

  async write(): Promise<number> {
    throw new FsError('EBADF', `${this.remotePath}: not open for writing`);
  }

  truncate(size: number): Promise<void> {
    return this.inner.truncate(size);
  }

  async flush(): Promise<void> {}

  async fsync(): Promise<void> {}

  release(): Promise<void> {
    if (this.released) return Promise.resolve();
    this.released = true;
    return this.switching ? this.switching.then(() => this.inner.release()) : this.inner.release();
  }

  /** The inner handle, after switching to what the path shows now when this mount changed the file. */
  private async current(): Promise<FileHandle> {
    while (this.switching) await this.switching;
    if (this.orphaned || this.released || !this.stale()) return this.inner;
    this.switching = this.follow().finally(() => (this.switching = null));
    await this.switching;
    return this.inner;
  }

  /** Whether the inner handle no longer reads what this mount made of the file. */
  private stale(): boolean {
    const pending = this.deps.pendingVersion(this.inner.remotePath);
    // A local version other than the one read (a first change, or a new one after the last landed).
    if (pending !== undefined) return pending !== this.boundTo;
    // No local version: a server version replaced by our own upload is followed to the new one.
    // (Local content read to the end of its upload is the landed version: nothing to switch.)
    return this.inner instanceof ReadHandle && this.inner.content.rewrittenHere;
  }

  private async follow(): Promise<void> {
    const path = this.inner.remotePath;
    const pending = this.deps.pendingVersion(path);
    const next = await this.deps.reopen(path);
    const old = this.inner;
    this.inner = next;
    this.boundTo = pending;
    await old.release();
  }
}
