// The one place that decides what a path looks like now. Order of authority:
//   1. the write layer's local state (a pending file or folder shows its
//      local state; a locally removed one is gone),
//   2. the metadata cache (fresh entry, fresh negative, or the parent's fresh
//      listing — a name missing from a fresh complete listing does not exist),
//   3. the server, one request per path at a time (single-flight). When the
//      parent was listed before (at any age) and its listing has expired, the
//      parent is listed again instead of asking for this one name (at once
//      for a folder of one page, at the second name missed in a bigger one):
//      a program walking a folder (cp -r, find, ls -l again) then costs one
//      listing per folder and TTL, not one request per name.
//   4. when the server cannot answer (unreachable, or a transient failure:
//      network, timeout, 429, 5xx), what was last seen: the expired entry,
//      negative or listing the cache still holds (server-state.ts). While the
//      client counts the server as unreachable this answers at once, without
//      a request. A definite answer (not found, refused) always counts.
// A folder that holds pending files or folders of the mount exists, whatever
// the server says (a folder removed or replaced on the server while a file
// in it waits to upload: the file stays visible at its path), and a folder
// that exists only locally (a pending mkdir) is listed without a request.
// A folder the mount created knows all it holds: for a while after its mkdir
// each change the mount makes in it re-confirms its listing (touched()), so
// a program filling it asks the server nothing.
// Listings work the same way. Every mutation made through the filesystem
// reports here (applied*), which updates the cache and detaches any request
// in flight whose answer it made outdated. Refresh and the poll for remote
// changes (remote-changes/) ask the server through here too (relist,
// changedSince, statNow), so their answers are detached the same way.
import { LRUCache } from 'lru-cache';
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
import { isTransientFailure, ServerState } from './server-state.js';
import { SingleFlight } from './single-flight.js';
import type { WriteLayer } from './writes.js';

export type LocalOverlay = Pick<WriteLayer, 'localEntry' | 'localChildren' | 'localFoldersIn' | 'dependsOnListing' | 'unpublishedFolder' | 'impliedFolder' | 'impliedChildren'>;

const NO_OVERLAY: LocalOverlay = {
  localEntry: () => undefined,
  localChildren: () => [],
  localFoldersIn: () => [],
  unpublishedFolder: () => false,
  impliedFolder: () => undefined,
  impliedChildren: () => [],
};

export function notFound(path: string, cause?: unknown): FsError {
  return new FsError('ENOENT', `${path || '/'}: no such file or folder`, cause === undefined ? undefined : { cause });
}

/**
 * Names missed in an expired listing of more than one page before the
 * folder is listed again: the first miss is one stat (a lone lookup long
 * after a listing stays one small request), the second shows the folder is
 * being walked, and one listing then answers every name that follows.
 */
const BIG_FOLDER_MISSES_TO_RELIST = 2;

/** Folders created by this mount whose listing its own changes keep fresh (most recent first). */
const CREATED_FOLDERS_MAX = 10_000;
/**
 * How long after its mkdir a folder's listing is kept fresh by the mount's
 * own changes in it. A cp -r, tar -x or unzip fills each folder it makes
 * within seconds; a folder the mount keeps writing into for longer (a log
 * folder, an inbox) is shared like any other, so what others put there or
 * remove shows within --dir-ttl however busy the mount is there.
 */
const CREATED_FOLDER_TRUST_MS = 60_000;

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
  /** Folders created through this mount (mkdir), by key: their listing is the mount's own. */
  private readonly created = new LRUCache<string, number>({ max: CREATED_FOLDERS_MAX });
  readonly server: ServerState;
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
    this.server = new ServerState(client, log);
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
    if (known) return known;
    if (known === null) return this.impliedOr(path, null);
    this.counters.attributes.misses++;
    if (this.server.down) {
      const stale = this.cache.known(path, 'any-age');
      if (stale !== undefined) {
        this.server.servedStale(path, this.client.health?.lastError ?? 'unreachable');
        return this.impliedOr(path, stale);
      }
    }
    try {
      const relisted = await this.relisted(path);
      if (relisted !== undefined) return this.impliedOr(path, relisted);
      return await this.stat(path);
    } catch (err) {
      if (err instanceof FsError && err.code === 'ENOENT') return this.impliedOr(path, null, err);
      if (!isTransientFailure(err)) throw err;
      const stale = this.cache.known(path, 'any-age');
      if (stale !== undefined) {
        this.server.servedStale(path, err);
        return this.impliedOr(path, stale);
      }
      const implied = this.overlay.impliedFolder(path);
      if (implied) return implied;
      throw err;
    }
  }

  /** `answer`, except that a folder holding pending entries exists even when the server has nothing there. */
  private impliedOr(path: string, answer: RemoteEntry | null, cause?: unknown): RemoteEntry {
    if (answer) return answer;
    const implied = this.overlay.impliedFolder(path);
    if (implied) return implied;
    throw notFound(path, cause);
  }

  /** Lists the parent first when the write layer decides `path` from that listing (WriteLayer.dependsOnListing). */
  private async listedFirst(path: string): Promise<void> {
    if (path === '' || !this.overlay.dependsOnListing?.(path)) return;
    const parent = parentPath(path);
    if (!this.cachedListing(parent)) await this.listing(parent);
  }

  /**
   * The entry from a new listing of the parent when the parent was listed
   * before and that listing expired (see BIG_FOLDER_MISSES_TO_RELIST);
   * undefined when the parent is not listed again (or the answer could not
   * be cached).
   */
  private async relisted(path: string): Promise<RemoteEntry | null | undefined> {
    if (this.options.dirTtlMs <= 0) return undefined;
    const parent = parentPath(path);
    const previous = this.cache.staleListing(keyOf(parent));
    if (!previous) return undefined;
    if (previous.children.size >= this.options.listPageSize) {
      previous.missesSinceExpiry = (previous.missesSinceExpiry ?? 0) + 1;
      if (previous.missesSinceExpiry < BIG_FOLDER_MISSES_TO_RELIST) return undefined;
    }
    let listing: Listing;
    let stale: boolean;
    try {
      ({ listing, stale } = await this.listingOrLastSeen(parent));
    } catch (err) {
      if (err instanceof FsError && err.code === 'ENOENT') return null;
      throw err;
    }
    // Answered from the listing just stored (undefined if a change of ours made it outdated).
    const known = this.cache.known(path);
    if (known !== undefined || !stale) return known;
    // The server did not answer: the listing as last seen.
    return listing.children.get(keyOf(path)) ?? null;
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
    try {
      return await this.stat(path);
    } catch (err) {
      if (!isTransientFailure(err)) throw err;
      const stale = this.cache.known(path, 'any-age');
      if (!stale) throw err;
      this.server.servedStale(path, err);
      return stale;
    }
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
    const known = this.cache.known(path);
    return known === null ? this.overlay.impliedFolder(path) ?? null : known;
  }

  /** The server's fresh listing of a folder, if cached (no request). */
  cachedListing(dirPath: string): Listing | undefined {
    return this.cache.listing(keyOf(dirPath));
  }

  /**
   * A program is reading this folder's files in order (folder read-ahead):
   * once the listing is past half its TTL it is listed again in the
   * background, so that the program's lookups and the read-ahead never wait
   * for an expired listing to be fetched (with its retries, when the server
   * fails). At most one listing per folder and half TTL while the walk lasts;
   * a listing already in flight is joined.
   */
  refreshAhead(dirPath: string): void {
    const ttl = this.options.dirTtlMs;
    const listing = this.cachedListing(dirPath);
    if (ttl <= 0 || !listing || this.options.clock() - listing.fetchedAt < ttl / 2 || this.overlay.unpublishedFolder(dirPath)) return;
    this.fetchListing(dirPath).catch((err: unknown) => {
      this.log.debug('listing %s ahead of its expiry failed: %s', dirPath || '/', err instanceof Error ? err.message : String(err));
    });
  }

  /**
   * How many folders a folder shows inside it (its link count is 2 more),
   * without a request: those of its cached listing (none for a folder that
   * exists only here), plus the folders that the listing lacks and this
   * mount shows there (made here, or holding pending entries); undefined
   * when the listing is not cached.
   */
  shownSubfolders(dirPath: string): number | undefined {
    const listing = this.cachedListing(dirPath);
    if (!listing && !this.overlay.unpublishedFolder(dirPath)) return undefined;
    const unlisted = new Set<string>();
    for (const folder of [...this.overlay.localFoldersIn(dirPath), ...this.overlay.impliedChildren(dirPath)]) {
      const key = keyOf(folder.path);
      if (listing?.children.get(key)?.type !== 'directory') unlisted.add(key);
    }
    return (listing?.subfolders ?? 0) + unlisted.size;
  }

  /** The folder's children as shown (server listing with local state on top). */
  async children(dirPath: string): Promise<RemoteEntry[]> {
    const listing = await this.listing(dirPath);
    const local = this.overlay.localChildren(dirPath);
    const implied = this.overlay.impliedChildren(dirPath);
    const out: RemoteEntry[] = [];
    if (local.length === 0 && implied.length === 0) {
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
    // Folders that hold pending entries but that neither the server nor the write layer lists.
    for (const folder of implied) {
      const key = keyOf(folder.path);
      if (!listing.children.has(key) && !local.some((e) => keyOf(e.path) === key)) out.push(folder);
    }
    return out;
  }

  /** The server's complete listing of a folder (cached, or fetched once for all callers). */
  async listing(dirPath: string): Promise<Listing> {
    return (await this.listingOrLastSeen(dirPath)).listing;
  }

  /**
   * The listing, and whether it is one last seen (stale) because the server
   * could not be asked. A folder that exists only locally lists empty without
   * a request; one that holds pending entries lists empty when the server
   * has no such folder.
   */
  private async listingOrLastSeen(dirPath: string): Promise<{ listing: Listing; stale: boolean }> {
    const key = keyOf(dirPath);
    const cached = this.cache.listing(key);
    if (cached) {
      this.counters.listings.hits++;
      return { listing: cached, stale: false };
    }
    if (this.overlay.unpublishedFolder(dirPath)) return { listing: this.emptyListing(dirPath), stale: false };
    this.counters.listings.misses++;
    const lastSeen = this.cache.staleListing(key);
    if (lastSeen && this.server.down) {
      this.server.servedStale(dirPath, this.client.health?.lastError ?? 'unreachable');
      return { listing: lastSeen, stale: true };
    }
    try {
      return { listing: (await this.fetchListing(dirPath)).listing, stale: false };
    } catch (err) {
      const missing = err instanceof FsError && err.code === 'ENOENT';
      if (missing || isTransientFailure(err)) {
        if (this.overlay.impliedFolder(dirPath)) return { listing: (!missing && lastSeen) || this.emptyListing(dirPath), stale: true };
      }
      if (!isTransientFailure(err)) throw err;
      if (!lastSeen) throw err;
      this.server.servedStale(dirPath, err);
      return { listing: lastSeen, stale: true };
    }
  }

  private emptyListing(dirPath: string): Listing {
    return buildListing(dirPath, [], this.options.clock(), this.log);
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
    this.created.set(keyOf(path), this.options.clock());
  }

  /**
   * A folder we meant to create was there already (made elsewhere): it may
   * hold what others put there, so its listing is asked again.
   */
  appliedExistingFolder(entry: RemoteEntry): void {
    this.appliedEntry(entry);
    this.created.delete(keyOf(entry.path));
    this.detachBelow(entry.path);
    this.cache.invalidateBelow(entry.path);
    this.lists.forget(keyOf(entry.path));
    this.cache.forgetListing(entry.path);
  }

  /**
   * The mount changed something directly in this folder (a file created, a
   * folder made). In a folder the mount created, that re-confirms the
   * listing: the mount knows everything in it (others' changes show once
   * the mount has left it alone for the TTL).
   */
  touched(dirPath: string): void {
    const made = this.created.get(keyOf(dirPath));
    if (made === undefined) return;
    if (this.options.clock() - made < CREATED_FOLDER_TRUST_MS) this.cache.refreshFolder(dirPath);
    else this.created.delete(keyOf(dirPath));
  }

  /**
   * The path no longer exists. `subtree`: forget everything cached below it
   * too (a folder moved away); not needed for a file or an emptied folder,
   * and it costs a pass over the cache.
   */
  appliedRemoval(path: string, subtree = false): void {
    this.detach(path);
    this.created.delete(keyOf(path));
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
