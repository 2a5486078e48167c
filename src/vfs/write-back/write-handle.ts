// An open pending file: a handle on its working version, for reading (every
// process reads the local copy while the file is pending: read-your-writes)
// or for writing. Reads go straight to the working staging file; everything
// that changes the file goes through the write layer (StagingOps), which
// keeps versions, the journal and the uploads in step.
//
// The working version can move to a new staging file (a change below the
// closed version's size copies it first, a failed write rolls it back), so a
// handle holds a descriptor of whichever staging file was working when it
// last looked, and moves to the current one before each operation.
//
// Handles follow renames (remotePath reads the file's current path) and keep
// working after the file was unlinked (the kernel then sends path ""; the
// filesystem finds the handle by number).
import type { FileHandle as NodeFileHandle } from 'node:fs/promises';
import type { FileAttributes } from '../filesystem-api.js';
import { FsError } from '../fs-error.js';
import type { FileHandle } from '../handles/file-handle.js';
import type { PendingFile } from './pending-file.js';
import type { SharedFd } from './shared-fd.js';
import { WriteHistogram } from './write-histogram.js';

export interface StagingOps {
  attributes(file: PendingFile): FileAttributes;
  write(handle: StagingHandle, buffer: Buffer, position: number): Promise<number>;
  /** ftruncate(2) through the handle. */
  resize(handle: StagingHandle, size: number): Promise<void>;
  /** close(2) of a descriptor: the working version is committed before it returns. */
  flush(handle: StagingHandle): Promise<void>;
  fsync(handle: StagingHandle): Promise<void>;
  release(handle: StagingHandle): Promise<void>;
}

export class StagingHandle implements FileHandle {
  /** Sizes of this handle's writes (logged at debug when it closes). */
  readonly writeSizes = new WriteHistogram();
  private released = false;
  /** The staging file whose descriptor this handle holds, and that descriptor. */
  private source: SharedFd;
  private fd: NodeFileHandle;
  private moving: Promise<NodeFileHandle> | null = null;

  constructor(
    private readonly ops: StagingOps,
    readonly file: PendingFile,
    source: SharedFd,
    fd: NodeFileHandle,
    readonly writable: boolean,
    /** O_APPEND: every write goes to the end of the file, whatever the offset. */
    readonly append: boolean,
  ) {
    this.source = source;
    this.fd = fd;
  }

  get remotePath(): string {
    return this.file.path;
  }

  /** The descriptor of the working staging file (this handle moves to it if it moved). */
  current(): Promise<NodeFileHandle> {
    const working = this.file.working.fd;
    if (working === this.source) return Promise.resolve(this.fd);
    this.moving ??= (async () => {
      try {
        const fd = await working.acquire();
        const old = this.source;
        this.source = working;
        this.fd = fd;
        await old.release();
        return fd;
      } finally {
        this.moving = null;
      }
    })();
    return this.moving;
  }

  async getattr(): Promise<FileAttributes> {
    return this.ops.attributes(this.file);
  }

  async read(buffer: Buffer, position: number): Promise<number> {
    const { bytesRead } = await (await this.current()).read(buffer, 0, buffer.length, position);
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

  /** Lets go of the staging file's descriptor (the last user closes it). */
  releaseDescriptor(): Promise<void> {
    return this.source.release();
  }
}
