// What changed in a folder between two looks at it: a cached listing and a
// new one (refresh, poll), or a cached entry and the server's answer to a
// "changed since" listing. An entry changed when anything a program can see
// or a cached version depends on differs: type, size, the time shown, the
// server's own mtime, or the spelling of its name.
import type { RemoteEntry } from '../../client/index.js';
import type { Listing } from './listing.js';

export interface FolderChanges {
  /** Names listed now that were not before. */
  added: RemoteEntry[];
  /** Names in both, with another type, size, time or spelling. */
  changed: RemoteEntry[];
  /** Entries listed before and gone now (deleted, or renamed away). */
  removed: RemoteEntry[];
}

const time = (d: Date | null): number | null => (d === null ? null : d.getTime());

/** True when a program (or a cached file version) could tell `a` from `b`. */
export function sameEntry(a: RemoteEntry, b: RemoteEntry): boolean {
  return a.type === b.type
    && a.size === b.size
    && a.path === b.path
    && a.mtime.getTime() === b.mtime.getTime()
    && time(a.serverMtime) === time(b.serverMtime);
}

/** The differences between a folder's earlier listing and its listing now. */
export function folderChanges(before: Listing, after: Listing): FolderChanges {
  const out: FolderChanges = { added: [], changed: [], removed: [] };
  for (const [key, entry] of after.children) {
    const was = before.children.get(key);
    if (!was) out.added.push(entry);
    else if (!sameEntry(was, entry)) out.changed.push(entry);
  }
  for (const [key, entry] of before.children) if (!after.children.has(key)) out.removed.push(entry);
  return out;
}

/** Number of names that differ. */
export function changeCount(changes: FolderChanges): number {
  return changes.added.length + changes.changed.length + changes.removed.length;
}
