// The timers that make pending files and folders due: the upload delay after
// a last close (or a mkdir), and the wait before a retry. One timer per
// item; setting one replaces the item's previous timer; they never keep the
// process alive (unref). uploads.ts and folder-uploads.ts each keep one set.

export class DueTimers<T> {
  private readonly timers = new Map<T, NodeJS.Timeout>();

  /** `due` is called with the item when its timer ends. */
  constructor(private readonly due: (item: T) => void) {}

  /** `due(item)` after `ms`, replacing the item's timer if it has one. */
  set(item: T, ms: number): void {
    this.clear(item);
    const timer = setTimeout(() => {
      this.timers.delete(item);
      this.due(item);
    }, ms);
    timer.unref();
    this.timers.set(item, timer);
  }

  /** The item is due now: its timer (if any) goes, and `due(item)` runs at once. */
  fireNow(item: T): void {
    this.clear(item);
    this.due(item);
  }

  /** Every item `waiting` says is waiting on its timer is due now; how many were. */
  fireWaiting(items: Iterable<T>, waiting: (item: T) => boolean): number {
    let n = 0;
    for (const item of items) {
      if (!waiting(item)) continue;
      n++;
      this.fireNow(item);
    }
    return n;
  }

  has(item: T): boolean {
    return this.timers.has(item);
  }

  clear(item: T): void {
    const timer = this.timers.get(item);
    if (timer === undefined) return;
    clearTimeout(timer);
    this.timers.delete(item);
  }

  clearAll(): void {
    for (const timer of this.timers.values()) clearTimeout(timer);
    this.timers.clear();
  }
}
