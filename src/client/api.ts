// One Files.com API call: URL under /api/rest/v1, headers (User-Agent,
// Accept, auth), parameters (query for GET/DELETE, JSON body otherwise,
// docs/files-api.md §1), the JSON answer or a FilesError built from the error body
// (errors.ts), Retry-After, one new credential after a 401 (a new session, or
// a changed API key from the credentials source; auth.ts), and the retry loop
// (retry.ts).
//
// Bounded in time (deadlines.ts): each attempt has a deadline (5 s for the
// first with the defaults, doubling per retry, longer for big listing pages
// and the end of large uploads), and the whole call a budget (3 first
// deadlines). Idempotent reads (metadata, listing pages, download URLs) are
// hedged (hedging.ts): no answer after the recent 95th percentile, the same
// GET goes out again on another connection and the first answer wins (or in
// place of the first, when no connection is free). Calls that may be sent
// again but not twice at once (`resend`: opening an upload, the end of a
// one-part upload) are resent in place at that threshold. Every
// request's outcome feeds the server's health (health.ts): while the server is
// unreachable a call is let through only as a probe, or fails fast.
//
// Retrying a call the server may already have carried out: every call is
// retried on a transient failure, but a call whose earlier attempt *may have
// been executed* (5xx other than 429/503, a timeout, a dropped connection
// after sending) passes the final error of a later attempt to its `replay`
// handler, which decides whether that error just means "the first attempt
// worked" (mkdir → destination exists, delete → not found, ...). Each
// operation in http-files-client.ts documents its choice.
import type { IncomingHttpHeaders } from 'node:http';
import type { ResolvedClientOptions } from './options.js';
import type { Logger } from '../log/logger.js';
import type { Auth, AuthStamp } from './auth.js';
import { outcomeOf } from './client-stats.js';
import { attemptDeadlineMs, baseDeadlineMs, callBudgetMs, Deadline, itemScale } from './deadlines.js';
import { FilesError, ServerError, TlsVerificationError } from './errors.js';
import { errorFromHttp, parseJsonLenient } from './http-error.js';
import { HEDGED_KINDS, type ApiKind, type ResendKind } from './request-kind.js';
import type { Resilience } from './resilience.js';
import { isRetryable, withRetries, type AttemptContext, type RetryPolicy } from './retry.js';
import { provablyNotSent, type HttpMethod, type Transport } from './transport.js';

export const API_PREFIX = '/api/rest/v1';

export type QueryValue = string | number | boolean | undefined;

export interface ApiCall<T> {
  method: Exclude<HttpMethod, 'PUT'>;
  /** Route with the encoded path, e.g. "/folders/a/b" (api-path.ts). */
  route: string;
  query?: Record<string, QueryValue>;
  /** JSON body (POST/PATCH). */
  body?: Record<string, unknown>;
  signal?: AbortSignal | undefined;
  /** False only for POST /sessions. */
  authenticated?: boolean;
  /** False for DELETE /sessions: a 401 there must not log in again just to log out. */
  renewSession?: boolean;
  /**
   * Called with the final (permanent) error when an earlier attempt of this
   * call may have been carried out by the server; resolves true when that
   * error (plus whatever the handler checked) proves the earlier attempt
   * succeeded. The call then resolves with `replayed: true` and no body.
   */
  replay?: (err: FilesError) => Promise<boolean>;
  /** What the call is, for its deadline, hedging and stats. Default: 'metadata' for GET, else 'change'. */
  kind?: ApiKind;
  /** Entries (a listing page's per_page) or parts (an upload's end) the call covers; scales its deadline. */
  items?: number;
  /** The health probe itself: one attempt, no hedge, never held back while unreachable. */
  probe?: boolean;
  /**
   * The call may be sent again while an earlier copy has no answer (never two
   * at once): a request of it is resent when it takes longer than recent
   * calls of this kind (hedging.ts). Its latencies are kept under this kind.
   */
  resend?: ResendKind;
}

export interface ApiResult<T = unknown> {
  status: number;
  headers: IncomingHttpHeaders;
  /** Parsed JSON, or undefined for an empty body (204). */
  body: T;
  /** Set when an earlier, uncertain attempt was judged to have succeeded (see ApiCall.replay). */
  replayed?: true;
}

/** How an attempt is raced (hedging.ts): a second copy alongside, one in its place, or none. */
type Race = 'hedge' | 'resend' | 'none';

/** Could a request that failed with `err` have been carried out by the server? */
function mayHaveExecuted(err: unknown): boolean {
  if (!(err instanceof FilesError)) return false;
  if (err.status === undefined) return !provablyNotSent(err);
  // 429 and 503 are refusals before any work (rate limit, overload).
  return err.status >= 500 && err.status !== 503;
}

export class ApiClient {
  private readonly base: URL;

  constructor(
    options: ResolvedClientOptions,
    private readonly transport: Transport,
    private readonly policy: RetryPolicy,
    private readonly logger: Logger,
    private readonly userAgent: string,
    private readonly guard: Resilience,
    private auth: Auth | undefined = undefined,
  ) {
    this.base = new URL(options.baseUrl);
  }

  setAuth(auth: Auth): void {
    this.auth = auth;
  }

  url(route: string, query?: Record<string, QueryValue>): URL {
    const url = new URL(this.base.href.replace(/\/+$/, '') + API_PREFIX + route);
    if (query) for (const [k, v] of Object.entries(query)) if (v !== undefined) url.searchParams.set(k, String(v));
    return url;
  }

  /** Runs the call with retries; resolves with the parsed 2xx answer. */
  async call<T = unknown>(call: ApiCall<T>): Promise<ApiResult<T>> {
    const label = `${call.method} ${call.route}`;
    const kind: ApiKind = call.kind ?? (call.method === 'GET' ? 'metadata' : 'change');
    const { health, metadataTimeoutMs, requestTimeoutMs } = this.guard;
    const baseMs = Math.min(requestTimeoutMs, baseDeadlineMs(metadataTimeoutMs, call.items));
    // The health probe itself: one attempt, the first deadline, no hedge, never held back.
    if (call.probe) return this.attempt<T>(call, label, 1, kind, baseMs, { remainingMs: baseMs, probe: true });
    let uncertain = false;
    try {
      return await withRetries(
        async (n, context) => {
          // A probe tries once with the first deadline; a retry gets a longer one, never past the budget.
          const deadlineMs = Math.max(1, Math.floor(Math.min(context.probe ? baseMs : attemptDeadlineMs(baseMs, n, requestTimeoutMs), context.remainingMs)));
          try {
            // A copy resent in place of an unanswered one: that one may have been carried out.
            return await this.attempt<T>(call, label, n, kind, deadlineMs, context, () => (uncertain = true));
          } finally {
            if (context.probe) health.probeDone();
          }
        },
        {
          policy: this.policy,
          signal: call.signal,
          budgetMs: callBudgetMs(baseMs),
          minAttemptMs: Math.min(baseMs, 1_000),
          // While the server is unreachable: be the probe, or wait for it (at most a first deadline).
          admit: (remainingMs) => health.admit(call.signal, Math.max(0, Math.min(remainingMs, baseMs)), label),
          retryable: (err) => {
            const again = isRetryable(err);
            if (again && mayHaveExecuted(err)) uncertain = true;
            return again;
          },
          onRetry: (err, n, wait) => {
            this.guard.stats.retry();
            this.logger.debug(`${label} attempt ${n} failed (${(err as Error).message}); retrying in ${wait} ms`);
          },
        },
      );
    } catch (err) {
      if (uncertain && call.replay && err instanceof FilesError && !err.transient) {
        if (await call.replay(err)) {
          this.logger.debug(`${label}: ${err.kind} after an uncertain earlier attempt; the earlier attempt succeeded`);
          return { status: 0, headers: {}, body: undefined as T, replayed: true };
        }
      }
      throw err;
    }
  }

  private async attempt<T>(call: ApiCall<T>, label: string, n: number, kind: ApiKind, deadlineMs: number, context: AttemptContext, resent?: () => void): Promise<ApiResult<T>> {
    const authed = call.authenticated !== false;
    let stamp: AuthStamp | undefined = authed && this.auth ? await this.auth.stamp(call.signal) : undefined;
    for (let renewed = false; ; renewed = true) {
      const race: Race = context.probe ? 'none' : HEDGED_KINDS.has(kind) ? 'hedge' : call.resend ? 'resend' : 'none';
      const result = await this.exchange<T>(call, label, n, kind, deadlineMs, race, stamp, resent);
      if (result instanceof FilesError) {
        // A 401: a new session, or a new key from the credentials source, once; then this call again at once.
        if (result.status === 401 && stamp && this.auth && !renewed && call.renewSession !== false && (await this.auth.renew(stamp, call.signal))) {
          this.logger.info(this.auth.kind === 'session' ? `${label}: session no longer valid; logged in again` : `${label}: API key refused; using the new key from the credentials source`);
          stamp = await this.auth.stamp(call.signal);
          continue;
        }
        throw result;
      }
      return result;
    }
  }

  /** One request, hedged or resent as `race` says: resolves with the answer (an HTTP error included), rejects without one. */
  private exchange<T>(call: ApiCall<T>, label: string, n: number, kind: ApiKind, deadlineMs: number, race: Race, stamp: AuthStamp | undefined, resent?: () => void): Promise<ApiResult<T> | FilesError> {
    const started = performance.now();
    // A hedge gets what is left of the attempt's deadline: an attempt, hedge included, ends within it.
    const leg = (lost: AbortSignal | undefined, late = false, onSocket?: () => void) =>
      this.leg<T>(call, label, n, kind, late ? Math.max(1, Math.round(deadlineMs - (performance.now() - started))) : deadlineMs, stamp, lost, late, onSocket);
    if (race === 'none') return leg(undefined);
    return this.guard.hedger.race({
      kind: call.resend ?? kind,
      deadlineMs,
      scale: itemScale(call.items),
      hedge: race === 'hedge',
      resend: race === 'resend',
      ...(resent ? { onResend: resent } : {}),
      spareConnection: () => this.guard.spareConnection(this.base.origin, 'api'),
      signal: call.signal,
      label,
      start: (lost, isHedge, onSocket) => leg(lost, isHedge, onSocket),
      // An answer ends the race; only a failure without one waits for the other request.
      decisive: (err) => !(err instanceof FilesError) || err.status !== undefined,
    });
  }

  /** One HTTP exchange under its deadline, recorded in the stats, the hedge window and the server's health. */
  private async leg<T>(call: ApiCall<T>, label: string, n: number, kind: ApiKind, deadlineMs: number, stamp: AuthStamp | undefined, lost: AbortSignal | undefined, isHedge = false, onSocket?: () => void): Promise<ApiResult<T> | FilesError> {
    const { stats, hedger, health } = this.guard;
    const deadline = new Deadline(deadlineMs, [call.signal, lost], label);
    // The server's latency counts from the moment the request has a connection (not its wait in the pool's queue).
    let sent = performance.now();
    const socket = () => {
      sent = performance.now();
      onSocket?.();
    };
    try {
      const result = await this.once<T>(call, label, n, stamp, deadline.signal, isHedge, socket);
      stats.request(kind, result instanceof FilesError ? 'http-error' : 'ok');
      hedger.record(call.resend ?? kind, performance.now() - sent, itemScale(call.items));
      health.answered();
      return result;
    } catch (err) {
      stats.request(kind, outcomeOf(err));
      if (deadline.expired) {
        stats.stall();
        hedger.record(call.resend ?? kind, deadlineMs, itemScale(call.items));
      }
      if (err instanceof FilesError && !(err instanceof TlsVerificationError)) {
        if (err.status !== undefined) health.answered();
        else health.failed(err);
      }
      throw err;
    } finally {
      deadline.dispose();
    }
  }

  /** One request: resolves with the result, or with (not throws) the HTTP error so attempt() can re-login. */
  private async once<T>(call: ApiCall<T>, label: string, n: number, stamp: AuthStamp | undefined, signal: AbortSignal, hedge = false, onSocket?: () => void): Promise<ApiResult<T> | FilesError> {
    const hasBody = call.body !== undefined;
    const headers: Record<string, string> = {
      'user-agent': this.userAgent,
      accept: 'application/json',
      ...(hasBody ? { 'content-type': 'application/json' } : {}),
      ...(stamp?.headers ?? {}),
    };
    const body = hasBody ? JSON.stringify(call.body) : null;
    if (body !== null) this.guard.stats.bytesUp(Buffer.byteLength(body));
    const res = await this.transport.send({
      method: call.method,
      url: this.url(call.route, call.query),
      headers,
      body,
      signal,
      label,
      attempt: n,
      hedge,
      ...(onSocket ? { onSocket } : {}),
    });
    const text = await this.transport.readText(res, label, signal);
    this.guard.stats.bytesDown(Buffer.byteLength(text));
    if (res.status >= 200 && res.status < 300) {
      const json = parseJsonLenient(text);
      if (json === undefined && text.trim() !== '') throw new ServerError({ message: `${label}: the server's answer is not JSON`, status: res.status, operation: label });
      return { status: res.status, headers: res.headers, body: json as T };
    }
    return errorFromHttp(res, text, label);
  }
}
