// An open pending file: a handle on its staging file, for reading (every
// process reads the staging copy while the file is pending: read-your-writes)
// or for writing. Reads go straight to the shared descriptor; everything that
// changes the file or its upload goes through the write-back layer
// (StagingOps), which keeps generations, the journal and the upload queue in
// step. Handles follow renames (remotePath reads the file's current path) and
// keep working after the file was unlinked (the kernel then sends path "";
// the filesystem finds the handle by number).
import type { FileHandle as NodeFileHandle } from 'node:fs/promises';
import type { FileAttributes } from '../filesystem-api.js';
import { FsError } from '../fs-error.js';
import type { FileHandle } from '../handles/file-handle.js';
import type { PendingFile } from './pending-file.js';
import { WriteHistogram } from './write-histogram.js';

export interface StagingOps {
  attributes(file: PendingFile): FileAttributes;
  write(handle: StagingHandle, buffer: Buffer, position: number): Promise<number>;
  /** ftruncate(2) through the handle. */
  resize(handle: StagingHandle, size: number): Promise<void>;
  /** close(2) of a descriptor: changes become durable (journal) before it returns. */
  flush(handle: StagingHandle): Promise<void>;
  fsync(handle: StagingHandle): Promise<void>;
  release(handle: StagingHandle): Promise<void>;
}

export class StagingHandle implements FileHandle {
  /** Sizes of this handle's writes (logged at debug when it closes). */
  readonly writeSizes = new WriteHistogram();
  private released = false;

  constructor(
    private readonly ops: StagingOps,
    readonly file: PendingFile,
    readonly fd: NodeFileHandle,
    readonly writable: boolean,
    /** O_APPEND: every write goes to the end of the file, whatever the offset. */
    readonly append: boolean,
  ) {}

  get remotePath(): string {
    return this.file.path;
  }

  async getattr(): Promise<FileAttributes> {
    return this.ops.attributes(this.file);
  }

  async read(buffer: Buffer, position: number): Promise<number> {
    const { bytesRead } = await this.fd.read(buffer, 0, buffer.length, position);
    return bytesRead;
  }

  async write(buffer: Buffer, position: number): Promise<number> {
    if (!this.writable) throw new FsError('EBADF', `${this.remotePath}: not open for writing`);
    return this.ops.write(this, buffer, position);
  }

  truncate(size: number): Promise<void> {
    return this.ops.resize(this, size);
  }

  async flush(): Promise<void> {
    if (this.writable) await this.ops.flush(this);
  }

  fsync(_datasync: boolean): Promise<void> {
    return this.ops.fsync(this);
  }

  async release(): Promise<void> {
    if (this.released) return;
    this.released = true;
    await this.ops.release(this);
  }
}
