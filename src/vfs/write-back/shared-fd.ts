// One open descriptor of a staging file, shared by every handle on it and by
// the operations that need it briefly (truncate by path, the fsync before a
// journal write). Opened on first use, closed when the last user is done, so
// thousands of pending files that nobody has open hold no descriptors. A
// staging file unlinked while open (rm of a file still being written) keeps
// working through the descriptor until the last user leaves.
import type { FileHandle } from 'node:fs/promises';

export class SharedFd {
  private fd: FileHandle | null;
  private opening: Promise<FileHandle> | null = null;
  private users = 0;

  /** `initial`: an already open descriptor (a new staging file), closed if nobody acquires it. */
  constructor(private readonly openFile: () => Promise<FileHandle>, initial: FileHandle | null = null) {
    this.fd = initial;
  }

  /** Takes an open descriptor of the same file (the one it was created with) unless one is open already. */
  adopt(fd: FileHandle): void {
    if (this.fd) void fd.close().catch(() => undefined);
    else this.fd = fd;
  }

  /** The descriptor, counted as one more user until release(). */
  async acquire(): Promise<FileHandle> {
    this.users++;
    try {
      if (this.fd) return this.fd;
      this.opening ??= this.openFile().finally(() => {
        this.opening = null;
      });
      const fd = await this.opening;
      this.fd ??= fd;
      if (this.fd !== fd) await fd.close();
      return this.fd;
    } catch (err) {
      this.users--;
      throw err;
    }
  }

  /** One user is done; the last one closes the descriptor. */
  async release(): Promise<void> {
    this.users = Math.max(0, this.users - 1);
    await this.closeIfUnused();
  }

  /** Runs `work` with the descriptor held. */
  async with<T>(work: (fd: FileHandle) => Promise<T>): Promise<T> {
    const fd = await this.acquire();
    try {
      return await work(fd);
    } finally {
      await this.release();
    }
  }

  /** Closes a descriptor nobody uses (e.g. the one a new file was created with). */
  async closeIfUnused(): Promise<void> {
    if (this.users > 0 || !this.fd) return;
    const fd = this.fd;
    this.fd = null;
    await fd.close();
  }

  /** Closes the descriptor whoever still uses it (the mount is going away). */
  async forceClose(): Promise<void> {
    this.users = 0;
    await this.closeIfUnused();
  }

  get inUse(): number {
    return this.users;
  }
}
