// How often the filesystem layer's caches answered without the server: plain
// counters, bumped where a cache is consulted, read by whoever reports them
// (the mount's metrics read them when scraped). Counting here keeps metric
// libraries out of this layer.
//   attributes  a path's entry (or its absence): from the metadata cache
//               (a fresh entry, a fresh "no such file", or the parent's fresh
//               listing) = hit; asked of the server (stat, or the parent
//               listed again) = miss. Files with pending local changes are
//               answered by the write layer and not counted.
//   listings    a folder's listing: cached and fresh = hit; fetched = miss.
//   blocks      a 256 KiB block a read needs: in memory, on disk, or already
//               being fetched (read-ahead got there first) = hit; fetched
//               for this read = miss.
//   disk        a block a read copied from the content cache on disk = hit;
//               a block fetched from the server while the disk cache was
//               on (for a read or ahead of one) = miss.
export interface HitsAndMisses {
  hits: number;
  misses: number;
}

export type CacheName = 'attributes' | 'listings' | 'blocks' | 'disk';

export class CacheCounters {
  readonly attributes: HitsAndMisses = { hits: 0, misses: 0 };
  readonly listings: HitsAndMisses = { hits: 0, misses: 0 };
  readonly blocks: HitsAndMisses = { hits: 0, misses: 0 };
  readonly disk: HitsAndMisses = { hits: 0, misses: 0 };

  /** A copy, by cache. */
  snapshot(): Record<CacheName, HitsAndMisses> {
    return { attributes: { ...this.attributes }, listings: { ...this.listings }, blocks: { ...this.blocks }, disk: { ...this.disk } };
  }
}
