// Hedged requests for idempotent reads (metadata, a listing page, a download
// URL, a byte range): when the first request has had no answer after a
// threshold, the same request is sent again and the first answer wins; the
// other request is aborted (undici then destroys its socket, so a stalled
// connection never goes back into the pool). With one request per connection
// (no pipelining), the hedge always travels on another connection. This is
// "The Tail at Scale" (Dean & Barroso, 2013): hedge after the 95th percentile
// of recent latencies, at a cost of about 5 % more requests.
//
// Threshold per kind: the HEDGE_QUANTILE of the last WINDOW_SIZE latencies of
// that kind (answers; a request stopped by its deadline counts as taking the
// whole deadline), never below HEDGE_FLOOR_MS and never above half the
// request's deadline (so the hedge has time to answer before the original's
// deadline). Until MIN_SAMPLES latencies are known, INITIAL_MS. A request
// that asks for more (a listing page of 10,000 entries) has its latency
// recorded per 1,000 entries and its threshold scaled back up, like its
// deadline (deadlines.ts).
//
// Bounded: a token bucket grants HEDGE_RATIO of a token per hedgeable request
// and holds at most HEDGE_BURST; a hedge takes one. Over N requests at most
// HEDGE_RATIO·N + HEDGE_BURST hedges are sent, whatever the server does. No
// hedge is sent when the pool has neither an idle connection nor room for a
// new one: it would only queue behind the requests already waiting.
//
// Measured (README "When the server is slow, stalls or is down"): on the
// emulator with 10 % injected faults a few hundred metadata calls sent hedges
// for about the 2 % of calls that stalled, and each such call took the
// threshold plus one answer instead of a deadline.
import type { ClientStats } from './client-stats.js';
import { LatencyWindow } from './latency-window.js';
import type { RequestKind } from './request-kind.js';

export const HEDGE_QUANTILE = 0.95;
/** Latencies kept per kind. */
export const WINDOW_SIZE = 128;
/** Latencies needed before the window's quantile is trusted. */
export const MIN_SAMPLES = 20;
/**
 * Never hedge sooner: below this a wait is load, not a stall. Small calls on
 * the emulator took up to 50 ms at 16 at once (more on a machine shared by
 * many), a metadata call through a 300 ms round trip 0.3 s on an open
 * connection and 0.9 s on a new TLS one. A hedge is a billable request.
 */
export const HEDGE_FLOOR_MS = 1_000;
/** Before MIN_SAMPLES latencies are known. */
export const INITIAL_MS = HEDGE_FLOOR_MS;
/** Tokens granted per hedgeable request: at most 5 % extra requests. */
export const HEDGE_RATIO = 0.05;
/** Tokens the bucket holds (and starts with). */
export const HEDGE_BURST = 10;

/** Why the losing half of a hedge is aborted. */
export class HedgeLost extends Error {
  constructor() {
    super('another request for the same thing answered first');
    this.name = 'HedgeLost';
  }
}

export interface RaceOptions<T> {
  kind: RequestKind;
  /** The original request's deadline: the threshold stays below half of it. */
  deadlineMs: number;
  /** Thousands of entries the request asks for (a listing page), at least 1: scales the threshold. */
  scale?: number;
  /** False: no hedge for this one (e.g. a health probe). */
  hedge: boolean;
  /** Is there a connection for a hedge (an idle one, or room for a new one)? */
  spareConnection: () => boolean;
  /** The caller's signal: once it fires, the race ends with the first request's abort. */
  signal?: AbortSignal | undefined;
  label: string;
  /** Starts one request; `lost` fires (reason HedgeLost) when the other one answered first. */
  start: (lost: AbortSignal, hedge: boolean) => Promise<T>;
  /** True for failures that are an answer (an HTTP error, an abort): they end the race at once. */
  decisive: (err: unknown) => boolean;
  /** Frees an answer that arrived after the race was decided (e.g. dumps its body). */
  discard?: (value: T) => void;
}

export class Hedger {
  private readonly windows = new Map<RequestKind, LatencyWindow>();
  private tokens = HEDGE_BURST;

  constructor(private readonly stats: ClientStats) {}

  private window(kind: RequestKind): LatencyWindow {
    let w = this.windows.get(kind);
    if (!w) {
      w = new LatencyWindow(WINDOW_SIZE, HEDGE_QUANTILE);
      this.windows.set(kind, w);
    }
    return w;
  }

  /** Records how long a request of `kind` took to answer; `scale`: thousands of entries it asked for (at least 1). */
  record(kind: RequestKind, ms: number, scale = 1): void {
    this.window(kind).add(ms / scale);
  }

  /** How long a request of `kind` with this deadline (and scale, as for record) waits before its hedge is sent. */
  thresholdMs(kind: RequestKind, deadlineMs: number, scale = 1): number {
    const w = this.window(kind);
    const recent = w.count >= MIN_SAMPLES ? w.value()! : INITIAL_MS;
    return Math.max(1, Math.min(deadlineMs / 2, Math.max(HEDGE_FLOOR_MS, recent) * scale));
  }

  /** Hedge tokens left (for tests and status). */
  get budget(): number {
    return this.tokens;
  }

  /** Runs `start` and, if it has not answered by the threshold, once more; the first answer wins. */
  race<T>(o: RaceOptions<T>): Promise<T> {
    if (o.hedge) this.tokens = Math.min(HEDGE_BURST, this.tokens + HEDGE_RATIO);
    return new Promise<T>((resolve, reject) => {
      interface Leg { lost: AbortController; running: boolean }
      const legs: Leg[] = [];
      let settled = false;
      let timer: NodeJS.Timeout | undefined;

      const finish = (winner: Leg | undefined, settle: () => void): void => {
        settled = true;
        if (timer) clearTimeout(timer);
        for (const leg of legs) if (leg !== winner && leg.running) leg.lost.abort(new HedgeLost());
        settle();
      };
      const launch = (hedge: boolean): void => {
        const leg: Leg = { lost: new AbortController(), running: true };
        legs.push(leg);
        o.start(leg.lost.signal, hedge).then(
          (value) => {
            leg.running = false;
            if (settled) return void o.discard?.(value);
            if (hedge) this.stats.hedgeWon();
            finish(leg, () => resolve(value));
          },
          (err: unknown) => {
            leg.running = false;
            if (settled) return;
            // An answer (or the caller's abort) ends the race; a failure
            // without one waits for the other request, if there is one.
            if (o.decisive(err) || o.signal?.aborted || !legs.some((l) => l.running)) finish(undefined, () => reject(err));
          },
        );
      };

      launch(false);
      if (!o.hedge) return;
      timer = setTimeout(() => {
        timer = undefined;
        if (settled || !legs[0]!.running || this.tokens < 1 || !o.spareConnection()) return;
        this.tokens -= 1;
        this.stats.hedgeSent();
        launch(true);
      }, this.thresholdMs(o.kind, o.deadlineMs, o.scale));
    });
  }
}
