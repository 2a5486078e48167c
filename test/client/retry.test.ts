import { describe, expect, it } from 'vitest';
import { BadRequestError, NetworkError, NotAuthenticatedError, RateLimitedError, ServerError, ServiceUnavailableError, TimeoutError } from '../../src/client/errors.js';
import { isRetryable, RetryPolicy, withRetries } from '../../src/client/retry.js';

const policy = (random: () => number, retries = 3) => new RetryPolicy({ retries, baseDelayMs: 500, maxDelayMs: 2000, random });

describe('RetryPolicy', () => {
  it('doubles from the base delay to the maximum, jittered by ±25 % and capped', () => {
    const low = policy(() => 0);
    const high = policy(() => 0.999999);
    const mid = policy(() => 0.5);
    expect([1, 2, 3, 4].map((n) => mid.backoffMs(n))).toEqual([500, 1000, 2000, 2000]);
    expect([1, 2, 3, 4].map((n) => low.backoffMs(n))).toEqual([375, 750, 1500, 1500]);
    expect([1, 2, 3, 4].map((n) => high.backoffMs(n))).toEqual([625, 1250, 2000, 2000]);
  });

  it('spreads delays over the jitter range', () => {
    const p = new RetryPolicy({ retries: 3, baseDelayMs: 500, maxDelayMs: 2000 });
    const seen = new Set(Array.from({ length: 200 }, () => p.backoffMs(1)));
    expect(seen.size).toBeGreaterThan(50);
    for (const d of seen) {
      expect(d).toBeGreaterThanOrEqual(375);
      expect(d).toBeLessThanOrEqual(625);
    }
  });

  it("uses the server's Retry-After instead of the backoff", () => {
    const p = policy(() => 0.5);
    expect(p.delayMs(1, new RateLimitedError({ message: 'slow down', status: 429, retryAfterMs: 1000 }))).toBe(1000);
    expect(p.delayMs(3, new ServiceUnavailableError({ message: 'busy', status: 503, retryAfterMs: 0 }))).toBe(0);
    expect(p.delayMs(2, new ServerError({ message: 'x', status: 500 }))).toBe(1000);
  });
});

describe('isRetryable', () => {
  it('retries network errors, timeouts, 429, 500, 502, 503, 504 only', () => {
    expect(isRetryable(new NetworkError({ message: 'reset' }))).toBe(true);
    expect(isRetryable(new TimeoutError({ message: 'stall' }))).toBe(true);
    for (const status of [500, 502, 504]) expect(isRetryable(new ServerError({ message: 'x', status }))).toBe(true);
    expect(isRetryable(new RateLimitedError({ message: 'x', status: 429 }))).toBe(true);
    expect(isRetryable(new ServiceUnavailableError({ message: 'x', status: 503 }))).toBe(true);
    expect(isRetryable(new ServerError({ message: 'x', status: 501 }))).toBe(false);
    expect(isRetryable(new TimeoutError({ message: 'x', status: 408 }))).toBe(false);
    expect(isRetryable(new NotAuthenticatedError({ message: 'x', status: 401 }))).toBe(false);
    expect(isRetryable(new BadRequestError({ message: 'x', status: 400 }))).toBe(false);
    expect(isRetryable(new Error('plain'))).toBe(false);
  });
});

describe('withRetries', () => {
  const fast = new RetryPolicy({ retries: 3, baseDelayMs: 1, maxDelayMs: 2 });

  it('retries transient failures up to the limit, then throws the last error', async () => {
    let calls = 0;
    await expect(withRetries(async () => { calls++; throw new ServerError({ message: `fail ${calls}`, status: 500 }); }, { policy: fast })).rejects.toThrow('fail 4');
    expect(calls).toBe(4);
  });

  it('stops at once on a permanent failure', async () => {
    let calls = 0;
    await expect(withRetries(async () => { calls++; throw new NotAuthenticatedError({ message: 'bad key', status: 401 }); }, { policy: fast })).rejects.toBeInstanceOf(NotAuthenticatedError);
    expect(calls).toBe(1);
  });

  it('returns the first success and reports each retry', async () => {
    const retries: number[] = [];
    const out = await withRetries(async (n) => { if (n < 3) throw new NetworkError({ message: 'reset' }); return n; }, { policy: fast, onRetry: (_e, n) => retries.push(n) });
    expect(out).toBe(3);
    expect(retries).toEqual([1, 2]);
  });

  it('aborts during the wait with the signal reason', async () => {
    const slow = new RetryPolicy({ retries: 3, baseDelayMs: 10_000, maxDelayMs: 10_000 });
    const ac = new AbortController();
    const started = Date.now();
    setTimeout(() => ac.abort(new Error('stop')), 50);
    await expect(withRetries(async () => { throw new NetworkError({ message: 'reset' }); }, { policy: slow, signal: ac.signal })).rejects.toThrow('stop');
    expect(Date.now() - started).toBeLessThan(2000);
  });
});
