// Hedged requests for idempotent reads (metadata, a listing page, a download
// URL, a byte range): when the first request has had no answer after a
// threshold, the same request is sent again and the first answer wins; the
// other request is aborted (undici then destroys its socket, so a stalled
// connection never goes back into the pool). With one request per connection
// (no pipelining), the hedge always travels on another connection. This is
// "The Tail at Scale" (Dean & Barroso, 2013): hedge after the 95th percentile
// of recent latencies, at a cost of about 5 % more requests.
//
// When the pool has neither an idle connection nor room for a new one, a
// hedge would only queue behind the requests already waiting, while the
// stalled request keeps its connection: then the first request is abandoned
// and sent again in its place (a resend). Calls that may be sent again but
// not twice at once (resendable, see ResendKind: opening an upload, the end
// of a one-part upload) are always resent that way, never hedged. Upload
// parts are not raced (their time grows with their size); their stall watch
// cuts the wait for the answer short the same way (patienceMs, take).
//
// Without an answer one threshold later still, another copy goes (in place of
// the older of the two running): a copy that met a stall too is not waited
// out either.
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
// Bounded: a token bucket grants HEDGE_RATIO of a token per request that may
// be hedged or resent and holds at most HEDGE_BURST; a hedge or an early
// resend takes one. Over N such requests at most HEDGE_RATIO·N + HEDGE_BURST
// extra requests are sent, whatever the server does; without a token the
// request waits for its own deadline.
//
// Measured (README "When the server is slow, stalls or is down"): on the
// emulator with 10 % injected faults a few hundred metadata calls sent hedges
// for about the 2 % of calls that stalled, and each such call took the
// threshold plus one answer instead of a deadline.
import type { ClientStats } from './client-stats.js';
import { LatencyWindow } from './latency-window.js';
import type { LatencyKind } from './request-kind.js';

export const HEDGE_QUANTILE = 0.95;
/** Latencies kept per kind. */
export const WINDOW_SIZE = 128;
/** Latencies needed before the window's quantile is trusted. */
export const MIN_SAMPLES = 20;
/**
 * Never hedge sooner: below this a wait is load, not a stall. Small calls on
 * the emulator took up to 50 ms at 16 at once (more on a machine shared by
 * many), a metadata call through a 300 ms round trip 0.3 s on an open
 * connection (0.9 s on a new TLS one, but the wait counts from the moment
 * the request is written to its connection: connecting is not in it). A
 * hedge is a billable request. At 10 % faults with 2 % of requests stalled
 * (the bench's fault row) a floor of 1 s instead made each stall on a
 * program's path cost a second.
 */
export const HEDGE_FLOOR_MS = 500;
/** Before MIN_SAMPLES latencies are known: the link may be slow, and nothing says how slow yet. */
export const INITIAL_MS = 1_000;
/** Tokens granted per hedgeable request: at most 5 % extra requests. */
export const HEDGE_RATIO = 0.05;
/**
 * Tokens the bucket holds (and starts with): the default pools' connections
 * (16 for API calls, 16 for transfers), so that stalls hitting every
 * connection at once can all be answered. With 10, a folder read-ahead (64
 * fetches at once) at 10 % faults ran out within 3 s, and the stalls after
 * that were waited out (the emulator drops them after 3 s; a real network
 * holds them for the deadline).
 */
export const HEDGE_BURST = 32;

/** Why the losing half of a hedge is aborted. */
export class HedgeLost extends Error {
  constructor() {
    super('another request for the same thing answered first');
    this.name = 'HedgeLost';
  }
}

/** Why a request without an answer is abandoned for a copy sent in its place. */
export class Resent extends Error {
  constructor(afterMs: number) {
    super(`no answer after ${Math.round(afterMs)} ms (later than recent answers); sent again`);
    this.name = 'Resent';
  }
}

export interface RaceOptions<T> {
  /** Whose recent latencies set the threshold. */
  kind: LatencyKind;
  /** The original request's deadline: the threshold stays below half of it. */
  deadlineMs: number;
  /** Thousands of entries the request asks for (a listing page), at least 1: scales the threshold. */
  scale?: number;
  /** True: an idempotent read, sent twice at once when a connection is free (else resent in its place). */
  hedge: boolean;
  /** True: may be sent again, never twice at once: at the threshold the first request is abandoned and resent. */
  resend?: boolean;
  /** Told when a request was abandoned for a copy (it may still have been carried out). */
  onResend?: () => void;
  /** Is there a connection for a hedge (an idle one, or room for a new one)? */
  spareConnection: () => boolean;
  /** The caller's signal: once it fires, the race ends with the first request's abort. */
  signal?: AbortSignal | undefined;
  label: string;
  /**
   * Starts one request; `lost` fires (reason HedgeLost) when the other one
   * answered first, or (reason Resent) when it is abandoned for a copy.
   * `hedge`: this is the second request. `onSocket`: to be called when the
   * request is written to a connection (transport's onSocket): the
   * threshold counts from there, so a request waiting in the pool's queue
   * behind others is never taken for a stalled one.
   */
  start: (lost: AbortSignal, hedge: boolean, onSocket: () => void) => Promise<T>;
  /** True for failures that are an answer (an HTTP error, an abort): they end the race at once. */
  decisive: (err: unknown) => boolean;
  /** Frees an answer that arrived after the race was decided (e.g. dumps its body). */
  discard?: (value: T) => void;
}

export class Hedger {
  private readonly windows = new Map<LatencyKind, LatencyWindow>();
  private tokens = HEDGE_BURST;

  constructor(private readonly stats: ClientStats) {}

  private window(kind: LatencyKind): LatencyWindow {
    let w = this.windows.get(kind);
    if (!w) {
      w = new LatencyWindow(WINDOW_SIZE, HEDGE_QUANTILE);
      this.windows.set(kind, w);
    }
    return w;
  }

  /** Records how long a request of `kind` took to answer; `scale`: thousands of entries it asked for (at least 1). */
  record(kind: LatencyKind, ms: number, scale = 1): void {
    this.window(kind).add(ms / scale);
  }

  /** How long a request of `kind` with this deadline (and scale, as for record) waits before its hedge is sent. */
  thresholdMs(kind: LatencyKind, deadlineMs: number, scale = 1): number {
    return Math.max(1, Math.min(deadlineMs / 2, this.patienceMs(kind) * scale));
  }

  /** How long an answer of `kind` is waited for before the request counts as slower than recent ones (at least HEDGE_FLOOR_MS). */
  patienceMs(kind: LatencyKind): number {
    const w = this.window(kind);
    const recent = w.count >= MIN_SAMPLES ? w.value()! : INITIAL_MS;
    return Math.max(HEDGE_FLOOR_MS, recent);
  }

  /** A request that may be hedged or resent is starting: it earns its share of a token. */
  grant(): void {
    this.tokens = Math.min(HEDGE_BURST, this.tokens + HEDGE_RATIO);
  }

  /** Takes a token for an extra request (a hedge or an early resend); false when none is left. */
  take(): boolean {
    if (this.tokens < 1) return false;
    this.tokens -= 1;
    return true;
  }

  /** Hedge tokens left (for tests and status). */
  get budget(): number {
    return this.tokens;
  }

  /**
   * Runs `start` and, if it has not answered by the threshold, once more
   * (alongside, or in its place); the first answer wins.
   */
  race<T>(o: RaceOptions<T>): Promise<T> {
    const resend = o.resend === true;
    if (o.hedge || resend) this.grant();
    return new Promise<T>((resolve, reject) => {
      interface Leg { lost: AbortController; running: boolean; replaced?: true }
      const legs: Leg[] = [];
      let settled = false;
      let timer: NodeJS.Timeout | undefined;
      /** The last failure of a request that was not abandoned for a copy. */
      let failure: { err: unknown } | undefined;

      const finish = (winner: Leg | undefined, settle: () => void): void => {
        settled = true;
        if (timer) clearTimeout(timer);
        for (const leg of legs) if (leg !== winner && leg.running) leg.lost.abort(new HedgeLost());
        settle();
      };
      const launch = (hedge: boolean, onSocket: () => void = () => undefined): void => {
        const leg: Leg = { lost: new AbortController(), running: true };
        legs.push(leg);
        o.start(leg.lost.signal, hedge, onSocket).then(
          (value) => {
            leg.running = false;
            if (settled) return void o.discard?.(value);
            if (hedge) this.stats.hedgeWon();
            finish(leg, () => resolve(value));
          },
          (err: unknown) => {
            leg.running = false;
            if (settled) return;
            // A request abandoned for a copy fails with that abort: the copy's outcome decides.
            if (!leg.replaced) failure = { err };
            // An answer (or the caller's abort) ends the race; a failure
            // without one waits for the other request, if there is one.
            const decided = !leg.replaced && (o.decisive(err) || o.signal?.aborted === true);
            if (decided || !legs.some((l) => l.running)) {
              const last = failure ?? { err };
              finish(undefined, () => reject(last.err));
            }
          },
        );
      };

      if (!o.hedge && !resend) return launch(false);
      const thresholdMs = this.thresholdMs(o.kind, o.deadlineMs, o.scale);
      // Every threshold without an answer, one more copy (a token each): a
      // copy that meets a stall too is not waited out either. At most two
      // requests run at once; with two running, the older is replaced.
      const onTime = (): void => {
        timer = undefined;
        const running = legs.filter((l) => l.running);
        if (settled || running.length === 0 || o.signal?.aborted) return;
        // Two at once only for idempotent reads with a connection to spare; otherwise in place of the oldest.
        const alongside = o.hedge && running.length === 1 && o.spareConnection();
        if (!this.take()) return;
        this.stats.hedgeSent();
        const oldest = running[0]!;
        if (!alongside) {
          // Its failure, which comes later (asynchronously), no longer decides.
          oldest.replaced = true;
          o.onResend?.();
          oldest.lost.abort(new Resent(thresholdMs));
        }
        launch(true);
        timer = setTimeout(onTime, thresholdMs);
      };
      // The threshold counts from the moment the first request has a connection.
      let armed = false;
      launch(false, () => {
        if (settled || armed) return;
        armed = true;
        timer = setTimeout(onTime, thresholdMs);
      });
    });
  }
}
