// The memory that file content may occupy: one budget (--read-cache), cut
// into blocks of the read block size, from one slab allocated when first
// needed and let go when the mount is idle (release). Everything the read
// path holds in memory is a pool block: ranges being fetched (the client
// copies each network chunk into them as it arrives, so no response buffer
// outlives its copy: readRangeInto), blocks cached for readers, blocks being
// written to the disk cache. Nothing else accumulates, however many files
// are read at once.
//
// A block is counted by its holders (`refs`: the memory cache, a disk write,
// a request in flight) and goes back to the free list when the last lets go.
// When none is free, `reclaim` asks the memory cache to let go of its least
// recently used blocks. Read-ahead takes blocks only when they are there
// (tryTake), and may push out only blocks that are on disk too: read-ahead
// never evicts what a reader is about to read from memory; a read's own
// blocks push out any, and wait for them (take), in order: requests in flight
// and disk writes always finish, so a waiter always gets its turn.
// Waiting, not allocating more, is what keeps the budget a bound under any
// concurrency.
//
// A small file (or the short last block of a file) would waste most of a
// block: `takeShort` gives it a buffer of its own size instead, outside the
// slab, up to a quarter of the budget in all (cached short blocks are pushed
// out to stay within it), so that a folder of small files fetched ahead
// (folder-read-ahead.ts) costs what the files weigh.

export interface PoolBlock {
  /** blockSize bytes of the slab; or, for a short block, a buffer of its own. */
  readonly buf: Buffer;
  refs: number;
  /** A buffer of its own (takeShort), not a block of the slab. */
  readonly short?: boolean;
}

/** Longest short block, as a share of the block size: longer ones take a whole block. */
export const SHORT_BLOCK_MAX_SHARE = 0.5;

interface Waiter {
  n: number;
  resolve: (blocks: PoolBlock[]) => void;
}

export class BlockPool {
  private slab: Buffer | null = null;
  private free: PoolBlock[] = [];
  private readonly waiters: Waiter[] = [];
  private inUse = 0;
  private serving = false;
  /** Bytes of short blocks held, and the most there may be. */
  private shortUsed = 0;
  private readonly shortBudget: number;

  /** `reclaim(n, onDiskOnly, shortOnly)`: let go of up to n cached blocks (least recently used first; only those also on disk; only short ones). */
  constructor(readonly blockSize: number, readonly blocks: number, private readonly reclaim: (n: number, onDiskOnly: boolean, shortOnly: boolean) => void = () => {}) {
    if (blocks < 1) throw new RangeError('BlockPool: at least one block');
    this.shortBudget = Math.floor((blocks * blockSize) / 4);
  }

  /** Bytes of the budget. */
  get bytes(): number {
    return this.blockSize * this.blocks;
  }

  /** Blocks held now (cached, in flight, being written). */
  get used(): number {
    return this.inUse;
  }

  /** Bytes held now: blocks of the slab and short blocks. */
  get usedBytes(): number {
    return this.inUse * this.blockSize + this.shortUsed;
  }

  /** Whether `length` bytes go in a short block. */
  fitsShort(length: number): boolean {
    return length > 0 && length <= this.blockSize * SHORT_BLOCK_MAX_SHARE;
  }

  /**
   * A short block of `length` bytes (at most SHORT_BLOCK_MAX_SHARE of a
   * block): room is made by pushing out cached blocks (only those on disk
   * too, for read-ahead: `optional`); read-ahead gets null when there is
   * none, a read always gets one.
   */
  takeShort(length: number, optional: boolean): PoolBlock | null {
    if (!this.fitsShort(length)) throw new RangeError(`BlockPool: ${length} bytes is not a short block`);
    // Short blocks are at least 1 byte: evicting as many as the bytes over budget is always enough.
    while (this.shortUsed + length > this.shortBudget) {
      const before = this.shortUsed;
      this.reclaim(1, optional, true);
      if (this.shortUsed === before) break;
    }
    if (optional && this.shortUsed + length > this.shortBudget) return null;
    this.shortUsed += length;
    return { buf: Buffer.allocUnsafeSlow(length), refs: 1, short: true };
  }

  /** Whether the slab is allocated. */
  get allocated(): boolean {
    return this.slab !== null;
  }

  get waiting(): number {
    return this.waiters.length;
  }

  /** `n` blocks if they can be had now (reclaiming cached ones that are on disk too), else null; never ahead of a waiter. */
  tryTake(n: number): PoolBlock[] | null {
    if (n > this.blocks || this.waiters.length > 0) return null;
    return this.grab(n, true);
  }

  /** `n` blocks, once there are (at most the pool's size). */
  take(n: number): Promise<PoolBlock[]> {
    if (n > this.blocks) return Promise.reject(new RangeError(`BlockPool: ${n} blocks asked of a pool of ${this.blocks}`));
    const now = this.waiters.length === 0 ? this.grab(n, false) : null;
    if (now) return Promise.resolve(now);
    return new Promise((resolve) => {
      this.waiters.push({ n, resolve });
      this.serve();
    });
  }

  /** One more holder of `block`. */
  retain(block: PoolBlock): void {
    block.refs++;
  }

  /** One holder let go; the block is free once none is left. */
  release(block: PoolBlock): void {
    if (block.refs <= 0) throw new Error('BlockPool: block released more often than taken');
    if (--block.refs > 0) return;
    if (block.short) {
      this.shortUsed -= block.buf.length;
      return;
    }
    this.inUse--;
    this.free.push(block);
    this.serve();
  }

  /**
   * Lets go of the slab when no block is held (the memory goes back to the
   * system once collected); true when it did.
   */
  releaseIdle(): boolean {
    if (this.inUse > 0 || this.waiters.length > 0 || this.slab === null) return false;
    this.slab = null;
    this.free = [];
    return true;
  }

  private grab(n: number, onDiskOnly: boolean): PoolBlock[] | null {
    this.ensureSlab();
    if (this.free.length < n) this.reclaim(n - this.free.length, onDiskOnly, false);
    if (this.free.length < n) return null;
    const out = this.free.splice(this.free.length - n, n);
    for (const b of out) b.refs = 1;
    this.inUse += n;
    return out;
  }

  private serve(): void {
    if (this.serving) return;
    this.serving = true;
    try {
      while (this.waiters.length > 0) {
        const got = this.grab(this.waiters[0]!.n, false);
        if (!got) break;
        this.waiters.shift()!.resolve(got);
      }
    } finally {
      this.serving = false;
    }
  }

  private ensureSlab(): void {
    if (this.slab) return;
    // One allocation: large enough to be its own mapping, returned whole when let go.
    this.slab = Buffer.allocUnsafeSlow(this.blocks * this.blockSize);
    this.free = [];
    for (let i = this.blocks - 1; i >= 0; i--) this.free.push({ buf: this.slab.subarray(i * this.blockSize, (i + 1) * this.blockSize), refs: 0 });
  }
}
