// The pieces that bound a request's time, one at a time, on a virtual clock
// (vitest's fake timers): deadlines and the call budget, the latency window,
// hedging (threshold, first answer wins, the 5 % bucket), the stall watch's
// allowance, the server's health, and the stats snapshot.
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { ClientStats, outcomeOf } from '../../src/client/client-stats.js';
import { attemptDeadlineMs, baseDeadlineMs, callBudgetMs, Deadline, DeadlineExceededError } from '../../src/client/deadlines.js';
import { NetworkError, NotFoundError, TimeoutError } from '../../src/client/errors.js';
import { FAILURES_TO_UNREACHABLE, Health, ServerUnreachableError, SILENCE_TO_UNREACHABLE_MS } from '../../src/client/health.js';
import { HEDGE_BURST, HEDGE_FLOOR_MS, HEDGE_RATIO, Hedger, HedgeLost, INITIAL_MS, MIN_SAMPLES, Resent } from '../../src/client/hedging.js';
import { LatencyWindow } from '../../src/client/latency-window.js';
import { LinkRate, SEND_BUFFER_BYTES, SLOWEST_LINK_BYTES_PER_S, StallError, StallWatch } from '../../src/client/stall-watch.js';
import { createLogger } from '../../src/log/logger.js';

/** Timers and clocks only: sockets, setImmediate and nextTick stay real. */
const FAKE: Parameters<typeof vi.useFakeTimers>[0] = { toFake: ['setTimeout', 'clearTimeout', 'setInterval', 'clearInterval', 'Date', 'performance'] };
const quiet = createLogger({ level: 'silent' });

beforeEach(() => {
  vi.useFakeTimers(FAKE);
});
afterEach(() => {
  vi.useRealTimers();
});

/** A promise settled by hand, and whether it has been. */
function pending<T>() {
  let resolve!: (v: T) => void;
  let reject!: (e: unknown) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

describe('deadlines', () => {
  it('5 s per 1,000 entries, doubling per retry up to the outer timeout, a call budget of three first deadlines', () => {
    expect(baseDeadlineMs(5_000)).toBe(5_000);
    expect(baseDeadlineMs(5_000, 1_000)).toBe(5_000);
    expect(baseDeadlineMs(5_000, 1_001)).toBe(10_000);
    expect(baseDeadlineMs(5_000, 10_000)).toBe(50_000);
    expect([1, 2, 3, 4, 5].map((n) => attemptDeadlineMs(5_000, n, 60_000))).toEqual([5_000, 10_000, 20_000, 40_000, 60_000]);
    expect(callBudgetMs(5_000)).toBe(15_000);
  });

  it('a Deadline aborts its signal with DeadlineExceededError after its time, and follows its parents', () => {
    const d = new Deadline(1_000, [undefined], 'GET /x');
    vi.advanceTimersByTime(999);
    expect(d.signal.aborted).toBe(false);
    vi.advanceTimersByTime(1);
    expect(d.expired).toBe(true);
    expect(d.signal.reason).toBeInstanceOf(DeadlineExceededError);
    expect(d.signal.reason).toBeInstanceOf(TimeoutError);
    expect((d.signal.reason as Error).message).toBe('GET /x: no answer within 1 s');

    const parent = new AbortController();
    const e = new Deadline(1_000, [parent.signal], 'GET /y');
    parent.abort(new Error('caller gave up'));
    expect(e.signal.aborted).toBe(true);
    expect(e.expired).toBe(false);
    e.dispose();
  });
});

describe('LatencyWindow', () => {
  it('gives the nearest-rank quantile of the last `size` samples', () => {
    const w = new LatencyWindow(100, 0.95);
    expect(w.value()).toBeUndefined();
    for (let i = 1; i <= 100; i++) w.add(i);
    expect(w.value()).toBe(95);
    // 100 more, all 1000: the old ones are gone.
    for (let i = 0; i < 100; i++) w.add(1_000);
    expect(w.value()).toBe(1_000);
    expect(w.count).toBe(100);
  });
});

describe('Hedger', () => {
  const race = (h: Hedger, start: (lost: AbortSignal, hedge: boolean) => Promise<string>, extra: { spareConnection?: () => boolean; hedge?: boolean; resend?: boolean; onResend?: () => void } = {}) =>
    // Each request has its connection at once (the threshold counts from there).
    h.race<string>({ kind: 'metadata', deadlineMs: 5_000, hedge: true, spareConnection: () => true, label: 'GET /x', start: (lost, hedge, onSocket) => (onSocket(), start(lost, hedge)), decisive: (e) => !(e instanceof TimeoutError), ...extra });

  it('threshold: 1 s until enough samples, then the p95 of recent latencies, at least the floor (0.5 s), at most half the deadline, scaled by the entries asked for', () => {
    const h = new Hedger(new ClientStats());
    expect(h.thresholdMs('metadata', 5_000)).toBe(INITIAL_MS);
    expect(h.thresholdMs('metadata', 400)).toBe(200);
    for (let i = 0; i < MIN_SAMPLES; i++) h.record('metadata', 10);
    expect(h.thresholdMs('metadata', 5_000)).toBe(HEDGE_FLOOR_MS);
    for (let i = 0; i < 200; i++) h.record('metadata', i < 190 ? 1_500 : 4_000);
    expect(h.thresholdMs('metadata', 5_000)).toBe(2_500);
    for (let i = 0; i < 200; i++) h.record('metadata', 1_500);
    expect(h.thresholdMs('metadata', 5_000)).toBe(1_500);
    // Other kinds keep their own window; a page of 10,000 entries waits ten times as long.
    expect(h.thresholdMs('listing', 5_000)).toBe(INITIAL_MS);
    expect(h.thresholdMs('listing', 50_000, 10)).toBe(10 * INITIAL_MS);
    for (let i = 0; i < MIN_SAMPLES; i++) h.record('listing', 20_000, 10);
    expect(h.thresholdMs('listing', 50_000, 10)).toBe(20_000);
    expect(h.thresholdMs('listing', 5_000, 1)).toBe(2_000);
  });

  it('sends the hedge after the threshold; the first answer wins and the other request is told it lost', async () => {
    const stats = new ClientStats();
    const h = new Hedger(stats);
    const first = pending<string>();
    const lostReasons: unknown[] = [];
    const result = race(h, (lost, hedge) => {
      lost.addEventListener('abort', () => lostReasons.push(lost.reason));
      return hedge ? Promise.resolve('hedge') : first.promise;
    });
    await vi.advanceTimersByTimeAsync(INITIAL_MS - 1);
    expect(stats.snapshot().hedges.sent).toBe(0);
    await vi.advanceTimersByTimeAsync(1);
    expect(await result).toBe('hedge');
    expect(stats.snapshot().hedges).toEqual({ sent: 1, won: 1 });
    expect(lostReasons).toHaveLength(1);
    expect(lostReasons[0]).toBeInstanceOf(HedgeLost);
  });

  it('no second request when the answer comes first, or when not asked to', async () => {
    const stats = new ClientStats();
    const h = new Hedger(stats);
    expect(await race(h, () => Promise.resolve('fast'))).toBe('fast');
    const slow = () => new Promise<string>((r) => setTimeout(() => r('slow'), 3_000));
    const b = race(h, slow, { hedge: false });
    await vi.advanceTimersByTimeAsync(3_000);
    expect(await b).toBe('slow');
    expect(stats.snapshot().hedges.sent).toBe(0);
  });

  it('no spare connection for a hedge: the first request is abandoned (told Resent) and sent again in its place', async () => {
    const stats = new ClientStats();
    const h = new Hedger(stats);
    const started: boolean[] = [];
    const reasons: unknown[] = [];
    let resent = 0;
    const p = race(
      h,
      (lost, hedge) => {
        started.push(hedge);
        // The first never answers unless aborted; the copy answers after 100 ms.
        if (hedge) return new Promise<string>((r) => setTimeout(() => r('copy'), 100));
        return new Promise<string>((_, rej) => lost.addEventListener('abort', () => (reasons.push(lost.reason), rej(new Error('aborted')))));
      },
      { spareConnection: () => false, onResend: () => resent++ },
    );
    await vi.advanceTimersByTimeAsync(INITIAL_MS);
    // At the threshold: the first is aborted and the copy is running, never both.
    expect(started).toEqual([false, true]);
    expect(reasons).toHaveLength(1);
    expect(reasons[0]).toBeInstanceOf(Resent);
    expect(resent).toBe(1);
    await vi.advanceTimersByTimeAsync(100);
    // The abandoned request's failure does not end the race: the copy's answer does.
    expect(await p).toBe('copy');
    expect(stats.snapshot().hedges).toEqual({ sent: 1, won: 1 });
  });

  it('a resendable call (never two at once) is resent at its threshold, from its own latencies, within the same budget', async () => {
    const stats = new ClientStats();
    const h = new Hedger(stats);
    for (let i = 0; i < MIN_SAMPLES; i++) h.record('upload-begin', 2_000);
    // Its own window: 2 s, not the floor that 'change' or another kind would give.
    expect(h.thresholdMs('upload-begin', 10_000)).toBe(2_000);
    expect(h.thresholdMs('change', 10_000)).toBe(INITIAL_MS);
    let copies = 0;
    const spare = vi.fn(() => true);
    const p = h.race<string>({
      kind: 'upload-begin', deadlineMs: 10_000, hedge: false, resend: true, spareConnection: spare, label: 'POST begin_upload', decisive: () => false,
      start: (lost, copy, onSocket) => {
        onSocket();
        if (copy) copies++;
        return copy ? Promise.resolve('copy') : new Promise<string>((_, rej) => lost.addEventListener('abort', () => rej(new Error('aborted'))));
      },
    });
    await vi.advanceTimersByTimeAsync(1_999);
    expect(copies).toBe(0);
    await vi.advanceTimersByTimeAsync(1);
    expect(await p).toBe('copy');
    expect(copies).toBe(1);
    // Never asked for a spare connection: it is never sent twice at once.
    expect(spare).not.toHaveBeenCalled();

    // Without a token, the first request is kept and waited for.
    while (h.take());
    let second = 0;
    const q = h.race<string>({
      kind: 'upload-begin', deadlineMs: 10_000, hedge: false, resend: true, spareConnection: () => true, label: 'POST begin_upload', decisive: () => false,
      start: (_lost, copy, onSocket) => (onSocket(), copy ? (second++, Promise.resolve('copy')) : new Promise<string>((r) => setTimeout(() => r('first'), 5_000))),
    });
    await vi.advanceTimersByTimeAsync(5_000);
    expect(await q).toBe('first');
    expect(second).toBe(0);
  });

  it('the threshold counts from the moment the request has a connection: one waiting in the queue is never resent', async () => {
    const stats = new ClientStats();
    const h = new Hedger(stats);
    let socket!: () => void;
    let copies = 0;
    const p = h.race<string>({
      kind: 'metadata', deadlineMs: 60_000, hedge: true, spareConnection: () => false, label: 'GET /x', decisive: () => true,
      start: (_lost, copy, onSocket) => {
        if (copy) return (copies++, Promise.resolve('copy'));
        socket = onSocket;
        return new Promise<string>(() => {});
      },
    });
    // Queued behind others for 10 s: no hedge, no resend.
    await vi.advanceTimersByTimeAsync(10_000);
    expect(copies).toBe(0);
    // Written to a connection: the threshold starts now.
    socket();
    await vi.advanceTimersByTimeAsync(INITIAL_MS - 1);
    expect(copies).toBe(0);
    await vi.advanceTimersByTimeAsync(1);
    expect(await p).toBe('copy');
    expect(copies).toBe(1);
  });

  it('a copy that fails before the abandoned request has settled still ends the race, with the copy\'s failure', async () => {
    const h = new Hedger(new ClientStats());
    const copyFailure = new NetworkError({ message: 'the client is closed' });
    const p = race(
      h,
      (lost, copy) => {
        if (copy) return Promise.reject(copyFailure);
        // The abandoned request learns of its abort only later.
        return new Promise<string>((_, rej) => lost.addEventListener('abort', () => setTimeout(() => rej(new Error('aborted')), 50)));
      },
      { spareConnection: () => false },
    );
    const settled = p.catch((e: unknown) => e);
    await vi.advanceTimersByTimeAsync(INITIAL_MS + 100);
    expect(await settled).toBe(copyFailure);
  });

  it('a copy that gets no answer either is replaced one threshold later; never more than two at once', async () => {
    const stats = new ClientStats();
    const h = new Hedger(stats);
    let started = 0;
    let running = 0;
    let most = 0;
    const p = race(h, (lost) => {
      const n = ++started;
      running++;
      most = Math.max(most, running);
      lost.addEventListener('abort', () => running--);
      // The first two never answer; the third does.
      return n === 3 ? Promise.resolve('third') : new Promise<string>(() => {});
    });
    await vi.advanceTimersByTimeAsync(INITIAL_MS);
    expect(started).toBe(2);
    await vi.advanceTimersByTimeAsync(INITIAL_MS);
    expect(await p).toBe('third');
    expect(started).toBe(3);
    expect(most).toBe(2);
    expect(stats.snapshot().hedges).toEqual({ sent: 2, won: 1 });
  });

  it('an HTTP answer ends the race; a failure without one waits for the other request', async () => {
    const h = new Hedger(new ClientStats());
    const notFound = new NotFoundError({ message: 'gone', status: 404 });
    const p1 = race(h, (_lost, hedge) => (hedge ? new Promise<string>(() => {}) : new Promise<string>((_, rej) => setTimeout(() => rej(notFound), 2_000))));
    const p1Settled = p1.catch((e: unknown) => e);
    await vi.advanceTimersByTimeAsync(2_000);
    expect(await p1Settled).toBe(notFound);

    const timeout = new TimeoutError({ message: 'no answer' });
    const p2 = race(h, (_lost, hedge) => (hedge ? new Promise<string>((r) => setTimeout(() => r('hedge'), 2_000)) : new Promise<string>((_, rej) => setTimeout(() => rej(timeout), 1_500))));
    await vi.advanceTimersByTimeAsync(3_000);
    expect(await p2).toBe('hedge');
  });

  it(`sends at most ${HEDGE_RATIO * 100} % extra requests (plus a burst of ${HEDGE_BURST}) however slow every answer is`, async () => {
    const stats = new ClientStats();
    const h = new Hedger(stats);
    const N = 1_000;
    let hedgesStarted = 0;
    for (let i = 0; i < N; i++) {
      // The original never answers in time; a hedge answers at once.
      const p = race(h, (_lost, hedge) => {
        if (hedge) hedgesStarted++;
        return hedge ? Promise.resolve('h') : new Promise<string>((r) => setTimeout(() => r('slow'), 3_000));
      });
      await vi.advanceTimersByTimeAsync(3_000);
      await p;
    }
    const sent = stats.snapshot().hedges.sent;
    expect(sent).toBe(hedgesStarted);
    expect(sent).toBeLessThanOrEqual(HEDGE_RATIO * N + HEDGE_BURST);
    // …and the budget was used: every token became a hedge.
    expect(sent).toBeGreaterThanOrEqual(HEDGE_RATIO * N);
  });
});

describe('StallWatch', () => {
  it('aborts with StallError after stallTimeoutMs without bytes, not while they come', async () => {
    const stalls: number[] = [];
    const w = new StallWatch(1_000, [], 'GET download a', () => stalls.push(1));
    for (let i = 0; i < 20; i++) {
      await vi.advanceTimersByTimeAsync(900);
      w.received();
    }
    expect(w.signal.aborted).toBe(false);
    await vi.advanceTimersByTimeAsync(1_000);
    expect(w.stalled).toBe(true);
    expect(w.signal.reason).toBeInstanceOf(StallError);
    expect((w.signal.reason as Error).message).toMatch(/^GET download a: no data moved for 1\.0 s \(stall timeout 1 s\)$/);
    expect(stalls).toEqual([1]);
    w.dispose();
  });

  it('waits for what the kernel holds of a request body: min(pulled, buffer) at the slowest rate, less once the link is known to be fast', () => {
    const w = new StallWatch(10_000, [], 'PUT part');
    w.sent(SEND_BUFFER_BYTES + 1024 * 1024);
    // Just started: nothing proves any byte left; a full buffer at 512 kbit/s.
    expect(w.allowedSilenceMs()).toBeCloseTo(10_000 + (SEND_BUFFER_BYTES / SLOWEST_LINK_BYTES_PER_S) * 1000, 0);
    // After the answer began, only the stall timeout.
    w.received();
    expect(w.allowedSilenceMs()).toBe(10_000);
    w.dispose();

    const fast = new StallWatch(10_000, [], 'PUT part', undefined, 50 * 1024 * 1024);
    fast.sent(4 * 1024 * 1024);
    expect(fast.allowedSilenceMs()).toBeCloseTo(10_000 + 80, 0);
    fast.dispose();
  });

  it('patience: the wait for an answer is cut short at the patience (plus the buffered bytes) when a token is granted, else waits the full stall time', async () => {
    let tokens = 1;
    const take = () => (tokens > 0 ? (tokens--, true) : false);
    const stalls: number[] = [];
    const w = new StallWatch(10_000, [], 'PUT upload part 1 a', () => stalls.push(1), 64 * 1024 * 1024, { ms: 1_000, take });
    w.sent(4096);
    await vi.advanceTimersByTimeAsync(999);
    expect(w.signal.aborted).toBe(false);
    await vi.advanceTimersByTimeAsync(10);
    expect(w.stalled).toBe(true);
    expect((w.signal.reason as Error).message).toMatch(/^PUT upload part 1 a: no answer 1\.0 s after the request was sent, longer than recent answers took; sending it again$/);
    expect(stalls).toEqual([1]);
    w.dispose();

    // No token left: the full stall time.
    const v = new StallWatch(10_000, [], 'PUT upload part 2 a', undefined, 64 * 1024 * 1024, { ms: 1_000, take });
    v.sent(4096);
    await vi.advanceTimersByTimeAsync(9_000);
    expect(v.signal.aborted).toBe(false);
    await vi.advanceTimersByTimeAsync(1_100);
    expect(v.stalled).toBe(true);
    v.dispose();

    // Once the answer has begun, patience no longer applies: a slow body is judged by stallMs alone.
    tokens = 1;
    const u = new StallWatch(10_000, [], 'PUT upload part 3 a', undefined, 0, { ms: 1_000, take });
    u.sent(4096);
    await vi.advanceTimersByTimeAsync(500);
    u.received();
    await vi.advanceTimersByTimeAsync(9_000);
    expect(u.signal.aborted).toBe(false);
    expect(tokens).toBe(1);
    u.dispose();
  });

  it('held while the request waits for a connection: its silence and its patience count from connected()', async () => {
    const w = new StallWatch(10_000, [], 'PUT upload part 1 a', undefined, 0, { ms: 1_000, take: () => true });
    w.hold();
    await vi.advanceTimersByTimeAsync(30_000);
    expect(w.signal.aborted).toBe(false);
    w.connected();
    // The transfer's time counts from its connection, not from the wait before.
    expect(w.elapsedMs()).toBe(0);
    w.sent(4096);
    await vi.advanceTimersByTimeAsync(900);
    expect(w.signal.aborted).toBe(false);
    await vi.advanceTimersByTimeAsync(200);
    expect(w.stalled).toBe(true);
    w.dispose();
  });

  it('is paused while the consumer holds the body', async () => {
    const w = new StallWatch(1_000, [], 'GET stream');
    w.hold();
    await vi.advanceTimersByTimeAsync(10_000);
    expect(w.signal.aborted).toBe(false);
    w.release();
    await vi.advanceTimersByTimeAsync(999);
    expect(w.signal.aborted).toBe(false);
    await vi.advanceTimersByTimeAsync(1_100);
    expect(w.stalled).toBe(true);
  });

  it('LinkRate expects half the slowest of the recent parts, ignoring small ones', () => {
    const r = new LinkRate();
    expect(r.expected()).toBe(0);
    r.record(100, 1); // too small to say anything
    expect(r.expected()).toBe(0);
    r.record(5 * 1024 * 1024, 1_000);
    r.record(5 * 1024 * 1024, 10_000);
    expect(r.expected()).toBeCloseTo((5 * 1024 * 1024) / 10 / 2, 0);
  });
});

describe('Health', () => {
  const failure = () => new NetworkError({ message: 'GET /x: connect ECONNREFUSED' });
  /** Failures in a row, spread over the silence it takes. */
  const takeDown = (h: Health) => {
    for (let i = 0; i < FAILURES_TO_UNREACHABLE; i++) {
      h.failed(failure());
      if (i < FAILURES_TO_UNREACHABLE - 1) vi.advanceTimersByTime(SILENCE_TO_UNREACHABLE_MS / (FAILURES_TO_UNREACHABLE - 1));
    }
  };

  it(`is unreachable after ${FAILURES_TO_UNREACHABLE} requests in a row without an answer over ${SILENCE_TO_UNREACHABLE_MS / 1000} s, reachable again at the first answer`, () => {
    const h = new Health(quiet, () => new Promise(() => {}));
    const changes: string[] = [];
    h.onChange((s) => changes.push(s.state));
    h.failed(failure());
    h.answered();
    const startedAt = Date.now();
    takeDown(h);
    const down = h.snapshot();
    expect(down).toMatchObject({ state: 'unreachable', consecutiveFailures: FAILURES_TO_UNREACHABLE, lastError: 'GET /x: connect ECONNREFUSED' });
    expect(down.since!.getTime()).toBe(startedAt);
    h.answered();
    expect(h.snapshot()).toMatchObject({ state: 'reachable', since: null, consecutiveFailures: 0 });
    expect(changes).toEqual(['unreachable', 'reachable']);
    h.close();
  });

  it('a burst of failures without the silence (stale keep-alive connections, a server dropping some) is not an outage', () => {
    const h = new Health(quiet, () => new Promise(() => {}));
    for (let i = 0; i < 10; i++) h.failed(failure());
    vi.advanceTimersByTime(SILENCE_TO_UNREACHABLE_MS - 1);
    h.failed(failure());
    expect(h.snapshot()).toMatchObject({ state: 'reachable', consecutiveFailures: 11 });
    // An answer in between starts the count again.
    h.answered();
    vi.advanceTimersByTime(SILENCE_TO_UNREACHABLE_MS);
    h.failed(failure());
    h.failed(failure());
    expect(h.snapshot().state).toBe('reachable');
    h.close();
  });

  it('while unreachable: one caller probes, the others wait for it and fail, or go on when it found the server', async () => {
    const h = new Health(quiet, () => new Promise(() => {}));
    takeDown(h);
    expect(await h.admit(undefined, 5_000, 'GET /a')).toBe('probe');
    const waiting = h.admit(undefined, 5_000, 'GET /b').catch((e: unknown) => e);
    // The probe fails: the waiting caller fails with ServerUnreachableError, without a request of its own.
    h.failed(failure());
    h.probeDone();
    const err = await waiting;
    expect(err).toBeInstanceOf(ServerUnreachableError);
    expect((err as Error).message).toMatch(/^GET \/b: the server is unreachable since \S+ \(last error: GET \/x: connect ECONNREFUSED\)$/);
    expect(outcomeOf(err)).toBe('network');

    // Next probe finds the server: the waiting caller goes on.
    expect(await h.admit(undefined, 5_000, 'GET /c')).toBe('probe');
    const goesOn = h.admit(undefined, 5_000, 'GET /d');
    h.answered();
    h.probeDone();
    expect(await goesOn).toBe('go');
    h.close();
  });

  it('a caller waits for the probe at most `maxWaitMs`', async () => {
    const h = new Health(quiet, () => new Promise(() => {}));
    takeDown(h);
    expect(await h.admit(undefined, 5_000, 'GET /a')).toBe('probe');
    const waiting = h.admit(undefined, 2_000, 'GET /b').catch((e: unknown) => e);
    await vi.advanceTimersByTimeAsync(2_000);
    expect(await waiting).toBeInstanceOf(ServerUnreachableError);
    h.close();
  });

  it('probes in the background with growing pauses until the server answers', async () => {
    let probes = 0;
    const h = new Health(quiet, async () => {
      probes++;
      if (probes < 3) h.failed(failure());
      else h.answered();
    });
    takeDown(h);
    await vi.advanceTimersByTimeAsync(1_000);
    expect(probes).toBe(1);
    await vi.advanceTimersByTimeAsync(2_000);
    expect(probes).toBe(2);
    await vi.advanceTimersByTimeAsync(4_000);
    expect(probes).toBe(3);
    expect(h.snapshot().state).toBe('reachable');
    await vi.advanceTimersByTimeAsync(60_000);
    expect(probes).toBe(3);
    h.close();
  });
});

describe('ClientStats', () => {
  it('counts by kind and outcome and hands out frozen snapshots', () => {
    const s = new ClientStats();
    s.request('metadata', 'ok');
    s.request('metadata', outcomeOf(new TimeoutError({ message: 't' })));
    s.request('range', outcomeOf(new NotFoundError({ message: 'n', status: 404 })));
    s.request('part', outcomeOf(new HedgeLost()));
    s.bytesUp(10);
    s.bytesDown(20);
    const snap = s.snapshot();
    expect(snap.requests.metadata).toEqual({ ok: 1, 'http-error': 0, network: 0, timeout: 1, cancelled: 0 });
    expect(snap.requests.range['http-error']).toBe(1);
    expect(snap.requests.part.cancelled).toBe(1);
    expect(snap.bytes).toEqual({ up: 10, down: 20 });
    expect(Object.isFrozen(snap) && Object.isFrozen(snap.requests.metadata)).toBe(true);
    s.request('metadata', 'ok');
    expect(snap.requests.metadata.ok).toBe(1);
  });
});
