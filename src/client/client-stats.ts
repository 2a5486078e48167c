// Counters of what the client did: requests by kind and outcome, retries,
// hedges sent and won, stalls detected (a deadline or stall timer that fired),
// and body bytes each way. Recorded by api.ts, download.ts, upload.ts and
// resumable-stream.ts; read through `HttpFilesClient.stats`, a frozen
// snapshot (for `filesfs status` and metrics). Counting is a few integer
// increments per request: cheap enough to be always on.
import { FilesError, TimeoutError } from './errors.js';
import { REQUEST_KINDS, type RequestKind } from './request-kind.js';

/**
 * How one request (one HTTP exchange, a hedge included) ended:
 *   ok         a 2xx/3xx answer (or a 206/416 range answer)
 *   http-error any other HTTP answer (4xx, 5xx)
 *   network    no answer: refused, reset, DNS, TLS
 *   timeout    no answer (or no progress) within its deadline
 *   cancelled  stopped by us: the losing half of a hedge, or the caller's abort
 */
export const OUTCOMES = ['ok', 'http-error', 'network', 'timeout', 'cancelled'] as const;
export type Outcome = (typeof OUTCOMES)[number];

export interface ClientStatsSnapshot {
  readonly requests: Readonly<Record<RequestKind, Readonly<Record<Outcome, number>>>>;
  /** Attempts after a failed one (the retry loop's, and a stream's resumptions). */
  readonly retries: number;
  readonly hedges: { readonly sent: number; readonly won: number };
  /** Requests stopped by their deadline (small calls) or stall timer (transfers). */
  readonly stalls: number;
  /** Body bytes sent and received (API JSON, parts, downloads). */
  readonly bytes: { readonly up: number; readonly down: number };
}

function zeroOutcomes(): Record<Outcome, number> {
  return Object.fromEntries(OUTCOMES.map((o) => [o, 0])) as Record<Outcome, number>;
}

export class ClientStats {
  private readonly requests = Object.fromEntries(REQUEST_KINDS.map((k) => [k, zeroOutcomes()])) as Record<RequestKind, Record<Outcome, number>>;
  private retries = 0;
  private hedgesSent = 0;
  private hedgesWon = 0;
  private stalls = 0;
  private up = 0;
  private down = 0;

  request(kind: RequestKind, outcome: Outcome): void {
    this.requests[kind][outcome]++;
  }

  retry(): void {
    this.retries++;
  }

  hedgeSent(): void {
    this.hedgesSent++;
  }

  hedgeWon(): void {
    this.hedgesWon++;
  }

  stall(): void {
    this.stalls++;
  }

  bytesUp(n: number): void {
    this.up += n;
  }

  bytesDown(n: number): void {
    this.down += n;
  }

  snapshot(): ClientStatsSnapshot {
    const requests = Object.fromEntries(REQUEST_KINDS.map((k) => [k, Object.freeze({ ...this.requests[k] })])) as Record<RequestKind, Readonly<Record<Outcome, number>>>;
    return Object.freeze({
      requests: Object.freeze(requests),
      retries: this.retries,
      hedges: Object.freeze({ sent: this.hedgesSent, won: this.hedgesWon }),
      stalls: this.stalls,
      bytes: Object.freeze({ up: this.up, down: this.down }),
    });
  }
}

/** The outcome of a request that failed with `err` (see Outcome). */
export function outcomeOf(err: unknown): Outcome {
  if (!(err instanceof FilesError)) return 'cancelled';
  if (err.status !== undefined) return 'http-error';
  return err instanceof TimeoutError ? 'timeout' : 'network';
}
