// One version of one remote file's content, as the read path caches it: the
// blocks in memory, the requests in flight, and its place in the disk cache
// (a DiskVersion, when the disk cache is on). A version is identified by the
// file's size, its mtime and the server's own mtime (which moves with every
// upload, even when a client keeps the time it shows); every handle that opened the same version shares one
// FileContent (and so one set of fetched blocks), and reads it with its own
// download URL (a DownloadPin), apart from the file's shared one.
// When the server shows another version, the old FileContent is detached:
// new opens read the new one, while handles already open keep reading theirs,
// whole, from what is cached (in memory and on disk) and through its URL for
// as long as the server still gives that version. Once it does not, the
// version is superseded: its blocks are dropped and reads fail with ESTALE
// rather than return a mix of two versions or stop short.
import { DownloadPin, type RemoteEntry } from '../../client/index.js';
import type { DiskVersion } from '../content-cache/disk-cache.js';
import type { MemBlock } from './block-cache.js';

let nextId = 1;

export const versionOf = (entry: { size: number; mtime: Date; serverMtime: Date | null }): string =>
  `${entry.size}:${entry.mtime.getTime()}:${entry.serverMtime?.getTime() ?? '-'}`;

export class FileContent {
  readonly id = nextId++;
  /** Where reads go; follows renames of the file or of a folder above it. */
  remotePath: string;
  readonly size: number;
  mtime: Date;
  /** The server's own mtime of this version (null when the server sent none). */
  serverMtime: Date | null;
  /** Set once this version cannot be read any more (the server no longer gives it, or the cache dropped it). */
  superseded = false;
  /** Set once the path shows a newer version: new opens read that one; this one's handles read on. */
  detached = false;
  /** Replaced by an upload of this mount (not by someone else): its readers follow to the new version. */
  rewrittenHere = false;
  /** This version's own download URL (client.readRange's pin). */
  readonly pin: DownloadPin;
  /** Open handles bound to this version. */
  refs = 0;
  /** Its blocks in the disk cache, when the cache is on. */
  disk: DiskVersion | undefined;
  /** Blocks in memory, by index. */
  readonly blocks = new Map<number, MemBlock>();
  /** Blocks in memory, least recently used first (per-file eviction order). */
  readonly order = new Map<MemBlock, true>();
  /** Requests in flight, by block index: each settles once its blocks are in memory (or failed). */
  readonly inflight = new Map<number, Promise<void>>();
  cachedBytes = 0;
  inflightBytes = 0;

  /**
   * How many uploads of this mount replaced the file before this version
   * (ContentRegistry.rewritten): two versions of ours saved in the same
   * second have the same size and times, and differ by this.
   */
  readonly rewrites: number;

  constructor(entry: RemoteEntry, disk?: DiskVersion, rewrites = 0) {
    this.rewrites = rewrites;
    this.remotePath = entry.path;
    this.size = entry.size;
    this.mtime = entry.mtime;
    this.serverMtime = entry.serverMtime;
    this.disk = disk;
    // The ETag the cached bytes carry (from an earlier fetch): the client checks every answer against it.
    this.pin = new DownloadPin(entry.size, entry.serverMtime, disk?.etag ?? undefined);
  }

  get version(): string {
    return versionOf(this);
  }
}
