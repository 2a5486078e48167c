// --poll-interval: every S seconds, ask the server what changed in the
// folders in use, so that changes made elsewhere show without waiting for
// the TTLs, at a cost that is known and shown (`filesfs status`): every
// request is billed by Files.com.
//
// In use (what a poll asks about), at most MAX_POLLED_FOLDERS folders, those
// held open first, then the most recently used:
//   - a folder a program holds open (opendir), or holds a file open in,
//     while something about it is cached (its listing, or attributes at all:
//     --attr-ttl above 0);
//   - a folder whose listing is cached (fresh within --dir-ttl) and that a
//     program listed, or opened a file in, less than RECENT_USE_MS ago (or
//     two poll intervals, if longer). A folder listed once an hour ago is
//     not in use, whatever --dir-ttl says.
//
// How each folder is asked, the cheaper way per billed request:
//   - "changed since" (docs/files-api.md §13): the listing filter `type`
//     with `modified_at_datetime`, once for folders and once for files (the
//     filter takes one type): 2 requests, more only when more than a page
//     changed. It shows new and changed entries, not deletions or renames
//     away (nor, where the server keeps a moved entry's mtime, renames in).
//   - a full listing: ⌈entries / --per-page⌉ requests (1 up to 1,000
//     entries), and it shows everything, deletions included.
//   So a folder whose cached listing fits in 2 pages is listed in full at
//   every poll (cheaper than or as cheap as the filter, and complete); a
//   bigger one is asked "changed since" and listed in full every
//   FULL_LIST_EVERY-th poll, which is when deletions there are found. A
//   folder in use only through open handles, with no listing cached, is
//   asked "changed since" only: a deletion there shows when the attributes
//   expire (--attr-ttl), as without polling.
// "Since" is the start of the folder's previous look (or, the first time,
// when its listing was fetched, or the attribute TTL ago), less
// CLOCK_SLACK_MS, so that a server clock behind ours loses nothing; entries
// seen again are compared with what is cached and cost nothing more.
//
// What a poll finds goes through the same path as refresh (apply.ts): new
// attributes and listings, entries gone become "no such file", cached
// content of a changed or gone file is dropped, or detached while programs
// read it (they keep their version).
import { LRUCache } from 'lru-cache';
import { FsError } from '../fs-error.js';
import { changeCount, folderChanges } from '../metadata/folder-changes.js';
import { keyOf } from '../path-mapper.js';
import { applyRemovals, gone, type RemoteChangesDeps } from './apply.js';
import type { FolderUse } from './folder-use.js';

/** Most folders one poll asks about: a poll's cost stays bounded whatever was browsed. */
export const MAX_POLLED_FOLDERS = 100;
/** Requests of one "changed since" look: one for folders, one for files (the filter takes one type). */
export const CHANGED_SINCE_REQUESTS = 2;
/** A folder too big to list at every poll is listed in full every this many polls (deletions). */
export const FULL_LIST_EVERY = 10;
/** Use of a folder this recent makes it in use (unless two poll intervals are longer). */
export const RECENT_USE_MS = 60_000;
/** "Changed since" looks overlap by this much: a server clock up to a minute behind ours loses nothing. */
export const CLOCK_SLACK_MS = 60_000;
/** Folders asked at once. */
const CONCURRENCY = 4;
/** Folders whose last look is remembered (for "since" and the full-listing turn). */
const REMEMBERED_FOLDERS = 1_000;

/** The poll's counters, for `filesfs status` and metrics. */
export interface PollStatus {
  /** null when polling is off. */
  pollIntervalSeconds: number | null;
  /** API requests the poll made since the mount started (listing pages; retries are the client's). */
  pollRequests: number;
  /** Folders the last poll asked about. */
  polledFolders: number;
  /** When the last poll finished (ISO 8601), null before the first. */
  lastPollAt: string | null;
  polls: number;
  /** Entries found added, changed or gone since the mount started. */
  pollChanges: number;
  /** Folders a poll could not ask about (the server failed or could not be reached). */
  pollErrors: number;
  lastPollError: string | null;
}

/** One poll's outcome. */
export interface PollRound {
  folders: number;
  requests: number;
  changes: number;
  errors: number;
}

interface FolderState {
  /** Clock time the last look started. */
  checkedAt: number;
  /** "Changed since" looks since the last full listing. */
  sinceFull: number;
}

interface InUse {
  path: string;
}

export class ChangePoller {
  private readonly states = new LRUCache<string, FolderState>({ max: REMEMBERED_FOLDERS });
  private readonly counters = { requests: 0, changes: 0, errors: 0, polls: 0, lastFolders: 0 };
  private lastPollAt: number | null = null;
  private lastError: string | null = null;
  private running: Promise<PollRound> | undefined;
  private timer: NodeJS.Timeout | undefined;
  private stopped = true;

  constructor(private readonly deps: RemoteChangesDeps, private readonly use: FolderUse) {}

  private get intervalMs(): number {
    return this.deps.options.pollIntervalMs;
  }

  /** Starts polling every --poll-interval (nothing when it is 0). */
  start(): void {
    if (this.intervalMs <= 0 || !this.stopped) return;
    this.stopped = false;
    this.schedule();
  }

  /** Stops polling; resolves once a poll in progress has finished. */
  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    await this.running;
  }

  private schedule(): void {
    // The next poll starts an interval after this one ended: polls never overlap.
    this.timer = setTimeout(() => {
      void this.pollOnce().finally(() => {
        if (!this.stopped) this.schedule();
      });
    }, this.intervalMs);
    this.timer.unref();
  }

  /** The folders a poll asks about now, in order (see the top of this file). */
  inUse(): string[] {
    const { metadata, options } = this.deps;
    const out = new Map<string, InUse>();
    for (const path of this.deps.openFolders()) {
      const key = keyOf(path);
      if (!out.has(key) && (options.attrTtlMs > 0 || metadata.listing(key))) out.set(key, { path });
    }
    const window = Math.max(RECENT_USE_MS, 2 * this.intervalMs);
    for (const { path } of this.use.recent(window)) {
      const key = keyOf(path);
      if (!out.has(key) && metadata.listing(key)) out.set(key, { path });
    }
    return [...out.values()].slice(0, MAX_POLLED_FOLDERS).map((f) => f.path);
  }

  /** One poll now (a poll already running is joined). */
  pollOnce(): Promise<PollRound> {
    this.running ??= this.round().finally(() => {
      this.running = undefined;
    });
    return this.running;
  }

  private async round(): Promise<PollRound> {
    const folders = this.inUse();
    const round: PollRound = { folders: folders.length, requests: 0, changes: 0, errors: 0 };
    let next = 0;
    const worker = async (): Promise<void> => {
      while (next < folders.length) await this.check(folders[next++]!, round);
    };
    await Promise.all(Array.from({ length: Math.min(CONCURRENCY, folders.length) }, worker));
    this.counters.polls++;
    this.counters.lastFolders = folders.length;
    this.lastPollAt = this.deps.options.clock();
    if (folders.length > 0) {
      this.deps.logger.debug('poll: %d folder%s, %d request%s, %d change%s', folders.length, folders.length === 1 ? '' : 's', round.requests, round.requests === 1 ? '' : 's', round.changes, round.changes === 1 ? '' : 's');
    }
    return round;
  }

  /** Asks the server about one folder, the cheaper way (see the top of this file). */
  private async check(path: string, round: PollRound): Promise<void> {
    const { lookup, metadata, options } = this.deps;
    const key = keyOf(path);
    const state = this.states.get(key);
    const listing = metadata.listing(key);
    const startedAt = options.clock();
    const count = (requests: number, changes: number): void => {
      round.requests += requests;
      round.changes += changes;
      this.counters.requests += requests;
      this.counters.changes += changes;
    };
    try {
      const pages = listing ? Math.max(1, Math.ceil(listing.children.size / options.listPageSize)) : Infinity;
      if (listing && (pages <= CHANGED_SINCE_REQUESTS || (state !== undefined && state.sinceFull + 1 >= FULL_LIST_EVERY))) {
        const fetched = await lookup.relist(path);
        let changes = 0;
        if (fetched.stored) {
          const found = folderChanges(listing, fetched.listing);
          applyRemovals(this.deps, found.removed);
          changes = changeCount(found);
          if (changes > 0) this.logChanges(path, `${found.added.length} new, ${found.changed.length} changed, ${found.removed.length} gone`);
        }
        count(fetched.pages, changes);
        this.states.set(key, { checkedAt: startedAt, sinceFull: 0 });
        return;
      }
      const since = (state?.checkedAt ?? listing?.fetchedAt ?? startedAt - options.attrTtlMs) - CLOCK_SLACK_MS;
      const found = await lookup.changedSince(path, new Date(since));
      count(found.pages, found.changed.length);
      if (found.changed.length > 0) this.logChanges(path, `${found.changed.length} new or changed`);
      // An answer outdated by a change of ours is not applied: the next look covers the same time again.
      if (found.applied) this.states.set(key, { checkedAt: startedAt, sinceFull: (state?.sinceFull ?? 0) + 1 });
    } catch (err) {
      if (err instanceof FsError && err.code === 'ENOENT') {
        // The folder itself is gone.
        count(1, 1);
        gone(this.deps, path, true);
        this.states.delete(key);
        this.logChanges(path, 'the folder is gone');
        return;
      }
      round.errors++;
      this.counters.errors++;
      this.lastError = `${path || '/'}: ${err instanceof Error ? err.message : String(err)}`;
      this.deps.logger.debug('poll of %s failed: %s', path || '/', err instanceof Error ? err.message : String(err));
    }
  }

  private logChanges(path: string, what: string): void {
    this.deps.logger.debug('poll: changes in %s: %s', path || '/', what);
  }

  status(): PollStatus {
    return {
      pollIntervalSeconds: this.intervalMs > 0 ? this.intervalMs / 1000 : null,
      pollRequests: this.counters.requests,
      polledFolders: this.counters.lastFolders,
      lastPollAt: this.lastPollAt === null ? null : new Date(this.lastPollAt).toISOString(),
      polls: this.counters.polls,
      pollChanges: this.counters.changes,
      pollErrors: this.counters.errors,
      lastPollError: this.lastError,
    };
  }
}
