// Recent latencies of one kind of request, for the hedge threshold: a ring of
// the last `size` samples and a percentile over them, recomputed at most every
// RECOMPUTE_EVERY samples once the ring is full (sorting 128 numbers per
// request is cheap, but not free at thousands of requests a second).

/** Samples between two recomputations of the cached percentile. */
const RECOMPUTE_EVERY = 8;

export class LatencyWindow {
  private readonly samples: number[] = [];
  private next = 0;
  private sinceRecompute = 0;
  private cached: number | undefined;

  constructor(private readonly size: number, private readonly quantile: number) {
    if (!(quantile > 0 && quantile <= 1)) throw new RangeError(`quantile must be in (0, 1], got ${quantile}`);
  }

  add(ms: number): void {
    if (!Number.isFinite(ms) || ms < 0) return;
    if (this.samples.length < this.size) this.samples.push(ms);
    else this.samples[this.next] = ms;
    this.next = (this.next + 1) % this.size;
    if (++this.sinceRecompute >= RECOMPUTE_EVERY || this.samples.length < this.size) this.cached = undefined;
  }

  get count(): number {
    return this.samples.length;
  }

  /** The window's `quantile` (nearest rank), or undefined when it is empty. */
  value(): number | undefined {
    if (this.samples.length === 0) return undefined;
    if (this.cached === undefined) {
      const sorted = [...this.samples].sort((a, b) => a - b);
      this.cached = sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(this.quantile * sorted.length) - 1))];
      this.sinceRecompute = 0;
    }
    return this.cached;
  }
}
