// File handle numbers for the kernel: positive integers (fuse-native treats 0
// as "no handle", and handles travel from JS to the binding as signed 32-bit
// integers whose bit 30 carries "keep the page cache": so below 2^30),
// allocated in increasing order and reused only after wrapping, so a stale
// number from a released handle is unlikely to name a new one. An unknown
// number is EBADF.
import { FsError } from '../fs-error.js';

const MAX_FH = 0x3fff_ffff;

export class HandleTable<T> {
  private readonly handles = new Map<number, T>();
  private next = 1;

  /** Stores `handle` and returns its number (≥ 1). */
  add(handle: T): number {
    if (this.handles.size >= MAX_FH) throw new FsError('EMFILE', 'too many open handles');
    while (this.handles.has(this.next)) this.advance();
    const fh = this.next;
    this.handles.set(fh, handle);
    this.advance();
    return fh;
  }

  /** The handle for `fh`; EBADF when there is none. */
  get(fh: number): T {
    const handle = this.handles.get(fh);
    if (handle === undefined) throw new FsError('EBADF', `no open handle ${fh}`);
    return handle;
  }

  /** Removes and returns the handle; EBADF when there is none. */
  remove(fh: number): T {
    const handle = this.get(fh);
    this.handles.delete(fh);
    return handle;
  }

  values(): IterableIterator<T> {
    return this.handles.values();
  }

  get size(): number {
    return this.handles.size;
  }

  private advance(): void {
    this.next = this.next >= MAX_FH ? 1 : this.next + 1;
  }
}
