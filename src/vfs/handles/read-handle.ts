// An open file read from the server: bound to one file version (FileContent,
// shared with every other handle on that version) with its own sequential
// detection (ReadAhead), since each open file is its own stream of reads.
import type { FileAttributes } from '../filesystem-api.js';
import { FsError } from '../fs-error.js';
import { isTransientFailure } from '../server-state.js';
import type { ContentRegistry } from '../read/content-registry.js';
import type { FileContent } from '../read/file-content.js';
import type { FileReader } from '../read/file-reader.js';
import { ReadAhead, type ReadAheadConfig } from '../read/read-ahead.js';
import type { FileHandle } from './file-handle.js';

export interface ReadHandleDeps {
  reader: FileReader;
  registry: ContentRegistry;
  readAhead: ReadAheadConfig;
  /** Current attributes of a remote path (for fgetattr). */
  attributes: (remotePath: string) => Promise<FileAttributes>;
  /** truncate(2) by path: a read handle has no content of its own to cut. */
  truncate: (remotePath: string, size: number) => Promise<void>;
}

export class ReadHandle implements FileHandle {
  readonly stream: ReadAhead;
  private released = false;
  /** Unlinked while open (or renamed over): whatever is at the path now is another file. */
  private orphaned = false;

  constructor(readonly content: FileContent, private readonly lastKnown: FileAttributes, private readonly deps: ReadHandleDeps) {
    this.stream = new ReadAhead(deps.readAhead);
  }

  get remotePath(): string {
    return this.content.remotePath;
  }

  /** The file was unlinked while open: it shows the version it reads, whatever comes to its path. */
  orphan(): void {
    this.orphaned = true;
  }

  async getattr(): Promise<FileAttributes> {
    if (this.orphaned) return this.ownVersion();
    // A newer version exists elsewhere: this handle still reads its own, and
    // shows its size, so the kernel never cuts the reader short.
    if (this.content.detached && !this.content.superseded) return this.ownVersion();
    try {
      const current = await this.deps.attributes(this.remotePath);
      // Asking may have found the newer version (and detached this one).
      return this.content.detached && !this.content.superseded ? this.ownVersion() : current;
    } catch (err) {
      // Deleted while open: the handle still shows what it opened.
      if (err instanceof FsError && err.code === 'ENOENT') return this.ownVersion();
      // The server could not say (it failed, or is down): what this handle reads is still right,
      // and a read that went well must not end in EIO because the kernel asked again.
      if (isTransientFailure(err)) return this.ownVersion();
      throw err;
    }
  }

  /** The attributes of the version this handle reads. */
  private ownVersion(): FileAttributes {
    return { ...this.lastKnown, size: this.content.size, mtime: this.content.mtime };
  }

  read(buffer: Buffer, position: number): Promise<number> {
    return this.deps.reader.read(this.content, this.stream, buffer, position);
  }

  async write(): Promise<number> {
    throw new FsError('EBADF', `${this.remotePath}: not open for writing`);
  }

  truncate(size: number): Promise<void> {
    return this.deps.truncate(this.remotePath, size);
  }

  async flush(): Promise<void> {}

  async fsync(): Promise<void> {}

  async release(): Promise<void> {
    if (this.released) return;
    this.released = true;
    this.deps.registry.release(this.content);
  }
}
