// A file open for writing under a server lock (--lock-on-write): every
// operation passes to the handle it wraps; its release lets the lock go
// once the handle itself is released (a release that fails still lets go:
// the content is kept by the write layer, the lock must not outlive it).
import type { FileAttributes } from '../filesystem-api.js';
import type { FileHandle } from './file-handle.js';

export class LockedWriter implements FileHandle {
  constructor(private readonly inner: FileHandle, private readonly unlock: () => Promise<void>) {}

  get remotePath(): string {
    return this.inner.remotePath;
  }

  getattr(): Promise<FileAttributes> {
    return this.inner.getattr();
  }

  read(buffer: Buffer, position: number): Promise<number> {
    return this.inner.read(buffer, position);
  }

  write(buffer: Buffer, position: number): Promise<number> {
    return this.inner.write(buffer, position);
  }

  truncate(size: number): Promise<void> {
    return this.inner.truncate(size);
  }

  flush(): Promise<void> {
    return this.inner.flush();
  }

  fsync(datasync: boolean): Promise<void> {
    return this.inner.fsync(datasync);
  }

  async release(): Promise<void> {
    try {
      await this.inner.release();
    } finally {
      await this.unlock();
    }
  }
}
