// Memory for fetched file content, bounded per file version and in total.
// Segments (whole range responses, block-aligned) are kept in one lru-cache
// whose maxSize is the total bound, so the least recently used segment of any
// file goes first; each file also keeps its own use order, so a file over its
// own bound evicts its own oldest segment. Requests in flight count too: a
// request reserves its bytes before it is sent (evicting to make room), so
// cached + in flight stays within both bounds. Read-ahead that would not fit
// is skipped; a read's own blocks are always fetched.
//
// Segments are kept as the responses themselves (no copy per block; with
// the HTTP client, as the chunks they arrived in: file-content.ts
// ChunkedData): copying every byte once more would cost a visible share of
// a sequential read's CPU time, and a segment is evicted as a whole.
import { LRUCache } from 'lru-cache';
import type { FileContent, Segment } from './file-content.js';

export interface BlockCacheLimits {
  perFileBytes: number;
  totalBytes: number;
}

export interface BlockCacheStats {
  cachedBytes: number;
  inflightBytes: number;
  segments: number;
}

export class BlockCache {
  private readonly lru: LRUCache<string, Segment>;
  private inflightBytes = 0;

  /** `onEmpty` is told when a file's last cached segment goes. */
  constructor(private readonly limits: BlockCacheLimits, private readonly onEmpty: (content: FileContent) => void = () => {}) {
    this.lru = new LRUCache<string, Segment>({
      maxSize: limits.totalBytes,
      sizeCalculation: (segment) => Math.max(segment.data.length, 1),
      dispose: (segment) => this.unlink(segment),
    });
  }

  /** The cached segment holding `block`, marked as just used. */
  find(content: FileContent, block: number): Segment | undefined {
    const segment = content.blocks.get(block);
    if (!segment) return undefined;
    this.lru.get(segment.key);
    content.order.delete(segment);
    content.order.set(segment, true);
    return segment;
  }

  has(content: FileContent, block: number): boolean {
    return content.blocks.has(block);
  }

  /**
   * Reserves room for a request of `bytes` for `content`, evicting what must
   * go. An optional request (read-ahead) is refused (false) when requests in
   * flight alone would exceed a bound; a required one is always granted.
   */
  reserve(content: FileContent, bytes: number, optional: boolean): boolean {
    if (optional && (this.inflightBytes + bytes > this.limits.totalBytes || content.inflightBytes + bytes > this.limits.perFileBytes)) return false;
    while (content.cachedBytes + content.inflightBytes + bytes > this.limits.perFileBytes && content.order.size > 0) {
      this.evictOldestOf(content);
    }
    while (this.lru.calculatedSize + this.inflightBytes + bytes > this.limits.totalBytes && this.lru.size > 0) this.lru.pop();
    this.inflightBytes += bytes;
    content.inflightBytes += bytes;
    return true;
  }

  /** Returns a reservation (the request finished or failed). */
  settle(content: FileContent, bytes: number): void {
    this.inflightBytes -= bytes;
    content.inflightBytes -= bytes;
  }

  /** Keeps a segment, unless its file version was superseded meanwhile. */
  insert(segment: Segment): void {
    const content = segment.content;
    if (content.superseded || segment.data.length === 0) return;
    for (let b = segment.firstBlock; b <= segment.lastBlock; b++) {
      const old = content.blocks.get(b);
      if (old) this.lru.delete(old.key);
    }
    while (content.cachedBytes + content.inflightBytes + segment.data.length > this.limits.perFileBytes && content.order.size > 0) {
      this.evictOldestOf(content);
    }
    while (this.lru.calculatedSize + this.inflightBytes + segment.data.length > this.limits.totalBytes && this.lru.size > 0) this.lru.pop();
    for (let b = segment.firstBlock; b <= segment.lastBlock; b++) content.blocks.set(b, segment);
    content.order.set(segment, true);
    content.cachedBytes += segment.data.length;
    this.lru.set(segment.key, segment);
  }

  /** Evicts a version's least recently used segments until it holds at most `keepBytes`. */
  trim(content: FileContent, keepBytes: number): void {
    while (content.cachedBytes > keepBytes && content.order.size > 0) this.evictOldestOf(content);
  }

  /** Drops a version's segments that end at or before `offset` (what a sequential reader left behind). */
  dropBefore(content: FileContent, offset: number): void {
    // Deleting the entry being visited is safe while iterating a Map.
    for (const segment of content.order.keys()) {
      if (segment.start + segment.data.length <= offset) this.lru.delete(segment.key);
    }
  }

  /** Drops every cached segment of a file version. */
  drop(content: FileContent): void {
    for (const segment of [...content.order.keys()]) this.lru.delete(segment.key);
  }

  stats(): BlockCacheStats {
    return { cachedBytes: this.lru.calculatedSize, inflightBytes: this.inflightBytes, segments: this.lru.size };
  }

  private evictOldestOf(content: FileContent): void {
    const oldest = content.order.keys().next().value;
    if (oldest) this.lru.delete(oldest.key);
  }

  private unlink(segment: Segment): void {
    const content = segment.content;
    if (!content.order.delete(segment)) return;
    for (let b = segment.firstBlock; b <= segment.lastBlock; b++) {
      if (content.blocks.get(b) === segment) content.blocks.delete(b);
    }
    content.cachedBytes -= segment.data.length;
    if (content.order.size === 0) this.onEmpty(content);
  }
}
