// The locks programs on this machine hold on one file, as POSIX and flock(2)
// define them. Once the mount takes locks over from the kernel (the FUSE lock
// and flock operations), the kernel no longer keeps them: conflicts between
// two local processes are decided here, before the server is asked.
//
// POSIX record locks (fcntl, lockf) belong to an owner (the kernel's lock
// owner: a process and its files) and cover byte ranges: setting a lock
// replaces the owner's own locks in that range (splitting them), unlocking a
// range removes them there; locks of two owners conflict where their ranges
// overlap and one of them is a write lock. flock(2) locks belong to an open
// file description and cover the whole file; an flock lock and a POSIX lock
// conflict as two owners' locks do (Linux keeps them apart, but a Files.com
// lock has one kind; being stricter here never lets two writers in).

export type LockType = 'read' | 'write';

/** One owner's lock on [start, end): end is Infinity for "to the end of the file, however long". */
export interface RangeLock {
  owner: string;
  type: LockType;
  start: number;
  end: number;
  /** The process that set it (for F_GETLK's answer). */
  pid: number;
}

export class LockTable {
  private locks: RangeLock[] = [];

  get empty(): boolean {
    return this.locks.length === 0;
  }

  /** Whether any lock held is a write lock (the server's lock must then be exclusive). */
  get hasWriteLock(): boolean {
    return this.locks.some((l) => l.type === 'write');
  }

  /** A lock of another owner that conflicts with `want`, if any. */
  conflict(want: Omit<RangeLock, 'pid'>): RangeLock | undefined {
    return this.locks.find((l) => l.owner !== want.owner && l.start < want.end && want.start < l.end && (l.type === 'write' || want.type === 'write'));
  }

  /** Sets `lock` for its owner: the owner's locks in its range are replaced. */
  set(lock: RangeLock): void {
    this.remove(lock.owner, lock.start, lock.end);
    this.locks.push(lock);
    this.merge(lock.owner);
  }

  /** Removes the owner's locks in [start, end) (splitting those that reach beyond it). */
  remove(owner: string, start = 0, end = Infinity): void {
    const out: RangeLock[] = [];
    for (const l of this.locks) {
      if (l.owner !== owner || l.end <= start || end <= l.start) {
        out.push(l);
        continue;
      }
      if (l.start < start) out.push({ ...l, end: start });
      if (end < l.end) out.push({ ...l, start: end });
    }
    this.locks = out;
  }

  /** Owners holding anything. */
  owners(): string[] {
    return [...new Set(this.locks.map((l) => l.owner))];
  }

  /** Adjacent or overlapping locks of one owner and type become one. */
  private merge(owner: string): void {
    const mine = this.locks.filter((l) => l.owner === owner).sort((a, b) => a.start - b.start);
    const others = this.locks.filter((l) => l.owner !== owner);
    const merged: RangeLock[] = [];
    for (const l of mine) {
      const last = merged[merged.length - 1];
      if (last && last.type === l.type && l.start <= last.end) last.end = Math.max(last.end, l.end);
      else merged.push({ ...l });
    }
    this.locks = [...others, ...merged];
  }
}
