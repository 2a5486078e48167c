// Sequential detection and the read-ahead window of one reader (one open
// handle). Pure logic: given each read, it says which byte range to request
// ahead; the file reader does the fetching.
//
// A reader is sequential when its first read starts at offset 0, or when a
// read starts close to where its reads got to: up to one window behind (the
// kernel sends read-ahead reads concurrently, so they may arrive slightly out
// of order) and up to what was already requested ahead.
//
// While sequential, one request of min(window, maxRequest) bytes is issued
// when the data requested ahead of the reader has shrunk enough for a full
// request to fit in the window (or to half a window while it ramps up), and
// the window then doubles up to its maximum. With the defaults (1 MiB initial,
// 32 MiB max, 8 MiB requests) the requests are 1, 2, 4, 8, 8, … MiB and up to
// four 8 MiB requests are in flight ahead of a fast reader; never a request
// per kernel page. At most one request per read keeps a short read of a file's
// head (`head -c`, `file`) to the initial window.
//
// A read elsewhere is random: the window shrinks back to its initial size and
// nothing is requested ahead (the reader fetches only the blocks it touches).

export interface ReadAheadConfig {
  /** Requests start on block boundaries. */
  blockSize: number;
  initialWindow: number;
  maxWindow: number;
  maxRequest: number;
}

export interface ByteRange {
  start: number;
  end: number;
}

const alignUp = (n: number, unit: number): number => Math.ceil(n / unit) * unit;
const alignDown = (n: number, unit: number): number => Math.floor(n / unit) * unit;

export class ReadAhead {
  private window: number;
  /** End of the furthest read so far (null before the first read). */
  private position: number | null = null;
  /** End of what has been requested for this reader, ahead of or at `position`. */
  private requestedUntil = 0;
  /** Consecutive sequential reads (0 after a random one). */
  sequentialReads = 0;

  constructor(private readonly config: ReadAheadConfig) {
    this.window = config.initialWindow;
  }

  get currentWindow(): number {
    return this.window;
  }

  /**
   * Records a read of [start, end) in a file of `size` bytes and returns the
   * range to request ahead, if any (it may include the read's own blocks).
   */
  onRead(start: number, end: number, size: number): ByteRange | null {
    const { blockSize, initialWindow, maxWindow, maxRequest } = this.config;
    const sequential = this.position === null
      ? start === 0
      : start >= this.position - this.window && start <= Math.max(this.position, this.requestedUntil);
    if (!sequential) {
      this.window = initialWindow;
      this.sequentialReads = 0;
      this.position = end;
      this.requestedUntil = Math.min(alignUp(end, blockSize), size);
      return null;
    }
    this.sequentialReads++;
    this.position = Math.max(this.position ?? 0, end);
    this.requestedUntil = Math.max(this.requestedUntil, alignDown(start, blockSize));
    if (this.requestedUntil >= size) return null;
    const request = Math.min(this.window, maxRequest);
    const ahead = this.requestedUntil - this.position;
    if (ahead > Math.max(this.window - request, this.window / 2)) return null;
    const range = { start: this.requestedUntil, end: Math.min(this.requestedUntil + request, size) };
    this.requestedUntil = range.end;
    this.window = Math.min(this.window * 2, maxWindow);
    return range;
  }

  /**
   * The range returned by the last onRead could not be requested (no memory
   * for read-ahead): forget it, so that a later read asks for it again in one
   * request rather than block by block, and grow no further.
   */
  retract(range: ByteRange): void {
    if (this.requestedUntil !== range.end) return;
    this.requestedUntil = range.start;
    this.window = Math.max(this.config.initialWindow, this.window / 4);
  }
}
