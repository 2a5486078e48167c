// Whether the kernel may keep a file's page cache from earlier opens: only
// when this open reads the very version those pages came from. The kernel's
// own rule (libfuse's auto_cache) compares the size and the mtime, and on a
// server whose times are whole seconds (where a client may also keep the
// time it sends) a new version of the same size and time kept the old
// version's pages: new opens read old bytes, or old and new ones mixed.
// Here a version is a server version this mount reads: its size, its times
// (the server's own mtime moves with every upload) and the uploads of this
// mount before it (two of ours in one second share the rest); a
// file with local content (pending, or kept local) never keeps pages, since
// what it holds changes under the same version.
import { LRUCache } from 'lru-cache';
import { keyOf } from '../path-mapper.js';

/** Paths remembered (the least recently opened go first): a forgotten one only costs a page cache dropped once. */
const REMEMBERED_PATHS = 10_000;

export class PageCacheVersions {
  /** The version the kernel's pages of a path were read from (by key), most recent last. */
  private readonly versions = new LRUCache<string, string>({ max: REMEMBERED_PATHS });

  /** A read open of `path` reading `version` (null: local content): may the kernel keep its pages? */
  opened(path: string, version: string | null): boolean {
    const key = keyOf(path);
    const before = this.versions.peek(key);
    if (version === null) {
      this.versions.delete(key);
      return false;
    }
    this.versions.set(key, version);
    return before === version;
  }

  /** A write open of `path`: what the kernel has of it is not a server version's any more. */
  written(path: string): void {
    this.versions.delete(keyOf(path));
  }
}
