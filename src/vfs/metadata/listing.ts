// A folder's listing as the filesystem shows it: the server's entries in the
// server's order, keyed by path identity. Two server entries that are the same
// path for the server (isSame) would be two names for one file: the first is
// kept and the duplicate logged, so `readdir` never shows one file twice.
import type { RemoteEntry } from '../../client/index.js';
import type { Logger } from '../../log/logger.js';
import { keyOf } from '../path-mapper.js';

export interface Listing {
  /** Remote path of the folder as it was asked for. */
  readonly path: string;
  /**
   * Clock time when the request started (freshness is measured from here);
   * moved forward when the mount's own change re-confirms a folder it
   * created (MetadataCache.refreshFolder).
   */
  fetchedAt: number;
  /** Children by comparison key of their full path, in listing order. */
  readonly children: Map<string, RemoteEntry>;
  /** How many children are folders (a folder's link count is 2 + this); kept in step with `children`. */
  subfolders: number;
  /** Set once readdir warned about names the kernel cannot show. */
  warnedUnrepresentable?: boolean;
  /** Lookups that missed since this listing expired (lookup.ts re-lists a big folder being walked). */
  missesSinceExpiry?: number;
}

export function buildListing(path: string, entries: Iterable<RemoteEntry>, fetchedAt: number, log: Logger): Listing {
  const children = new Map<string, RemoteEntry>();
  let subfolders = 0;
  for (const entry of entries) {
    const key = keyOf(entry.path);
    const first = children.get(key);
    if (first) {
      log.warn('folder "%s" lists both "%s" and "%s", which are the same path for the server; showing only the first', path, first.name, entry.name);
      continue;
    }
    children.set(key, entry);
    if (entry.type === 'directory') subfolders++;
  }
  return { path, fetchedAt, children, subfolders };
}
