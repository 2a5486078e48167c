// One Files.com API call: URL under /api/rest/v1, headers (User-Agent,
// Accept, auth), parameters (query for GET/DELETE, JSON body otherwise,
// docs/files-api.md §1), the JSON answer or a FilesError built from the error body
// (errors.ts), Retry-After, one re-login after a 401 on a session, and the
// retry loop (retry.ts).
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
import { FilesError, ServerError } from './errors.js';
import { errorFromHttp, parseJsonLenient } from './http-error.js';
import { isRetryable, withRetries, type RetryPolicy } from './retry.js';
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
}

export interface ApiResult<T = unknown> {
  status: number;
  headers: IncomingHttpHeaders;
  /** Parsed JSON, or undefined for an empty body (204). */
  body: T;
  /** Set when an earlier, uncertain attempt was judged to have succeeded (see ApiCall.replay). */
  replayed?: true;
}

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
    let uncertain = false;
    try {
      return await withRetries((n) => this.attempt<T>(call, label, n), {
        policy: this.policy,
        signal: call.signal,
        retryable: (err) => {
          const again = isRetryable(err);
          if (again && mayHaveExecuted(err)) uncertain = true;
          return again;
        },
        onRetry: (err, n, wait) => this.logger.debug(`${label} attempt ${n} failed (${(err as Error).message}); retrying in ${wait} ms`),
      });
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

  private async attempt<T>(call: ApiCall<T>, label: string, n: number): Promise<ApiResult<T>> {
    const authed = call.authenticated !== false;
    let stamp: AuthStamp | undefined = authed && this.auth ? await this.auth.stamp(call.signal) : undefined;
    for (let renewed = false; ; renewed = true) {
      const result = await this.once<T>(call, label, n, stamp);
      if (result instanceof FilesError) {
        // A 401 on a session: log in again once, then send this call again.
        if (result.status === 401 && stamp && this.auth && !renewed && call.renewSession !== false && (await this.auth.renew(stamp, call.signal))) {
          this.logger.info(`${label}: session no longer valid; logged in again`);
          stamp = await this.auth.stamp(call.signal);
          continue;
        }
        throw result;
      }
      return result;
    }
  }

  /** One request: resolves with the result, or with (not throws) the HTTP error so attempt() can re-login. */
  private async once<T>(call: ApiCall<T>, label: string, n: number, stamp: AuthStamp | undefined): Promise<ApiResult<T> | FilesError> {
    const hasBody = call.body !== undefined;
    const headers: Record<string, string> = {
      'user-agent': this.userAgent,
      accept: 'application/json',
      ...(hasBody ? { 'content-type': 'application/json' } : {}),
      ...(stamp?.headers ?? {}),
    };
    const res = await this.transport.send({
      method: call.method,
      url: this.url(call.route, call.query),
      headers,
      body: hasBody ? JSON.stringify(call.body) : null,
      signal: call.signal,
      label,
      attempt: n,
    });
    const text = await this.transport.readText(res, label, call.signal);
    if (res.status >= 200 && res.status < 300) {
      const json = parseJsonLenient(text);
      if (json === undefined && text.trim() !== '') throw new ServerError({ message: `${label}: the server's answer is not JSON`, status: res.status, operation: label });
      return { status: res.status, headers: res.headers, body: json as T };
    }
    return errorFromHttp(res, text, label);
  }
}
