// Concurrent requests for the same thing share one call: twenty `stat`s of a
// file that arrive together (a kernel lookup storm, `ls -l`, parallel `find`)
// cost one request. A flight can be forgotten when our own change makes its
// answer outdated: later callers then start a new request, and the flight's
// owner sees `stale` and does not cache what it got (read-your-writes).
export interface Flight {
  /** Set when the flight was forgotten before it finished. */
  readonly stale: boolean;
}

interface Entry<V> {
  stale: boolean;
  promise: Promise<V>;
}

export class SingleFlight<V> {
  private readonly flights = new Map<string, Entry<V>>();

  /** Runs `work` unless a call for `key` is already running, whose result is shared. */
  run(key: string, work: (flight: Flight) => Promise<V>): Promise<V> {
    const running = this.flights.get(key);
    if (running) return running.promise;
    const entry = { stale: false } as Entry<V>;
    entry.promise = (async () => {
      try {
        return await work(entry);
      } finally {
        if (this.flights.get(key) === entry) this.flights.delete(key);
      }
    })();
    this.flights.set(key, entry);
    return entry.promise;
  }

  /** Detaches the running flight for `key` (if any) and marks it stale. */
  forget(key: string): void {
    const entry = this.flights.get(key);
    if (!entry) return;
    entry.stale = true;
    this.flights.delete(key);
  }

  /** Forgets every flight whose key matches. */
  forgetWhere(matches: (key: string) => boolean): void {
    for (const key of [...this.flights.keys()]) if (matches(key)) this.forget(key);
  }

  get size(): number {
    return this.flights.size;
  }
}
