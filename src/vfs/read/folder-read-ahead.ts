// Read-ahead across the files of a folder. A program that reads a folder's
// small files one after another (cp -r, tar, grep -r, a backup tool) would
// pay two round trips per file (the download URL, then the bytes), one file
// at a time: at 20 ms per request, 1,000 small files take 40 s. Once a second
// file of a folder is opened for reading, the small files that follow it in
// the folder's listing are fetched ahead, several at once, into the read
// cache (ContentRegistry), where the program's own opens find them.
//
// The order is the listing's, which is the order readdir shows and so the
// order cp -r and tar open files in (cp sorts by inode number, and every
// entry of a FUSE readdir has the same one). A program that opens files in
// another order moves the window to each file it opens: nothing is fetched
// twice, and a file it opens before its turn is simply read on demand.
//
// While such a program walks the folder, its listing is fetched again in the
// background once past half its TTL (Lookup.refreshAhead): neither the
// program's lookups nor this window ever wait for an expired listing.
//
// Bounds: `window` files ahead of the last file opened (and at most
// WINDOW_MAX_BYTES of them), files of at most MAX_FILE_BYTES, FETCHES_AT_ONCE
// requests at a time, and the fetches are optional in the block cache (no
// room, no fetch). A file with local changes (pending upload) or with content
// already known is never fetched: its version is decided elsewhere.
import PQueue from 'p-queue';
import { LRUCache } from 'lru-cache';
import type { RemoteEntry } from '../../client/index.js';
import type { Logger } from '../../log/logger.js';
import { parentPath } from '../../path/index.js';
import type { Listing } from '../metadata/listing.js';
import { keyOf } from '../path-mapper.js';
import type { ContentRegistry } from './content-registry.js';
import type { FileContent } from './file-content.js';
import type { FileReader } from './file-reader.js';

/** Larger files are not fetched ahead: their own first read asks for the first 1 MiB (readAheadInitialBytes) anyway. */
export const MAX_FILE_BYTES = 1024 * 1024;
/** Bytes of files fetched ahead of the reader at most, whatever the window's count. */
const WINDOW_MAX_BYTES = 16 * 1024 * 1024;
/**
 * Files fetched at once. Each costs two round trips; 16 in flight hide a
 * 20 ms latency (~400 files/s), the client's default pool of 16 connections
 * per host. Four times that: a fetch waiting to retry (a 429 or 503 says
 * to wait a second) holds its place here but no connection, and at 10 %
 * faults about one fetch in five waits so (the bench's fault row: 1,000
 * small files out in 25-32 s with 16, 12-16 s with 32, 13 s with 64, whose
 * uploads in went 18.8 → 13.9 s with the upload lane widened alike; 128
 * made no difference once stalls were resent early).
 */
const FETCHES_AT_ONCE = 64;
/** Folders whose reading position is remembered: enough for a few programs walking trees at once. */
const FOLDERS_REMEMBERED = 64;

export interface FolderReadAheadDeps {
  /** Files kept fetched ahead of the last one opened; 0 disables. */
  window: number;
  /** The folder's fresh listing, if cached (no request). */
  cachedListing: (dirPath: string) => Listing | undefined;
  /** The folder is being read in order: list it again in the background when its listing is getting old. */
  refreshListing: (dirPath: string) => void;
  /** True when the path has local state (a pending upload, a local removal): never fetched. */
  isLocal: (path: string) => boolean;
  registry: ContentRegistry;
  reader: FileReader;
  log: Logger;
}

interface FolderState {
  /** The listing the order below comes from (a newer listing rebuilds it). */
  listing: Listing;
  /** The folder's small files, in listing order. */
  files: RemoteEntry[];
  /** Index in `files`, by comparison key. */
  position: Map<string, number>;
  lastOpened?: string;
  /** Distinct files opened in this folder (consecutive repeats count once). */
  opens: number;
  /** Index of the next file to consider fetching. */
  next: number;
}

export class FolderReadAhead {
  private readonly folders = new LRUCache<string, FolderState>({ max: FOLDERS_REMEMBERED });
  private readonly queue: PQueue;
  /** Keys of files queued or being fetched. */
  private readonly pending = new Set<string>();

  constructor(private readonly deps: FolderReadAheadDeps) {
    this.queue = new PQueue({ concurrency: Math.max(1, Math.min(FETCHES_AT_ONCE, deps.window)) });
  }

  /** A file was opened for reading from the server: its entry and the content its handle reads. */
  opened(entry: RemoteEntry, content: FileContent): void {
    if (this.deps.window === 0 || entry.type !== 'file') return;
    const dir = parentPath(entry.path);
    const dirKey = keyOf(dir);
    const state = this.stateOf(dirKey, this.deps.cachedListing(dir));
    if (!state) return;
    const key = keyOf(entry.path);
    if (state.lastOpened === key) return;
    state.lastOpened = key;
    state.opens++;
    const at = state.position.get(key);
    // One file read is not a pattern (cat of one file, an editor opening one).
    if (at === undefined || state.opens < 2) return;
    this.deps.refreshListing(dir);
    // The file just opened comes first: its whole content is asked for now,
    // before the files after it and before the program's first read arrives.
    this.deps.reader.prefetch(content).catch((err: unknown) => {
      this.deps.log.debug('fetching %s at open failed: %s', entry.path, err instanceof Error ? err.message : String(err));
    });
    // The reader jumped (backwards, or past the window): the window follows it.
    if (state.next <= at || state.next > at + 1 + this.deps.window) state.next = at + 1;
    let bytes = 0;
    for (let i = at + 1; i < state.next; i++) bytes += state.files[i]!.size;
    const end = Math.min(state.files.length, at + 1 + this.deps.window);
    while (state.next < end && bytes < WINDOW_MAX_BYTES) {
      const file = state.files[state.next++]!;
      bytes += file.size;
      this.enqueue(file);
    }
  }

  /** Files waiting or being fetched (tests, status). */
  get queued(): number {
    return this.pending.size;
  }

  /** Resolves once nothing is waiting or being fetched (tests). */
  idle(): Promise<void> {
    return this.queue.onIdle();
  }

  private stateOf(dirKey: string, listing: Listing | undefined): FolderState | undefined {
    const known = this.folders.get(dirKey);
    if (!listing || known?.listing === listing) return known;
    const files: RemoteEntry[] = [];
    const position = new Map<string, number>();
    for (const [key, entry] of listing.children) {
      if (entry.type !== 'file' || entry.size === 0 || entry.size > MAX_FILE_BYTES) continue;
      position.set(key, files.length);
      files.push(entry);
    }
    // A newer listing of the same folder (the old one expired): the reader's
    // progress carries over; the window restarts after the last file opened.
    const last = known?.lastOpened;
    const at = last === undefined ? undefined : position.get(last);
    const state: FolderState = { listing, files, position, opens: known?.opens ?? 0, next: at === undefined ? 0 : at + 1 };
    if (last !== undefined) state.lastOpened = last;
    this.folders.set(dirKey, state);
    return state;
  }

  private enqueue(entry: RemoteEntry): void {
    const key = keyOf(entry.path);
    if (this.pending.has(key) || this.deps.isLocal(entry.path) || this.deps.registry.current(entry.path)) return;
    this.pending.add(key);
    void this.queue.add(async () => {
      try {
        await this.fetch(entry);
      } finally {
        this.pending.delete(key);
      }
    });
  }

  private async fetch(entry: RemoteEntry): Promise<void> {
    // Checked again: a write or an open may have come first while it waited.
    if (this.deps.isLocal(entry.path) || this.deps.registry.current(entry.path)) return;
    const content = this.deps.registry.acquire(entry);
    try {
      await this.deps.reader.prefetch(content);
    } catch (err) {
      this.deps.log.debug('fetching %s ahead failed: %s', entry.path, err instanceof Error ? err.message : String(err));
    } finally {
      this.deps.registry.release(content);
    }
  }
}
