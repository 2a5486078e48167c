// Injected failures (`--fault-rate P --faults LIST`): each API or transfer
// request is faulted with probability P, the kind drawn evenly from LIST.
//   429    rate-limited/too-many-requests, Retry-After: 1
//   500    internal server error
//   503    service-unavailable, Retry-After: 1
//   reset  the connection is destroyed: a download after some bytes of body,
//          an upload part while its body is being read, an API call before
//          any answer
//   stall  no answer at all for the stall time (default STALL_MS, as long as
//          a real network can hold a request; `--stall-ms`), then the
//          connection is dropped
// Control endpoints (/__emulator/...) are never faulted.
//
// Draws come from a seeded generator when a seed is given (`--fault-seed`):
// every faultable request takes the next draw in arrival order, so the
// number of faults among the first N requests is the same on every run, and
// a test can replay the draws (`Faults` with the same seed) to know it.

export const FAULT_KINDS = ['429', '500', '503', 'reset', 'stall'] as const;
export type FaultKind = (typeof FAULT_KINDS)[number];

/** How long a stalled request is held by default (five minutes: a real dead link is that patient). */
export const STALL_MS = 5 * 60 * 1000;
/** Seconds clients are told to wait on 429/503. */
export const RETRY_AFTER_SECONDS = 1;
/** A reset download sends at most this much body first. */
export const RESET_AFTER_BYTES = 64 * 1024;

export function isFaultKind(value: string): value is FaultKind {
  return (FAULT_KINDS as readonly string[]).includes(value);
}

/** A small, fast seeded generator (mulberry32): uniform floats in [0, 1). */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export class Faults {
  private rate = 0;
  private kinds: FaultKind[] = [];
  private random: () => number = Math.random;
  private seed: number | null = null;

  constructor(rate = 0, kinds: FaultKind[] = [], seed?: number) {
    this.configure(rate, kinds);
    if (seed !== undefined) this.reseed(seed);
  }

  /** From now on draws come from a generator seeded with `seed` (restarting its sequence). */
  reseed(seed: number): void {
    if (!Number.isSafeInteger(seed) || seed < 0) throw new RangeError(`fault seed must be a whole number ≥ 0, got ${seed}`);
    this.seed = seed;
    this.random = seededRandom(seed);
  }

  get faultSeed(): number | null {
    return this.seed;
  }

  configure(rate: number | undefined, kinds: FaultKind[] | undefined): void {
    if (rate !== undefined) {
      if (!(rate >= 0 && rate <= 1)) throw new RangeError(`fault rate must be between 0 and 1, got ${rate}`);
      this.rate = rate;
    }
    if (kinds !== undefined) {
      for (const k of kinds) if (!isFaultKind(k)) throw new RangeError(`unknown fault kind ${JSON.stringify(k)}`);
      this.kinds = [...kinds];
    }
  }

  get faultRate(): number {
    return this.rate;
  }

  get faultKinds(): FaultKind[] {
    return [...this.kinds];
  }

  /** The fault for this request, or null. Takes one draw, and a second one for the kind when faulted. */
  pick(): FaultKind | null {
    if (this.rate <= 0 || this.kinds.length === 0 || this.random() >= this.rate) return null;
    return this.kinds[Math.floor(this.random() * this.kinds.length)] ?? null;
  }
}
