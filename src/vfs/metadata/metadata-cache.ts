// The metadata cache: what we know about remote paths and for how long we
// trust it. Three kinds, each keyed by the path's comparison key
// (normalizeForComparison), so every case or accent variant hits the same
// entry:
//   - attributes: the RemoteEntry of a path (from stat, from a listing, or
//     from our own change), trusted for attrTtlMs;
//   - negatives: "this path does not exist", trusted for negativeTtlMs;
//   - listings: a folder's complete listing, trusted for dirTtlMs. A fresh
//     listing also answers lookups of its children, positively or negatively.
// A TTL of 0 disables that kind. Entries are bounded with lru-cache (count of
// entries; a listing weighs its number of children), so memory stays bounded
// whatever is browsed. Freshness is measured with the injected clock from the
// moment the request started.
//
// Our own changes go through apply*/invalidate* at once (read-your-writes):
// the entry, the parent's listing and the negative cache are fixed together,
// and a folder moved away drops everything cached below it.
import { LRUCache } from 'lru-cache';
import type { RemoteEntry } from '../../client/index.js';
import type { Logger } from '../../log/logger.js';
import { parentPath } from '../../path/index.js';
import type { Clock } from '../options.js';
import { keyOf } from '../path-mapper.js';
import { buildListing, type Listing } from './listing.js';

interface Timed<T> {
  value: T;
  at: number;
}

export interface MetadataCacheOptions {
  attrTtlMs: number;
  dirTtlMs: number;
  negativeTtlMs: number;
  maxEntries: number;
  clock: Clock;
  logger: Logger;
  /** Told about every entry learned from the server or from our changes (content versions). */
  onEntry?: (entry: RemoteEntry) => void;
}

export class MetadataCache {
  private readonly entries: LRUCache<string, Timed<RemoteEntry>>;
  private readonly negatives: LRUCache<string, number>;
  private readonly listings: LRUCache<string, Listing>;

  constructor(private readonly options: MetadataCacheOptions) {
    this.entries = new LRUCache({ max: options.maxEntries });
    this.negatives = new LRUCache({ max: options.maxEntries });
    // A listing weighs what it holds; +1 so an empty folder still counts.
    this.listings = new LRUCache({ maxSize: options.maxEntries, sizeCalculation: (l) => l.children.size + 1 });
  }

  private fresh(at: number, ttl: number): boolean {
    return ttl > 0 && this.options.clock() - at < ttl;
  }

  // ---- queries (fresh data only) -------------------------------------------

  /** The fresh entry for a key, if any. */
  entry(key: string): RemoteEntry | undefined {
    const hit = this.entries.get(key);
    return hit && this.fresh(hit.at, this.options.attrTtlMs) ? hit.value : undefined;
  }

  /** True when the key is freshly known not to exist. */
  isMissing(key: string): boolean {
    const at = this.negatives.get(key);
    return at !== undefined && this.fresh(at, this.options.negativeTtlMs);
  }

  /** The folder's fresh, complete listing, if any. */
  listing(dirKey: string): Listing | undefined {
    const hit = this.listings.get(dirKey);
    return hit && this.fresh(hit.fetchedAt, this.options.dirTtlMs) ? hit : undefined;
  }

  /**
   * The folder's listing if it was fetched less than `maxAgeMs` ago, fresh or
   * not (a stale listing says how big the folder was and that it is being
   * browsed; it answers no lookup).
   */
  recentListing(dirKey: string, maxAgeMs: number): Listing | undefined {
    const hit = this.listings.peek(dirKey);
    return hit && this.options.clock() - hit.fetchedAt < maxAgeMs ? hit : undefined;
  }

  /**
   * What the cache alone says about a path: its entry, null when it is known
   * not to exist (negative entry, or absent from the parent's fresh listing),
   * undefined when only the server can tell.
   */
  known(path: string): RemoteEntry | null | undefined {
    const here = this.knownHere(path);
    if (here !== undefined) return here;
    // Below a folder known to be missing (or a file), nothing exists.
    for (let up = parentPath(path); up !== ''; up = parentPath(up)) {
      const ancestor = this.knownHere(up);
      if (ancestor === null || ancestor?.type === 'file') return null;
      if (ancestor) break;
    }
    return undefined;
  }

  private knownHere(path: string): RemoteEntry | null | undefined {
    const key = keyOf(path);
    const entry = this.entry(key);
    if (entry) return entry;
    if (this.isMissing(key)) return null;
    if (path === '') return undefined;
    const parent = this.listing(keyOf(parentPath(path)));
    if (parent) return parent.children.get(key) ?? null;
    return undefined;
  }

  // ---- answers from the server ----------------------------------------------

  /** A stat result; `at` is when the request started. */
  storeEntry(entry: RemoteEntry, at: number, asked = entry.path): void {
    const key = keyOf(asked);
    this.negatives.delete(key);
    if (this.options.attrTtlMs > 0) this.entries.set(key, { value: entry, at });
    this.updateParentListing(asked, key, entry);
    this.options.onEntry?.(entry);
  }

  /** A stat or listing that answered "not found". */
  storeMissing(path: string, at: number): void {
    const key = keyOf(path);
    this.entries.delete(key);
    this.listings.delete(key);
    if (this.options.negativeTtlMs > 0) this.negatives.set(key, at);
    this.updateParentListing(path, key, null);
  }

  /** A complete listing; also fills the attribute cache with every child. */
  storeListing(path: string, children: Iterable<RemoteEntry>, at: number): Listing {
    const listing = buildListing(path, children, at, this.options.logger);
    const key = keyOf(path);
    this.negatives.delete(key);
    if (this.options.dirTtlMs > 0) this.listings.set(key, listing);
    const keepAttrs = this.options.attrTtlMs > 0;
    for (const [childKey, entry] of listing.children) {
      if (keepAttrs) this.entries.set(childKey, { value: entry, at });
      this.negatives.delete(childKey);
      this.options.onEntry?.(entry);
    }
    return listing;
  }

  // ---- our own changes (read-your-writes) -----------------------------------

  /** A path now exists as `entry` (created, changed, moved here, uploaded). */
  applyEntry(entry: RemoteEntry): void {
    this.storeEntry(entry, this.options.clock());
  }

  /** A path no longer exists (deleted, moved away). See also invalidateBelow. */
  applyRemoval(path: string): void {
    this.storeMissing(path, this.options.clock());
  }

  /** Forgets what is known about one path (not its parent's listing). */
  invalidate(path: string): void {
    const key = keyOf(path);
    this.entries.delete(key);
    this.negatives.delete(key);
    this.listings.delete(key);
  }

  /** Forgets a folder's listing only. */
  forgetListing(path: string): void {
    this.listings.delete(keyOf(path));
  }

  /** Forgets everything cached strictly below a folder (its subtree). */
  invalidateBelow(path: string): void {
    const key = keyOf(path);
    const below = (k: string): boolean => key === '' ? k !== '' : k.startsWith(key + '/');
    const prune = <V extends {}>(cache: LRUCache<string, V>): void => {
      for (const k of [...cache.keys()]) if (below(k)) cache.delete(k);
    };
    prune(this.entries);
    prune(this.negatives);
    prune(this.listings);
  }

  /** Forgets everything (e.g. after a change whose extent is unknown). */
  clear(): void {
    this.entries.clear();
    this.negatives.clear();
    this.listings.clear();
  }

  private updateParentListing(path: string, key: string, entry: RemoteEntry | null): void {
    if (key === '') return;
    const parentKey = keyOf(parentPath(path));
    const parent = this.listings.get(parentKey);
    if (!parent) return;
    const before = parent.children.size;
    // Delete first so that a new name (case-only rename) takes the new spelling.
    if (parent.children.get(key)?.type === 'directory') parent.subfolders--;
    parent.children.delete(key);
    if (entry) parent.children.set(key, entry);
    if (entry?.type === 'directory') parent.subfolders++;
    // Re-set when the weight changed, so the LRU's bound stays exact.
    if (parent.children.size !== before) this.listings.set(parentKey, parent);
  }

  /** Sizes, for tests and status. */
  get stats(): { entries: number; negatives: number; listings: number; listedEntries: number } {
    return { entries: this.entries.size, negatives: this.negatives.size, listings: this.listings.size, listedEntries: this.listings.calculatedSize };
  }
}
