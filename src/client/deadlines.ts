// Deadlines of small API calls: how long one attempt may take, how that grows
// with the size of what is asked for and with each retry, and the bound on a
// whole call (its attempts, hedges, backoff and Retry-After waits together).
//
// Why these numbers (measured; the README's "Timeouts" section has the table):
// - On the emulator (2 shared cores, 16 calls at once) the slowest metadata,
//   download-URL, mkdir, PATCH or delete answer took 50 ms, and a listing page
//   of 1,000 entries at most 0.7 s (10,000 entries, 4 listings at once: 2.5 s).
// - Through a delay proxy modelling a 300 ms round trip, with TLS, a metadata
//   call took 0.3 s on a reused connection and 0.6 s on a new one (0.9 s with
//   the TCP handshake, which the proxy does not model); 16 at once, 0.4 s.
// - So a 5 s first-attempt deadline (`metadataTimeoutMs`) is 5× a slow link's
//   slowest small call and 100× the emulator's, while a server that stalls
//   costs seconds instead of the minute of the outer `requestTimeoutMs`.
// - Listing pages and the end of an upload do work per entry or per part:
//   their deadline is one metadataTimeout per 1,000 entries asked for (or
//   parts assembled), so `--per-page 10000` gets 50 s, not 5.
// - Each retry doubles the deadline (5, 10, 20 s, … capped at
//   requestTimeoutMs): a server that is slow rather than stalled still
//   answers one of the attempts.
// - A whole call never takes more than CALL_BUDGET_DEADLINES first-attempt
//   deadlines (15 s with the defaults): the last attempt's deadline is cut to
//   what is left, and a retry whose wait would not fit is not made.
import { TimeoutError } from './errors.js';
import { followSignals } from './follow-signals.js';

/** Entries per listing page (or parts of an upload's end) that one metadataTimeout covers. */
export const ITEMS_PER_DEADLINE = 1_000;

/** A small call's total time is at most this many of its first-attempt deadlines. */
export const CALL_BUDGET_DEADLINES = 3;

/** How many ITEMS_PER_DEADLINE a call about `items` entries or parts covers (at least 1). */
export function itemScale(items = 1): number {
  return Math.max(1, Math.ceil(items / ITEMS_PER_DEADLINE));
}

/** The first attempt's deadline for a call about `items` entries or parts (1 for a plain call). */
export function baseDeadlineMs(metadataTimeoutMs: number, items = 1): number {
  return metadataTimeoutMs * itemScale(items);
}

/** Attempt `attempt`'s deadline (1-based): doubled per retry, never beyond the outer request timeout. */
export function attemptDeadlineMs(baseMs: number, attempt: number, outerMs: number): number {
  return Math.min(outerMs, baseMs * 2 ** Math.max(0, attempt - 1));
}

/** The bound on a whole call (every attempt, hedge and wait) whose first deadline is `baseMs`. */
export function callBudgetMs(baseMs: number): number {
  return baseMs * CALL_BUDGET_DEADLINES;
}

/** The reason a request's signal is aborted with when its deadline passes. */
export class DeadlineExceededError extends TimeoutError {}

/**
 * An AbortController that follows `parents` (the caller's signal, and the
 * signal that stops the losing half of a hedge) and aborts by itself after
 * `ms` with a DeadlineExceededError. `dispose()` clears the timer and
 * unlinks the parents; call it when the request is over.
 */
export class Deadline {
  private readonly controller = new AbortController();
  private readonly timer: NodeJS.Timeout | undefined;
  private readonly unlink: () => void;

  constructor(ms: number | undefined, parents: ReadonlyArray<AbortSignal | undefined>, label: string) {
    this.unlink = followSignals(this.controller, parents);
    if (ms !== undefined && !this.controller.signal.aborted) {
      this.timer = setTimeout(() => {
        this.controller.abort(new DeadlineExceededError({ message: `${label}: no answer within ${formatMs(ms)}`, operation: label }));
      }, ms);
    }
  }

  get signal(): AbortSignal {
    return this.controller.signal;
  }

  /** True when the timer (not a parent) stopped the request. */
  get expired(): boolean {
    return this.controller.signal.aborted && this.controller.signal.reason instanceof DeadlineExceededError;
  }

  dispose(): void {
    if (this.timer) clearTimeout(this.timer);
    this.unlink();
  }
}

/** "5 s", "250 ms". */
export function formatMs(ms: number): string {
  return ms >= 1_000 && ms % 100 === 0 ? `${ms / 1000} s` : `${Math.round(ms)} ms`;
}
