// Injected failures (`--fault-rate P --faults LIST`): each API or transfer
// request is faulted with probability P, the kind drawn evenly from LIST.
//   429    rate-limited/too-many-requests, Retry-After: 1
//   500    internal server error
//   503    service-unavailable, Retry-After: 1
//   reset  the connection is destroyed: a download after some bytes of body,
//          an upload part while its body is being read, an API call before
//          any answer
//   stall  no answer at all for STALL_MS, then the connection is dropped
// Control endpoints (/__emulator/...) are never faulted.

export const FAULT_KINDS = ['429', '500', '503', 'reset', 'stall'] as const;
export type FaultKind = (typeof FAULT_KINDS)[number];

/** How long a stalled request is held (the issue says five minutes). */
export const STALL_MS = 5 * 60 * 1000;
/** Seconds clients are told to wait on 429/503. */
export const RETRY_AFTER_SECONDS = 1;
/** A reset download sends at most this much body first. */
export const RESET_AFTER_BYTES = 64 * 1024;

export function isFaultKind(value: string): value is FaultKind {
  return (FAULT_KINDS as readonly string[]).includes(value);
}

export class Faults {
  private rate = 0;
  private kinds: FaultKind[] = [];

  constructor(rate = 0, kinds: FaultKind[] = []) {
    this.configure(rate, kinds);
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

  /** The fault for this request, or null. */
  pick(random: () => number = Math.random): FaultKind | null {
    if (this.rate <= 0 || this.kinds.length === 0 || random() >= this.rate) return null;
    return this.kinds[Math.floor(random() * this.kinds.length)] ?? null;
  }
}
