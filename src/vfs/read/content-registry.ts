// Which file version each remote path's readers share, and what happens to
// cached content when the namespace or the server changes:
//   - open: acquire(entry) gives the current FileContent of that path when it
//     is the same version (size + mtime), else supersedes the old one and
//     starts a new one (forgetting the client's cached download URL);
//   - the metadata cache reports every entry it learns (observe): a different
//     version of a file with cached content supersedes it at once;
//   - our own utimens changes the mtime but not the bytes (retime);
//   - renames re-key content so open handles keep reading (moved);
//   - unlink detaches it (open handles keep what is cached);
//   - a file gone on the server (refresh, poll) is outdated like a changed one.
// A FileContent with no handle left keeps up to CLOSED_FILE_KEPT_BYTES of
// cached segments, so re-opening an unchanged small file reads from memory.
import { LRUCache } from 'lru-cache';
import type { FilesClient, RemoteEntry } from '../../client/index.js';
import type { Logger } from '../../log/logger.js';
import { keyOf } from '../path-mapper.js';
import { BlockCache, type BlockCacheLimits } from './block-cache.js';
import { FileContent, versionOf } from './file-content.js';

/** Cached bytes a version keeps once its last handle closed (oldest go first): a re-opened file of up to this size reads from memory. */
export const CLOSED_FILE_KEPT_BYTES = 8 * 1024 * 1024;

/** Versions remembered for paths whose content left the cache: enough for any working set of open files. */
const REMEMBERED_VERSIONS = 10_000;

export class ContentRegistry {
  readonly blocks: BlockCache;
  private readonly byKey = new Map<string, FileContent>();
  /** Last version whose download URL the client may hold, per path. */
  private readonly seen = new LRUCache<string, string>({ max: REMEMBERED_VERSIONS });

  constructor(private readonly client: FilesClient, limits: BlockCacheLimits, private readonly log: Logger) {
    this.blocks = new BlockCache(limits, (content) => this.tidy(content));
  }

  /** The shared content of this file version, counted as one more open handle. */
  acquire(entry: RemoteEntry): FileContent {
    const key = keyOf(entry.path);
    const version = versionOf(entry);
    let content = this.byKey.get(key);
    if (content && content.version !== version) {
      this.replaced(content);
      content = undefined;
    }
    if (!content) {
      content = new FileContent(entry);
      this.byKey.set(key, content);
      // A URL cached for another version could serve that version's bytes.
      if (this.seen.get(key) !== version) this.client.invalidateDownload(entry.path);
      this.seen.set(key, version);
    }
    content.refs++;
    return content;
  }

  /** One handle on `content` closed. */
  release(content: FileContent): void {
    content.refs = Math.max(0, content.refs - 1);
    // Nobody reads this version any more: keep what a re-open of a small
    // file needs, not a large file's whole read-ahead, which mostly repeats
    // the kernel's page cache (auto_cache keeps it across opens of an
    // unchanged file). Measured: a benchmark that read four 1 GiB files one
    // after the other kept 4 × 64 MiB of closed files' blocks, and the mount
    // process peaked at 458 MiB RSS.
    this.tidy(content);
  }

  /** The server (or our own change) shows `entry` now. */
  observe(entry: RemoteEntry): void {
    if (entry.type !== 'file') return;
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

  /** Our own utimens: same bytes, new mtime; readers keep their blocks. */
  retime(entry: RemoteEntry): void {
    const key = keyOf(entry.path);
    const content = this.byKey.get(key);
    if (!content || content.size !== entry.size) return;
    content.mtime = entry.mtime;
    this.seen.set(key, content.version);
  }

  /** A file or folder moved: content at or below `from` now lives below `to`. */
  moved(from: string, to: string): void {
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
    if (content.refs === 0) this.blocks.trim(content, CLOSED_FILE_KEPT_BYTES);
    if (content.refs > 0 || content.order.size > 0 || content.inflight.size > 0) return;
    const key = keyOf(content.remotePath);
    if (this.byKey.get(key) === content) this.byKey.delete(key);
  }
}
