// The times the server cannot keep, kept by this mount in memory:
//   - atime: Files.com has no access time. A mount shows each entry's mtime
//     as its atime (as with `noatime`: reading never changes it), unless
//     utimens set one through this mount; that one is shown until the mount
//     ends or the entry goes.
//   - ctime: the last change of the entry's metadata (chmod, chown, an
//     extended attribute, a rename, utimens) made through this mount, or its
//     mtime when that is later (a change of the content moves the mtime).
//   - a folder's mtime: it moves on the server when an entry is created or
//     removed in it, but the mount shows it at once; and a folder whose time
//     was set (provided_mtime) still shows a later local change.
//   - a folder made here keeps the time of its mkdir once the server has it:
//     the server stamps the folder with the moment its creation arrived (the
//     upload delay later), and showing that would move the folder's mtime
//     and ctime a second or so after mkdir, with nothing done to it. The
//     mkdir's time is shown for as long as the server's time is the one of
//     the creation; a later change there shows.
// Keyed by path identity, bounded (least recently used go first, and show
// the server's times again). Times are whole seconds, as the server keeps
// them, so nothing jumps when the server's answer arrives.
import { LRUCache } from 'lru-cache';
import type { FileAttributes } from '../filesystem-api.js';
import { keyOf } from '../path-mapper.js';

interface Times {
  atime?: number;
  ctime?: number;
  /** A folder's contents changed at this time (ms). */
  mtime?: number;
  /** A folder made here: the time it was made (ms), shown while the server's mtime is `server`, the time it stamped the creation with. */
  made?: { local: number; server: number };
}

export class LocalTimes {
  private readonly times: LRUCache<string, Times>;

  constructor(maxEntries: number) {
    this.times = new LRUCache({ max: maxEntries });
  }

  /** The entry's metadata changed at `now` (chmod, chown, xattrs, rename, link count). */
  changed(path: string, now: number): void {
    this.update(path, { ctime: whole(now) });
  }

  /** An entry was created or removed in the folder at `now`: its mtime and ctime move. */
  folderChanged(dirPath: string, now: number): void {
    const t = whole(now);
    this.update(dirPath, { mtime: t, ctime: t });
  }

  /** utimens: the atime given (null: unchanged) is kept; a new mtime replaces any local one; ctime moves. */
  timesSet(path: string, atime: Date | null, mtime: Date | null, now: number): void {
    const key = keyOf(path);
    const times = { ...this.times.get(key) };
    if (atime !== null) times.atime = whole(atime.getTime());
    if (mtime !== null) delete times.mtime;
    times.ctime = whole(now);
    this.times.set(key, times);
  }

  /** The folder made here at `local` (its mkdir) is on the server now, with the time `server`. */
  folderMade(path: string, local: Date, server: Date): void {
    if (whole(local.getTime()) !== server.getTime()) this.update(path, { made: { local: whole(local.getTime()), server: server.getTime() } });
  }

  /**
   * The entry moved: its own times go with it. For a folder (`subtree`),
   * what was kept below it is forgotten (a pass over everything kept).
   */
  moved(from: string, to: string, now: number, subtree = false): void {
    const times = this.times.get(keyOf(from));
    this.removed(from, subtree);
    this.times.set(keyOf(to), { ...times, ctime: whole(now) });
  }

  /** The entry is gone; with `subtree`, so is everything kept below it (a pass over everything kept). */
  removed(path: string, subtree = false): void {
    const key = keyOf(path);
    this.times.delete(key);
    if (!subtree || key === '') return;
    const prefix = `${key}/`;
    for (const k of [...this.times.keys()]) if (k.startsWith(prefix)) this.times.delete(k);
  }

  /** The attributes with the times this mount knows better. */
  apply(path: string, attributes: FileAttributes): FileAttributes {
    const times = this.times.get(keyOf(path));
    if (!times) return attributes;
    const serverMs = attributes.mtime.getTime();
    const mtimeMs = times.made?.server === serverMs ? times.made.local : serverMs;
    const mtime = new Date(times.mtime !== undefined && times.mtime > mtimeMs ? times.mtime : mtimeMs);
    const ctimeMs = Math.max(mtime.getTime(), times.ctime ?? 0, attributes.ctime?.getTime() ?? 0);
    return {
      ...attributes,
      mtime,
      atime: times.atime !== undefined ? new Date(times.atime) : attributes.atime ?? mtime,
      ctime: new Date(ctimeMs),
    };
  }

  get size(): number {
    return this.times.size;
  }

  private update(path: string, change: Times): void {
    const key = keyOf(path);
    this.times.set(key, { ...this.times.get(key), ...change });
  }
}

/** Whole seconds (ms), as the server keeps times. */
function whole(ms: number): number {
  return Math.floor(ms / 1000) * 1000;
}
