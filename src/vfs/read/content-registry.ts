// Which file version each remote path's readers share, and what happens to
// cached content (in memory and in the disk cache) when the namespace or the
// server changes:
//   - open: acquire(entry) gives the current FileContent of that path when it
//     is the same version (size + mtime, and for the disk cache also the
//     server's mtime and checksums), else supersedes the old one and starts a
//     new one (forgetting the client's cached download URL);
//   - the metadata cache reports every entry it learns (observe): a different
//     version of a file with cached content supersedes it at once;
//   - our own utimens changes the mtime but not the bytes (retime);
//   - renames re-key content so open handles keep reading (moved);
//   - unlink detaches it (open handles keep what is cached);
//   - a file gone on the server (refresh, poll) is outdated like a changed one.
// A FileContent with no handle left keeps in memory only what is not on disk,
// up to closedFileKeptBytes, so re-opening an unchanged small file reads from
// memory even without a disk cache. When nothing was read for IDLE_MS, memory
// lets go of every block that is on disk and, if nothing else is held, of
// the pool itself (idle-memory.ts).
import { LRUCache } from 'lru-cache';
import type { FilesClient, RemoteEntry } from '../../client/index.js';
import type { Logger } from '../../log/logger.js';
import type { ContentDiskCache, DiskVersion } from '../content-cache/disk-cache.js';
import { keyOf } from '../path-mapper.js';
import { BlockCache, type MemBlock } from './block-cache.js';
import { BlockPool } from './block-pool.js';
import { FileContent, versionOf } from './file-content.js';
import { GarbagePacer, IdleMemory } from './idle-memory.js';

/** Versions remembered for paths whose content left the cache: enough for any working set of open files. */
const REMEMBERED_VERSIONS = 10_000;

export interface ContentRegistryOptions {
  blockSize: number;
  /** The memory budget for file content (the pool), bytes. */
  totalBytes: number;
  /** Memory one file version may hold, bytes. */
  perFileBytes: number;
  /** The largest range request, bytes. */
  maxRequestBytes: number;
  /** Bytes a version nobody reads keeps in memory, when they are not on disk. */
  closedFileKeptBytes: number;
  /** The content cache on disk; none: memory only. */
  disk?: ContentDiskCache;
}

/** Paths whose uploads by this mount are counted (the least recent go first; a forgotten count only costs a page cache dropped once). */
const REWRITES_KEPT = 10_000;

export class ContentRegistry {
  /** Uploads of this mount that replaced each file (by key): FileContent.rewrites. */
  private readonly rewrites = new LRUCache<string, number>({ max: REWRITES_KEPT });
  readonly blocks: BlockCache;
  readonly disk: ContentDiskCache | undefined;
  readonly maxRequestBytes: number;
  readonly closedFileKeptBytes: number;
  /** Resolves once the disk cache's index is loaded (opens wait for it). */
  readonly ready: Promise<void>;
  private readonly idle: IdleMemory;
  private readonly pacer = new GarbagePacer();
  /** For the client: bytes received for a read (paces the collection of the network's buffers). */
  readonly received = this.pacer.received;
  private readonly byKey = new Map<string, FileContent>();
  /** Last version whose download URL the client may hold, per path. */
  private readonly seen = new LRUCache<string, string>({ max: REMEMBERED_VERSIONS });

  constructor(private readonly client: FilesClient, options: ContentRegistryOptions, private readonly log: Logger) {
    const pool = new BlockPool(options.blockSize, Math.max(1, Math.floor(options.totalBytes / options.blockSize)), (n, onDiskOnly, shortOnly) => this.blocks.evict(n, onDiskOnly, shortOnly));
    this.blocks = new BlockCache(pool, options.perFileBytes, (content) => this.tidy(content), (b) => this.isOnDisk(b));
    this.disk = options.disk?.isEnabled ? options.disk : undefined;
    this.maxRequestBytes = options.maxRequestBytes;
    this.closedFileKeptBytes = options.closedFileKeptBytes;
    this.ready = this.disk?.ready ?? Promise.resolve();
    this.idle = new IdleMemory(() => this.releaseIdle());
  }

  /** Reads are happening (for the idle release). */
  active(): void {
    this.idle.active();
  }

  /** The shared content of this file version, counted as one more open handle. */
  acquire(entry: RemoteEntry): FileContent {
    const key = keyOf(entry.path);
    const version = versionOf(entry);
    let content = this.byKey.get(key);
    // The disk cache's view of the version is finer (server mtime, checksums): it decides too.
    const disk = this.disk?.isEnabled ? this.disk.bind(entry) : undefined;
    if (content && (content.version !== version || (content.disk !== undefined && disk !== content.disk))) {
      this.replaced(content);
      content = undefined;
    }
    if (!content) {
      content = new FileContent(entry, disk, this.rewrites.get(key) ?? 0);
      this.byKey.set(key, content);
      // A URL cached for another version could serve that version's bytes.
      if (this.seen.get(key) !== version) this.client.invalidateDownload(entry.path);
      this.seen.set(key, version);
    }
    if (content.refs++ === 0 && content.disk) this.disk!.hold(content.disk);
    return content;
  }

  /** One handle on `content` closed. */
  release(content: FileContent): void {
    if (content.refs === 0) return;
    content.refs--;
    if (content.refs === 0 && content.disk) this.disk!.release(content.disk);
    // Nobody reads this version any more: keep what a re-open of a small
    // file needs, not a large file's whole read-ahead, which mostly repeats
    // the kernel's page cache (auto_cache keeps it across opens of an
    // unchanged file) and the disk cache. Measured: a benchmark that read
    // four 1 GiB files one after the other kept 4 × 64 MiB of closed files'
    // blocks, and the mount process peaked at 458 MiB RSS.
    this.tidy(content);
  }

  /** The server (or our own change) shows `entry` now. */
  observe(entry: RemoteEntry): void {
    if (entry.type !== 'file') return;
    this.disk?.observe(entry);
    const content = this.byKey.get(keyOf(entry.path));
    if (content && content.version !== versionOf(entry)) this.replaced(content);
  }

  /**
   * A newer version of the file exists: new opens read that one. A version
   * with open handles is detached (they read on, through its own URL, for as
   * long as the server gives it); one nobody reads is dropped.
   */
  private replaced(content: FileContent): void {
    if (content.refs === 0) {
      this.supersede(content, 'changed on the server');
      return;
    }
    this.log.debug('content of %s (%s) detached: a newer version exists; %d handle(s) read on', content.remotePath, content.version, content.refs);
    content.detached = true;
    const key = keyOf(content.remotePath);
    if (this.byKey.get(key) === content) this.byKey.delete(key);
    // The shared URL may serve the newer version from now on; the detached version reads with its own.
    this.client.invalidateDownload(content.remotePath);
    this.seen.delete(key);
  }

  /**
   * Our own upload replaced the file's bytes: what is cached for the path,
   * in memory and on disk, is of an older version, even when its size and
   * times are the new one's (a rewrite of the same size within the second
   * the server's times count in, before the server has its checksums).
   */
  rewritten(path: string): void {
    const key = keyOf(path);
    this.rewrites.set(key, (this.rewrites.get(key) ?? 0) + 1);
    const content = this.byKey.get(key);
    if (content) {
      content.rewrittenHere = true;
      this.replaced(content);
    }
    this.disk?.removed(path);
    this.seen.delete(keyOf(path));
  }

  /** Our own utimens: same bytes, new mtime; readers keep their blocks. */
  retime(entry: RemoteEntry): void {
    const key = keyOf(entry.path);
    const content = this.byKey.get(key);
    this.disk?.retime(entry);
    if (!content || content.size !== entry.size) return;
    content.mtime = entry.mtime;
    content.serverMtime = entry.serverMtime;
    this.seen.set(key, content.version);
  }

  /** A file or folder moved: content at or below `from` now lives below `to`. */
  moved(from: string, to: string): void {
    this.disk?.moved(from, to);
    const fromKey = keyOf(from);
    for (const [key, content] of [...this.byKey]) {
      if (key !== fromKey && !key.startsWith(fromKey + '/')) continue;
      this.byKey.delete(key);
      this.client.invalidateDownload(content.remotePath);
      // By segments, not characters: isSame names may differ in length (ß / ss).
      const below = content.remotePath.split('/').slice(from.split('/').length);
      content.remotePath = [to, ...below].join('/');
      const newKey = keyOf(content.remotePath);
      const there = this.byKey.get(newKey);
      if (there && there !== content) this.supersede(there, 'replaced by a rename');
      this.byKey.set(newKey, content);
    }
  }

  /** A file was deleted: new opens will not find it; open handles keep their cached blocks. */
  removed(path: string): void {
    const key = keyOf(path);
    this.disk?.removed(path);
    this.byKey.delete(key);
    this.seen.delete(key);
  }

  /**
   * The server no longer shows this file (deleted or renamed away elsewhere):
   * like a newer version, its content is dropped, or detached while
   * handles read it (they read on for as long as the server gives it).
   */
  outdated(path: string): void {
    const content = this.byKey.get(keyOf(path));
    if (content) this.replaced(content);
  }

  /** The current contents of files at or below a path (refresh reports what happened to them). */
  within(path: string): FileContent[] {
    const key = keyOf(path);
    const out: FileContent[] = [];
    for (const [k, content] of this.byKey) if (k === key || key === '' || k.startsWith(key + '/')) out.push(content);
    return out;
  }

  /** Versions cached on disk at or below `path` that no content in memory stands for (closed files). */
  onDiskOnlyWithin(path: string): DiskVersion[] {
    if (!this.disk) return [];
    return this.disk.within(path).filter((v) => this.byKey.get(v.key)?.disk !== v);
  }

  /** The current content of a path, if any (tests and status). */
  current(path: string): FileContent | undefined {
    return this.byKey.get(keyOf(path));
  }

  /** Drops a version's blocks for good; handles bound to it get ESTALE. */
  supersede(content: FileContent, why: string): void {
    if (content.superseded) return;
    this.log.debug('content of %s (%s) superseded: %s', content.remotePath, content.version, why);
    content.superseded = true;
    const key = keyOf(content.remotePath);
    if (this.byKey.get(key) === content) this.byKey.delete(key);
    this.blocks.drop(content);
    // Its bytes on disk are of a version nobody can read any more.
    if (content.disk) this.disk?.invalid(content.disk, why);
    // A detached version's URL is its own; the path's shared one belongs to the newer version now.
    if (content.detached) return;
    this.client.invalidateDownload(content.remotePath);
    this.seen.delete(key);
  }

  /**
   * Trims a version nobody uses to what a closed file keeps (also read-ahead
   * that lands after the close), and forgets it once nothing is cached.
   */
  tidy(content: FileContent): void {
    // A detached version nobody reads any more is of no use.
    if (content.refs === 0 && content.detached) return this.supersede(content, 'its last reader closed');
    if (content.refs === 0) {
      this.blocks.dropOnDiskOf(content);
      this.blocks.trim(content, this.closedFileKeptBytes);
    }
    if (content.refs > 0 || content.order.size > 0 || content.inflight.size > 0) return;
    const key = keyOf(content.remotePath);
    if (this.byKey.get(key) === content) this.byKey.delete(key);
  }

  /** Whether a block in memory is in the disk cache too (letting go of it loses nothing). */
  private isOnDisk(b: MemBlock): boolean {
    const v = b.content.disk;
    return v !== undefined && this.disk !== undefined && this.disk.has(v, Math.floor((b.index * this.blocks.pool.blockSize) / this.disk.blockSize));
  }

  /** Nothing was read for a while: memory keeps only what is nowhere else. */
  private releaseIdle(): boolean {
    this.blocks.dropOnDisk();
    return this.blocks.pool.releaseIdle();
  }

  /** Stops the idle timer. */
  close(): void {
    this.idle.close();
  }
}
