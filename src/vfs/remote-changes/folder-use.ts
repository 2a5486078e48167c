// When programs last used each folder: listed it (readdir, opendir) or
// opened a file in it. The poll for remote changes asks only about folders
// in use (poller.ts), so a folder someone looked at an hour ago costs
// nothing. Bounded: only the most recently used folders are remembered.
import { LRUCache } from 'lru-cache';
import type { Clock } from '../options.js';
import { keyOf } from '../path-mapper.js';

/** Folders remembered: far more than one poll looks at (MAX_POLLED_FOLDERS). */
const REMEMBERED_FOLDERS = 1_000;

export interface FolderUseEntry {
  /** The folder's remote path, as last used. */
  path: string;
  /** Clock time of the last use. */
  at: number;
}

export class FolderUse {
  private readonly folders = new LRUCache<string, FolderUseEntry>({ max: REMEMBERED_FOLDERS });

  constructor(private readonly clock: Clock) {}

  /** A program used the folder at `dirPath` now. */
  used(dirPath: string): void {
    this.folders.set(keyOf(dirPath), { path: dirPath, at: this.clock() });
  }

  /** Folders used less than `withinMs` ago, most recent first. */
  recent(withinMs: number): FolderUseEntry[] {
    const since = this.clock() - withinMs;
    const out: FolderUseEntry[] = [];
    // The LRU iterates from the most recently set.
    for (const entry of this.folders.values()) {
      if (entry.at < since) break;
      out.push(entry);
    }
    return out;
  }
}
