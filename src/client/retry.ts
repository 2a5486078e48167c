// The retry policy: which failures are worth another attempt, how long to
// wait, and the loop that applies it. One policy for API calls and for the
// upload/download data requests.
//
// Retried: network errors, timeouts, and HTTP 429, 500, 502, 503, 504
// (docs/files-api.md §7; what rclone's pacer and the Go SDK retry). Never: any other
// 4xx (a 401 with an API key fails at once), 501, an abort. Whether a
// *non-idempotent* call may be retried at all is decided by its caller (see
// api.ts and the operations); this module only knows transient vs permanent.
//
// Delay before retry n (1-based): min(max, base·2^(n-1)) with ±25 % jitter,
// capped at max, so with the defaults 0.5 s, 1 s, 2 s (the SDKs' 0.5 s first
// delay and 2 s ceiling), spread so that many clients hit by one outage do not
// come back in lockstep. A Retry-After the server sent (already parsed and
// capped, retry-after.ts) replaces the computed delay.
//
// undici's RetryAgent is not used: it cannot re-create a request body stream
// per attempt (our part uploads read the file again), re-login on 401 or
// refresh an expired presigned URL between attempts, and it has no jitter.
import { FilesError } from './errors.js';

/** HTTP statuses worth another attempt (with their FilesError classes). */
export const RETRY_STATUSES: ReadonlySet<number> = new Set([429, 500, 502, 503, 504]);

export interface RetrySettings {
  /** Retries after the first attempt. */
  retries: number;
  baseDelayMs: number;
  maxDelayMs: number;
  /** Random source in [0, 1); tests pass a fixed one. */
  random?: () => number;
}

/**
 * Errors whose request has already been through its own retry loop (an API
 * call made inside a data request's loop, e.g. fetching a fresh URL). An
 * outer loop must not retry them again, or attempts would multiply.
 */
const exhausted = new WeakSet<object>();

export function markRetriesExhausted<E>(err: E): E {
  if (err && typeof err === 'object') exhausted.add(err);
  return err;
}

/** True when another attempt of the same request may succeed. */
export function isRetryable(err: unknown): boolean {
  if (!(err instanceof FilesError) || !err.transient || exhausted.has(err)) return false;
  return err.status === undefined || RETRY_STATUSES.has(err.status);
}

export class RetryPolicy {
  readonly retries: number;
  private readonly base: number;
  private readonly max: number;
  private readonly random: () => number;

  constructor(settings: RetrySettings) {
    this.retries = settings.retries;
    this.base = settings.baseDelayMs;
    this.max = settings.maxDelayMs;
    this.random = settings.random ?? Math.random;
  }

  /** The jittered exponential delay before retry `n` (1-based). */
  backoffMs(n: number): number {
    const nominal = Math.min(this.max, this.base * 2 ** Math.max(0, n - 1));
    const jittered = nominal * (0.75 + 0.5 * this.random());
    return Math.round(Math.min(this.max, jittered));
  }

  /** The wait before retry `n` after `err`: the server's Retry-After when it sent one. */
  delayMs(n: number, err: unknown): number {
    if (err instanceof FilesError && err.retryAfterMs !== undefined) return err.retryAfterMs;
    return this.backoffMs(n);
  }
}

/** The error an aborted operation rejects with: the signal's reason. */
export function abortError(signal: AbortSignal): Error {
  const reason: unknown = signal.reason;
  if (reason instanceof Error) return reason;
  return new DOMException('The operation was aborted', 'AbortError');
}

export function throwIfAborted(signal: AbortSignal | undefined): void {
  if (signal?.aborted) throw abortError(signal);
}

/**
 * Waits `ms`, rejecting early with the abort reason if `signal` fires. (The
 * global setTimeout, not timers/promises: test clocks can move it.)
 */
export function delay(ms: number, signal?: AbortSignal): Promise<void> {
  throwIfAborted(signal);
  if (ms <= 0) return Promise.resolve();
  return new Promise<void>((resolve, reject) => {
    const onAbort = () => {
      clearTimeout(timer);
      reject(abortError(signal!));
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

/**
 * Waits for `shared` (work started once for several callers, without any one
 * caller's signal) but lets this caller stop waiting when its signal fires.
 */
export function untilAborted<T>(shared: Promise<T>, signal: AbortSignal | undefined): Promise<T> {
  if (!signal) return shared;
  if (signal.aborted) return Promise.reject(abortError(signal));
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(abortError(signal));
    signal.addEventListener('abort', onAbort, { once: true });
    shared.then(
      (v) => {
        signal.removeEventListener('abort', onAbort);
        resolve(v);
      },
      (e: unknown) => {
        signal.removeEventListener('abort', onAbort);
        reject(e);
      },
    );
  });
}

export interface RetryLoopOptions {
  policy: RetryPolicy;
  signal?: AbortSignal | undefined;
  /** Overrides isRetryable for this call (e.g. a data request that also retries 403 after a refresh). */
  retryable?: (err: unknown, attempt: number) => boolean;
  /** Called before each wait, for logs. */
  onRetry?: (err: unknown, attempt: number, delayMs: number) => void;
  /**
   * The whole loop's time bound: a retry whose wait would end past it is not
   * made (the last error is thrown), and each attempt is told what is left.
   */
  budgetMs?: number | undefined;
  /**
   * Asked before each attempt with the time left: 'go', or 'probe' (a single
   * attempt: no retry after it fails), or it throws to stop the loop.
   */
  admit?: ((remainingMs: number) => Promise<'go' | 'probe'>) | undefined;
  /** With a budget: the least time worth an attempt; a retry that would leave less is not made. */
  minAttemptMs?: number;
}

/** What an attempt is told by the loop. */
export interface AttemptContext {
  /** Time left in the loop's budget (Infinity without one). */
  remainingMs: number;
  /** This attempt is a health probe: one try, no hedge (see health.ts). */
  probe: boolean;
}

/**
 * Runs `attempt(n)` (n = 1, 2, …) until it resolves, a failure is not
 * retryable, the retries are used up or the budget would be exceeded; the
 * last error is thrown as is.
 */
export async function withRetries<T>(attempt: (n: number, context: AttemptContext) => Promise<T>, options: RetryLoopOptions): Promise<T> {
  const retryable = options.retryable ?? isRetryable;
  const started = performance.now();
  const remaining = () => (options.budgetMs === undefined ? Infinity : options.budgetMs - (performance.now() - started));
  for (let n = 1; ; n++) {
    throwIfAborted(options.signal);
    let admission: 'go' | 'probe' = 'go';
    try {
      if (options.admit) admission = await options.admit(remaining());
    } catch (err) {
      // Refused without a request (the server is unreachable): an outer loop must not retry it either.
      throw markRetriesExhausted(err);
    }
    const probe = admission === 'probe';
    try {
      return await attempt(n, { remainingMs: remaining(), probe });
    } catch (err) {
      if (options.signal?.aborted) throw abortError(options.signal);
      if (probe || n > options.policy.retries || (err && typeof err === 'object' && exhausted.has(err)) || !retryable(err, n)) throw markRetriesExhausted(err);
      const wait = options.policy.delayMs(n, err);
      // No time left for the wait and a useful attempt after it.
      if (wait + (options.minAttemptMs ?? 0) >= remaining()) throw markRetriesExhausted(err);
      options.onRetry?.(err, n, wait);
      await delay(wait, options.signal);
    }
  }
}
