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
//
// Expired answers are not dropped: they stay until the LRU bound evicts them,
// so that when the server cannot be asked (unreachable, or failing
// transiently) the lookup can serve what was last seen (`known(path,
// 'any-age')`, `staleListing`) instead of an error.
import { LRUCache } from 'lru-cache';
import type { RemoteEntry } from '../../client/index.js';
import type { Logger } from '../../log/logger.js';
import { parentPath } from '../../path/index.js';
import type { Clock } from '../options.js';
import { isChildKey, keyOf } from '../path-mapper.js';
import { buildListing, type Listing } from './listing.js';

/** Which answers a query accepts: fresh ones only, or any the cache still holds. */
export type Freshness = 'fresh' | 'any-age';

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

  private fresh(at: number, ttl: number, freshness: Freshness = 'fresh'): boolean {
    return ttl > 0 && (freshness === 'any-age' || this.options.clock() - at < ttl);
  }

  // ---- queries (fresh data only, unless asked for any age) ---------------------

  /** The fresh entry for a key, if any. */
  entry(key: string, freshness: Freshness = 'fresh'): RemoteEntry | undefined {
    const hit = this.entries.get(key);
    return hit && this.fresh(hit.at, this.options.attrTtlMs, freshness) ? hit.value : undefined;
  }

  /** True when the key is freshly known not to exist. */
  isMissing(key: string, freshness: Freshness = 'fresh'): boolean {
    const at = this.negatives.get(key);
    return at !== undefined && this.fresh(at, this.options.negativeTtlMs, freshness);
  }

  /** The folder's fresh, complete listing, if any. */
  listing(dirKey: string): Listing | undefined {
    const hit = this.listings.get(dirKey);
    return hit && this.fresh(hit.fetchedAt, this.options.dirTtlMs) ? hit : undefined;
  }

  /**
   * The folder's last listing, however old (an expired listing says how big
   * the folder was and that it is being browsed, and it is what the mount
   * last saw of it when the server cannot be asked).
   */
  staleListing(dirKey: string): Listing | undefined {
    return this.listings.peek(dirKey);
  }

  /**
   * The last entry learned for a path, however old (from a stat or its
   * parent's listing): what a new answer from the server is compared with.
   */
  lastKnown(path: string): RemoteEntry | undefined {
    const key = keyOf(path);
    const hit = this.entries.peek(key);
    if (hit) return hit.value;
    if (path === '') return undefined;
    return this.listings.peek(keyOf(parentPath(path)))?.children.get(key);
  }

  /** The fresh listings of folders strictly below `path` (their paths as listed). */
  listingsBelow(path: string): string[] {
    const key = keyOf(path);
    const out: string[] = [];
    for (const [k, listing] of this.listings.entries()) {
      if (k === key || (key !== '' && !k.startsWith(key + '/'))) continue;
      if (this.fresh(listing.fetchedAt, this.options.dirTtlMs)) out.push(listing.path);
    }
    return out;
  }

  /**
   * What the cache alone says about a path: its entry, null when it is known
   * not to exist (negative entry, or absent from the parent's fresh listing),
   * undefined when only the server can tell. With 'any-age', expired answers
   * count too (what was last seen; for when the server cannot be asked).
   */
  known(path: string, freshness: Freshness = 'fresh'): RemoteEntry | null | undefined {
    const here = this.knownHere(path, freshness);
    if (here !== undefined) return here;
    // Below a folder known to be missing (or a file), nothing exists.
    for (let up = parentPath(path); up !== ''; up = parentPath(up)) {
      const ancestor = this.knownHere(up, freshness);
      if (ancestor === null || ancestor?.type === 'file') return null;
      if (ancestor) break;
    }
    return undefined;
  }

  private knownHere(path: string, freshness: Freshness): RemoteEntry | null | undefined {
    const key = keyOf(path);
    if (freshness === 'any-age') {
      // The newest of what is held: an entry, a negative, or the parent's listing.
      const entry = this.entries.get(key);
      const missingAt = this.negatives.get(key);
      const listing = path === '' ? undefined : this.listings.peek(keyOf(parentPath(path)));
      const candidates: Array<{ at: number; answer: RemoteEntry | null }> = [];
      if (entry && this.options.attrTtlMs > 0) candidates.push({ at: entry.at, answer: entry.value });
      if (missingAt !== undefined && this.options.negativeTtlMs > 0) candidates.push({ at: missingAt, answer: null });
      if (listing && this.options.dirTtlMs > 0) candidates.push({ at: listing.fetchedAt, answer: listing.children.get(key) ?? null });
      if (candidates.length === 0) return undefined;
      return candidates.reduce((a, b) => (b.at > a.at ? b : a)).answer;
    }
    const entry = this.entry(key);
    if (entry) return entry;
    if (this.isMissing(key)) return null;
    if (path === '') return undefined;
    const parent = this.listing(keyOf(parentPath(path)));
    if (parent) return parent.children.get(key) ?? null;
    return undefined;
  }

  /**
   * Our own change in a folder whose whole content the mount knows (one it
   * created): its listing and its entry count as fresh again from now.
   */
  refreshFolder(path: string): void {
    const now = this.options.clock();
    const key = keyOf(path);
    const listing = this.listings.peek(key);
    if (listing) listing.fetchedAt = now;
    const entry = this.entries.peek(key);
    if (entry) entry.at = now;
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

  /**
   * Forgets the attributes and "no such file" entries of a folder's
   * children (not their own listings). A pass over the cache: for refresh.
   */
  invalidateChildren(path: string): void {
    const key = keyOf(path);
    for (const k of [...this.entries.keys()]) if (isChildKey(k, key)) this.entries.delete(k);
    for (const k of [...this.negatives.keys()]) if (isChildKey(k, key)) this.negatives.delete(k);
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
