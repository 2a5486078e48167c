// The memory layer of the read path: which blocks of which file version are
// in memory now (each a block of the pool, block-pool.ts), in one least
// recently used order for the whole mount and one per file version. It sits
// in front of the disk cache: a block fetched from the server is kept here
// while it is written to disk and while readers want it, and let go first
// when the pool needs room, or when the mount is idle (dropOnDisk) for
// blocks that are on disk anyway. The bounds:
//   - the pool: every block held, cached or in flight, is one of its blocks;
//   - per file version (perFileBytes): read-ahead that would push one file
//     over it evicts that file's own oldest blocks first, and is skipped when
//     its requests in flight alone would; a read's own blocks always go.
import type { BlockPool, PoolBlock } from './block-pool.js';
import type { FileContent } from './file-content.js';

/** One block of one file version in memory. */
export interface MemBlock {
  readonly content: FileContent;
  readonly index: number;
  readonly block: PoolBlock;
  /** Bytes of the file in it (the block size, less at the end of the file). */
  readonly length: number;
}

export interface BlockCacheStats {
  /** Bytes of file content cached in memory. */
  cachedBytes: number;
  /** Bytes of requests in flight. */
  inflightBytes: number;
  blocks: number;
  /** The pool: its budget and the bytes held (cached, in flight, being written to disk). */
  poolBytes: number;
  poolUsedBytes: number;
}

export class BlockCache {
  private readonly lru = new Map<MemBlock, true>();
  private cached = 0;
  private inflight = 0;

  /** `onEmpty` is told when a file's last cached block goes; `onDisk` says whether a block is in the disk cache too. */
  constructor(
    readonly pool: BlockPool,
    private readonly perFileBytes: number,
    private readonly onEmpty: (content: FileContent) => void = () => {},
    private readonly onDisk: (b: MemBlock) => boolean = () => false,
  ) {}

  /** The block `index` of `content` in memory, marked as just used. */
  find(content: FileContent, index: number): MemBlock | undefined {
    const b = content.blocks.get(index);
    if (!b) return undefined;
    this.lru.delete(b);
    this.lru.set(b, true);
    content.order.delete(b);
    content.order.set(b, true);
    return b;
  }

  has(content: FileContent, index: number): boolean {
    return content.blocks.has(index);
  }

  /**
   * Room for a request of `bytes` for `content`: read-ahead (`optional`) is
   * refused when the file's requests in flight alone would exceed its bound;
   * otherwise the file's own oldest blocks make room. The caller then takes
   * the pool blocks and settles the reservation when the request ends.
   */
  reserve(content: FileContent, bytes: number, optional: boolean): boolean {
    if (optional && content.inflightBytes + bytes > this.perFileBytes) return false;
    while (content.cachedBytes + content.inflightBytes + bytes > this.perFileBytes && content.order.size > 0) this.evictOldestOf(content);
    this.inflight += bytes;
    content.inflightBytes += bytes;
    return true;
  }

  settle(content: FileContent, bytes: number): void {
    this.inflight -= bytes;
    content.inflightBytes -= bytes;
  }

  /** Keeps a fetched block (the cache takes over the caller's hold on `block`), unless the version was superseded. */
  insert(content: FileContent, index: number, block: PoolBlock, length: number): MemBlock | undefined {
    if (content.superseded) {
      this.pool.release(block);
      return undefined;
    }
    const old = content.blocks.get(index);
    if (old) this.remove(old);
    const b: MemBlock = { content, index, block, length };
    content.blocks.set(index, b);
    content.order.set(b, true);
    content.cachedBytes += length;
    this.cached += length;
    this.lru.set(b, true);
    return b;
  }

  /**
   * Lets go of up to `n` blocks, least recently used first: the pool's
   * reclaim. With `onDiskOnly` only blocks also on disk; with `shortOnly`
   * only short blocks (buffers of their own, block-pool.ts).
   */
  evict(n: number, onDiskOnly = false, shortOnly = false): void {
    if (!onDiskOnly && !shortOnly) {
      for (let i = 0; i < n && this.lru.size > 0; i++) this.remove(this.lru.keys().next().value!);
      return;
    }
    let left = n;
    for (const b of this.lru.keys()) {
      if (left <= 0) break;
      if ((shortOnly && !b.block.short) || (onDiskOnly && !this.onDisk(b))) continue;
      this.remove(b);
      left--;
    }
  }

  /** Evicts a version's least recently used blocks until it holds at most `keepBytes`. */
  trim(content: FileContent, keepBytes: number): void {
    while (content.cachedBytes > keepBytes && content.order.size > 0) this.evictOldestOf(content);
  }

  /** Lets go of a version's blocks that end at or before `offset` (what a sequential reader left behind). */
  dropBefore(content: FileContent, offset: number, blockSize: number): void {
    for (const b of content.order.keys()) {
      if (b.index * blockSize + b.length <= offset) this.remove(b);
    }
  }

  /** Lets go of a version's blocks that are on disk too. */
  dropOnDiskOf(content: FileContent): void {
    for (const b of content.order.keys()) if (this.onDisk(b)) this.remove(b);
  }

  /** Lets go of every block that is on disk too (the mount is idle). */
  dropOnDisk(): void {
    for (const b of this.lru.keys()) if (this.onDisk(b)) this.remove(b);
  }

  /** Lets go of every cached block of a file version. */
  drop(content: FileContent): void {
    for (const b of [...content.order.keys()]) this.remove(b);
  }

  stats(): BlockCacheStats {
    return { cachedBytes: this.cached, inflightBytes: this.inflight, blocks: this.lru.size, poolBytes: this.pool.bytes, poolUsedBytes: this.pool.usedBytes };
  }

  private evictOldestOf(content: FileContent): void {
    const oldest = content.order.keys().next().value;
    if (oldest) this.remove(oldest);
  }

  private remove(b: MemBlock): void {
    if (!this.lru.delete(b)) return;
    const content = b.content;
    content.order.delete(b);
    if (content.blocks.get(b.index) === b) content.blocks.delete(b.index);
    content.cachedBytes -= b.length;
    this.cached -= b.length;
    this.pool.release(b.block);
    if (content.order.size === 0) this.onEmpty(content);
  }
}
