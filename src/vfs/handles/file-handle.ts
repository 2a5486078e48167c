// What an open file is to the filesystem: the operations the kernel sends
// with a file handle. Read handles (read-handle.ts) serve a remote file
// version; the write-back layer adds its own kinds (staging-backed handles)
// by implementing this interface, and the filesystem dispatches on it without
// knowing which kind it holds.
import type { FileAttributes } from '../filesystem-api.js';

export interface FileHandle {
  /** The remote path the handle is bound to now (follows renames). */
  readonly remotePath: string;
  /** Attributes as seen through this handle (fgetattr). */
  getattr(): Promise<FileAttributes>;
  read(buffer: Buffer, position: number): Promise<number>;
  write(buffer: Buffer, position: number): Promise<number>;
  truncate(size: number): Promise<void>;
  flush(): Promise<void>;
  fsync(datasync: boolean): Promise<void>;
  /** The last close of this handle; the table forgets it afterwards. */
  release(): Promise<void>;
}
