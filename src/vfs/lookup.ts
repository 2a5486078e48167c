// The one place that decides what a path looks like now. Order of authority:
//   1. the write layer's local state (a pending file shows its local size
//      and mtime; a locally removed one is gone),
//   2. the metadata cache (fresh entry, fresh negative, or the parent's fresh
//      listing — a name missing from a fresh complete listing does not exist),
//   3. the server, one request per path at a time (single-flight). When the
//      parent's listing expired only recently and fits in one page, the
//      parent is listed again instead of asking for this one name: a program
//      walking a folder (cp -r, find, ls -l again) then costs one request
//      per folder and TTL, not one per name once the listing went stale.
// Listings work the same way. Every mutation made through the filesystem
// reports here (applied*), which updates the cache and detaches any request
// in flight whose answer it made outdated. Refresh and the poll for remote
// changes (remote-changes/) ask the server through here too (relist,
// changedSince, statNow), so their answers are detached the same way.
import { type FilesClient, type RemoteEntry, rootEntry, NotFoundError } from '../client/index.js';
import type { Logger } from '../log/logger.js';
import { parentPath } from '../path/index.js';
import { FsError } from './fs-error.js';
import { CacheCounters } from './cache-counters.js';
import { sameEntry } from './metadata/folder-changes.js';
import { buildListing, type Listing } from './metadata/listing.js';
import type { MetadataCache } from './metadata/metadata-cache.js';
import type { ResolvedOptions } from './options.js';
import { isChildKey, keyOf } from './path-mapper.js';
import { SingleFlight } from './single-flight.js';
import type { WriteLayer } from './writes.js';

export type LocalOverlay = Pick<WriteLayer, 'localEntry' | 'localChildren' | 'dependsOnListing'>;

const NO_OVERLAY: LocalOverlay = { localEntry: () => undefined, localChildren: () => [] };

export function notFound(path: string, cause?: unknown): FsError {
  return new FsError('ENOENT', `${path || '/'}: no such file or folder`, cause === undefined ? undefined : { cause });
}

/**
 * How long after its fetch an expired listing still makes a lookup list the
 * folder again rather than stat one name: long enough to cover a walk of a
 * big tree (a 1,000-file folder copied at 20 ms per file takes ~40 s), short
 * enough that a lone stat long after a listing stays a small request.
 */
const RELIST_WINDOW_MS = 60_000;

/** One fetch of a folder's complete listing. */
export interface FetchedListing {
  listing: Listing;
  /** False when a change of ours made the answer outdated before it came: it was not cached. */
  stored: boolean;
  /** Listing pages (requests) it took. */
  pages: number;
}

/** What a "changed since" look at a folder found. */
export interface ChangedSince {
  /** Entries that differ from what was cached (and were stored), in the server's answer order. */
  changed: RemoteEntry[];
  /** Listing pages (requests) it took. */
  pages: number;
  /** False when a change of ours made the answer outdated before it came: nothing was applied. */
  applied: boolean;
}

export class Lookup {
  private readonly stats = new SingleFlight<RemoteEntry>();
  private readonly lists = new SingleFlight<FetchedListing>();
  /** "Changed since" looks at folders, detached by our changes like listings. */
  private readonly sinceLooks = new SingleFlight<ChangedSince>();
  private readonly siteRoot: RemoteEntry;
  /** Set by the filesystem once the write layer exists. */
  overlay: LocalOverlay = NO_OVERLAY;

  constructor(
    private readonly client: FilesClient,
    private readonly cache: MetadataCache,
    private readonly options: Pick<ResolvedOptions, 'clock' | 'listPageSize' | 'attrTtlMs' | 'dirTtlMs'>,
    private readonly log: Logger,
    private readonly counters: CacheCounters = new CacheCounters(),
  ) {
    this.siteRoot = rootEntry(new Date(options.clock()));
  }

  /** The entry for a remote path; ENOENT when it does not exist. */
  async resolve(path: string): Promise<RemoteEntry> {
    await this.listedFirst(path);
    const local = this.overlay.localEntry(path);
    if (local === null) throw notFound(path);
    if (local) return local;
    if (path === '') return this.siteRoot;
    const known = this.cache.known(path);
    if (known !== undefined) this.counters.attributes.hits++;
    if (known === null) throw notFound(path);
    if (known) return known;
    this.counters.attributes.misses++;
    const relisted = await this.relisted(path);
    if (relisted !== undefined) {
      if (relisted === null) throw notFound(path);
      return relisted;
    }
    return this.stat(path);
  }

  /** Lists the parent first when the write layer decides `path` from that listing (WriteLayer.dependsOnListing). */
  private async listedFirst(path: string): Promise<void> {
    if (path === '' || !this.overlay.dependsOnListing?.(path)) return;
    const parent = parentPath(path);
    if (!this.cachedListing(parent)) await this.listing(parent);
  }

  /**
   * The entry from a new listing of the parent when its previous listing
   * expired recently and fit in one page (see RELIST_WINDOW_MS); undefined
   * when the parent is not listed again (or the answer could not be cached).
   */
  private async relisted(path: string): Promise<RemoteEntry | null | undefined> {
    if (this.options.dirTtlMs <= 0) return undefined;
    const parent = parentPath(path);
    const previous = this.cache.recentListing(keyOf(parent), RELIST_WINDOW_MS);
    if (!previous || previous.children.size >= this.options.listPageSize) return undefined;
    try {
      await this.listing(parent);
    } catch (err) {
      if (err instanceof FsError && err.code === 'ENOENT') return null;
      throw err;
    }
    // Answered from the listing just stored (undefined if a change of ours made it outdated).
    return this.cache.known(path);
  }

  /**
   * The entry for opening a file (close-to-open): like resolve, except that
   * with attrTtlMs 0 the server is always asked once, even when a fresh
   * listing knows the file.
   */
  async resolveForOpen(path: string): Promise<RemoteEntry> {
    if (this.options.attrTtlMs > 0 || path === '') return this.resolve(path);
    await this.listedFirst(path);
    const local = this.overlay.localEntry(path);
    if (local === null) throw notFound(path);
    if (local) return local;
    this.counters.attributes.misses++;
    return this.stat(path);
  }

  /** Like resolve, but null instead of ENOENT. */
  async find(path: string): Promise<RemoteEntry | null> {
    try {
      return await this.resolve(path);
    } catch (err) {
      if (err instanceof FsError && err.code === 'ENOENT') return null;
      throw err;
    }
  }

  /** What is known without asking the server: entry, null = missing, undefined = unknown. */
  cached(path: string): RemoteEntry | null | undefined {
    const local = this.overlay.localEntry(path);
    if (local !== undefined) return local;
    if (path === '') return this.siteRoot;
    return this.cache.known(path);
  }

  /** The server's fresh listing of a folder, if cached (no request). */
  cachedListing(dirPath: string): Listing | undefined {
    return this.cache.listing(keyOf(dirPath));
  }

  /** The folder's children as shown (server listing with local state on top). */
  async children(dirPath: string): Promise<RemoteEntry[]> {
    const listing = await this.listing(dirPath);
    const local = this.overlay.localChildren(dirPath);
    const out: RemoteEntry[] = [];
    if (local.length === 0) {
      for (const entry of listing.children.values()) if (this.overlay.localEntry(entry.path) !== null) out.push(entry);
      return out;
    }
    const mine = new Map(local.map((e) => [keyOf(e.path), e]));
    for (const [key, entry] of listing.children) {
      const over = mine.get(key);
      if (over) {
        out.push(over);
        mine.delete(key);
      } else if (this.overlay.localEntry(entry.path) !== null) {
        out.push(entry);
      }
    }
    out.push(...mine.values());
    return out;
  }

  /** The server's complete listing of a folder (cached, or fetched once for all callers). */
  async listing(dirPath: string): Promise<Listing> {
    const key = keyOf(dirPath);
    const cached = this.cache.listing(key);
    if (cached) {
      this.counters.listings.hits++;
      return cached;
    }
    this.counters.listings.misses++;
    return (await this.fetchListing(dirPath)).listing;
  }

  /**
   * Lists a folder now, whatever is cached (refresh, poll), and caches the
   * answer; joins a fetch already in flight. ENOENT when the folder is gone.
   */
  relist(dirPath: string): Promise<FetchedListing> {
    return this.fetchListing(dirPath);
  }

  private fetchListing(dirPath: string): Promise<FetchedListing> {
    return this.lists.run(keyOf(dirPath), async (flight) => {
      const at = this.options.clock();
      const entries: RemoteEntry[] = [];
      let pages = 0;
      try {
        for await (const page of this.client.list(dirPath, { perPage: this.options.listPageSize })) {
          pages++;
          for (const entry of page) entries.push(entry);
        }
      } catch (err) {
        if (err instanceof NotFoundError) {
          if (!flight.stale) this.cache.storeMissing(dirPath, at);
          throw notFound(dirPath, err);
        }
        throw err;
      }
      // An empty folder comes without a page; its listing still took one request.
      pages = Math.max(pages, 1);
      // Outdated by our own change meanwhile: answer the callers, cache nothing.
      if (flight.stale) return { listing: buildListing(dirPath, entries, at, this.log), stored: false, pages };
      return { listing: this.cache.storeListing(dirPath, entries, at), stored: true, pages };
    });
  }

  /**
   * Asks the server which entries of a folder changed after `since` (the
   * listing filter `type` + `modified_at_datetime`: one request for its
   * folders and one for its files, more pages only when more changed), and
   * caches those that differ from what is cached. Reveals new and changed
   * entries, never deletions. ENOENT when the folder is gone.
   */
  changedSince(dirPath: string, since: Date): Promise<ChangedSince> {
    return this.sinceLooks.run(keyOf(dirPath), async (flight) => {
      const at = this.options.clock();
      const found: RemoteEntry[] = [];
      let pages = 0;
      try {
        for (const type of ['folder', 'file'] as const) {
          let typePages = 0;
          for await (const page of this.client.list(dirPath, { perPage: this.options.listPageSize, filter: { type, modifiedAfter: since } })) {
            typePages++;
            for (const entry of page) found.push(entry);
          }
          pages += Math.max(typePages, 1);
        }
      } catch (err) {
        if (err instanceof NotFoundError) {
          if (!flight.stale) this.cache.storeMissing(dirPath, at);
          throw notFound(dirPath, err);
        }
        throw err;
      }
      if (flight.stale) return { changed: [], pages, applied: false };
      const changed: RemoteEntry[] = [];
      for (const entry of found) {
        const known = this.cache.lastKnown(entry.path);
        if (known && sameEntry(known, entry)) continue;
        changed.push(entry);
        this.cache.storeEntry(entry, at);
      }
      return { changed, pages, applied: true };
    });
  }

  /** Asks the server about one path now, whatever is cached (refresh); ENOENT when it is gone. */
  statNow(path: string): Promise<RemoteEntry> {
    if (path === '') return Promise.resolve(this.siteRoot);
    return this.stat(path);
  }

  private stat(path: string): Promise<RemoteEntry> {
    return this.stats.run(keyOf(path), async (flight) => {
      const at = this.options.clock();
      try {
        const entry = await this.client.stat(path);
        if (!flight.stale) this.cache.storeEntry(entry, at, path);
        return entry;
      } catch (err) {
        if (err instanceof NotFoundError) {
          if (!flight.stale) this.cache.storeMissing(path, at);
          throw notFound(path, err);
        }
        throw err;
      }
    });
  }

  // ---- our own changes --------------------------------------------------------

  /** `entry` now exists at its path (created, changed, moved, uploaded). */
  appliedEntry(entry: RemoteEntry): void {
    this.detach(entry.path);
    this.cache.applyEntry(entry);
  }

  /**
   * We just created this folder: it is empty, so its listing is known without
   * asking (the kernel looks up every name `cp -r` creates in it; each would
   * otherwise be a request answering "not found").
   */
  appliedNewFolder(path: string): void {
    this.detach(path);
    this.cache.storeListing(path, [], this.options.clock());
  }

  /**
   * The path no longer exists. `subtree`: forget everything cached below it
   * too (a folder moved away); not needed for a file or an emptied folder,
   * and it costs a pass over the cache.
   */
  appliedRemoval(path: string, subtree = false): void {
    this.detach(path);
    if (subtree) {
      this.detachBelow(path);
      this.cache.invalidateBelow(path);
    }
    this.cache.applyRemoval(path);
  }

  /**
   * Forget what is known about `path` and its parent's listing, and with
   * `subtree` everything below it (after a change we cannot describe exactly).
   */
  invalidate(path: string, subtree = false): void {
    this.detach(path);
    this.cache.invalidate(path);
    const parent = parentPath(path);
    if (path !== '') {
      this.lists.forget(keyOf(parent));
      this.cache.forgetListing(parent);
    }
    if (subtree) {
      this.detachBelow(path);
      this.cache.invalidateBelow(path);
    }
  }

  /**
   * Forget a folder as refresh does: its own entry and listing, its parent's
   * listing, and what is cached of its entries: their attributes and "no
   * such file" entries, or with `recursive` everything below it.
   */
  forgetFolder(path: string, recursive: boolean): void {
    this.invalidate(path, recursive);
    if (recursive) return;
    const key = keyOf(path);
    this.stats.forgetWhere((k) => isChildKey(k, key));
    this.cache.invalidateChildren(path);
  }

  /** Forget everything strictly below a folder (its subtree moved or was replaced). */
  invalidateBelow(path: string): void {
    this.detachBelow(path);
    this.cache.invalidateBelow(path);
  }

  /** Detaches requests in flight whose answer a change at `path` makes outdated. */
  private detach(path: string): void {
    const key = keyOf(path);
    this.stats.forget(key);
    this.lists.forget(key);
    this.sinceLooks.forget(key);
    if (path !== '') {
      this.lists.forget(keyOf(parentPath(path)));
      this.sinceLooks.forget(keyOf(parentPath(path)));
    }
  }

  private detachBelow(path: string): void {
    const key = keyOf(path);
    const below = (k: string): boolean => key === '' ? k !== '' : k.startsWith(key + '/');
    this.stats.forgetWhere(below);
    this.lists.forgetWhere(below);
    this.sinceLooks.forgetWhere(below);
  }
}
