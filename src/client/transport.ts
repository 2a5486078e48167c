// One HTTP request, once: the undici Agent (connection pool, keep-alive,
// timeouts, TLS, source address), the per-request log line, and the mapping
// of undici's failures to NetworkError / TimeoutError. Retries, auth and error
// bodies are the callers' business (api.ts, upload.ts, download.ts).
//
// Two undici Agents, one for API calls and one for transfers (presigned
// upload/download URLs, docs/files-api.md §4, §5), each with a pool of up to
// `connections` keep-alive sockets per origin, one request at a time on each
// (no pipelining): a request never waits behind another one's answer on the
// same socket, so a stalled request holds only its own connection, and a
// hedge (hedging.ts) always goes out on another one. Two agents because the
// transfer host can be the API host (the emulator, some sites): transfers
// that fill every connection of a pool must never make a stat wait for one. undici's headersTimeout and
// bodyTimeout are the outer bound of any request (requestTimeoutMs, the
// --timeout flag): a server that stops answering (or stops sending body
// bytes) aborts the request with a TimeoutError after that long, and the
// headers timer is refreshed while a request body is still being written.
// The shorter deadlines (deadlines.ts for API calls, stall-watch.ts for
// transfers) abort the request through its signal, and undici then destroys
// its socket: a stalled connection never goes back into the pool.
import type { IncomingHttpHeaders } from 'node:http';
import type { Readable } from 'node:stream';
import { Agent, type Dispatcher } from 'undici';
import type { ResolvedClientOptions } from './options.js';
import type { Logger } from '../log/logger.js';
import { FilesError, NetworkError, TimeoutError, TlsVerificationError } from './errors.js';
import { notifyObserver, type RequestObserver } from './observer.js';
import { ON_SOCKET, withSocketHook, type WithSocketHook } from './on-socket.js';
import { abortError, markRetriesExhausted } from './retry.js';
import { secureContextWithExtraCa } from './tls.js';

/**
 * How long an idle keep-alive socket is kept. undici's 4 s default would
 * reconnect (and redo TLS) after every pause of a mounted filesystem; a
 * server's own shorter `Keep-Alive: timeout=` hint still wins.
 */
const KEEP_ALIVE_MS = 30_000;

/** How long close() lets requests in flight finish before destroying their sockets. */
const CLOSE_GRACE_MS = 2_000;
const CLOSE_POLL_MS = 20;

export type HttpMethod = 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';
export type Lane = 'api' | 'data';

export interface SendRequest {
  method: HttpMethod;
  url: URL;
  headers: Record<string, string>;
  body?: string | Buffer | Uint8Array | Readable | null;
  signal?: AbortSignal | undefined;
  /** What the request is, for logs and errors, e.g. "GET /folders/a" or "PUT upload part 3". Never a URL with a signature. */
  label: string;
  attempt: number;
  /** A hedged duplicate of a request still in flight (for the observer). */
  hedge?: boolean;
  /** 'data' for transfers to presigned URLs: their own pool (see above). Default 'api'. */
  lane?: Lane;
  /** Overrides the outer wait for response headers (an upload's, see upload.ts). */
  headersTimeoutMs?: number;
  /**
   * Called once the request is written to a connection (it no longer waits
   * in the pool's queue): timers that judge the server start there (on-socket.ts).
   */
  onSocket?: () => void;
}

export interface SendResponse {
  status: number;
  headers: IncomingHttpHeaders;
  body: Dispatcher.ResponseData['body'];
}

/** Request headers never written to a log, even at trace level. */
const HIDDEN_HEADERS = new Set(['x-filesapi-key', 'x-filesapi-auth', 'authorization', 'cookie', 'set-cookie', 'proxy-authorization']);

function headersForLog(headers: Record<string, string | string[] | undefined>): string {
  return Object.entries(headers)
    .filter(([k, v]) => v !== undefined && !HIDDEN_HEADERS.has(k.toLowerCase()))
    .map(([k, v]) => `${k}: ${Array.isArray(v) ? v.join(', ') : v}`)
    .join('; ');
}

const TIMEOUT_CODES = new Set(['UND_ERR_CONNECT_TIMEOUT', 'UND_ERR_HEADERS_TIMEOUT', 'UND_ERR_BODY_TIMEOUT', 'ETIMEDOUT']);
/** Failures that prove the request never reached the server (safe to resend anything). */
const NOT_SENT_CODES = new Set(['UND_ERR_CONNECT_TIMEOUT', 'ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH', 'ENETUNREACH', 'EADDRNOTAVAIL']);

/** OpenSSL/Node verification failures: permanent, never retried. */
const TLS_TRUST_CODES = new Set([
  'DEPTH_ZERO_SELF_SIGNED_CERT', 'SELF_SIGNED_CERT_IN_CHAIN', 'UNABLE_TO_VERIFY_LEAF_SIGNATURE', 'UNABLE_TO_GET_ISSUER_CERT',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY', 'CERT_HAS_EXPIRED', 'CERT_NOT_YET_VALID', 'CERT_UNTRUSTED', 'CERT_REJECTED', 'CERT_REVOKED',
  'ERR_TLS_CERT_ALTNAME_INVALID', 'HOSTNAME_MISMATCH', 'INVALID_CA',
]);

function codeOf(err: unknown): string | undefined {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === 'string' ? code : undefined;
}

/**
 * A FilesError for a failure below HTTP (connect, TLS, reset, timeout). An
 * abort is returned as the abort reason, not wrapped.
 */
export function transportError(err: unknown, label: string, signal: AbortSignal | undefined, timeoutMs: number, connectTimeoutMs: number): Error {
  if (signal?.aborted) return abortError(signal);
  if (err instanceof FilesError) return err;
  const code = codeOf(err);
  const detail = err instanceof Error ? err.message : String(err);
  if (code && TIMEOUT_CODES.has(code)) {
    const limit = code === 'UND_ERR_CONNECT_TIMEOUT' ? `connect timeout ${connectTimeoutMs} ms` : `no data for ${timeoutMs} ms`;
    return new TimeoutError({ message: `${label}: ${limit} (${code})`, operation: label, cause: err });
  }
  if (code && TLS_TRUST_CODES.has(code)) {
    return new TlsVerificationError({ message: `${label}: TLS certificate not trusted: ${detail} (${code}); pass the CA with caFile / --ca-file or NODE_EXTRA_CA_CERTS`, operation: label, cause: err });
  }
  return new NetworkError({ message: `${label}: ${detail}${code ? ` (${code})` : ''}`, operation: label, cause: err });
}

/** True when `err` (from send or a body read) proves the request was never delivered. */
export function provablyNotSent(err: unknown): boolean {
  const cause = err instanceof FilesError ? (err.cause as unknown) : err;
  const code = codeOf(cause);
  return code !== undefined && NOT_SENT_CODES.has(code);
}

export class Transport {
  /** API calls. */
  readonly agent: Agent;
  /** Transfers to presigned URLs. */
  readonly dataAgent: Agent;
  /** The two agents as requests go through them: with the hook that reports a request's socket (on-socket.ts). */
  private readonly dispatchers: Record<Lane, Dispatcher>;
  private readonly logger: Logger;
  private readonly timeoutMs: number;
  private readonly connectTimeoutMs: number;
  private readonly observer: RequestObserver | undefined;
  private readonly connections: number;
  /** close() has begun: send() refuses new requests. */
  private closing = false;

  constructor(options: ResolvedClientOptions) {
    this.logger = options.logger;
    this.observer = options.observer;
    this.timeoutMs = options.requestTimeoutMs;
    this.connectTimeoutMs = options.connectTimeoutMs;
    this.connections = options.connections;
    const secureContext = secureContextWithExtraCa(options.caPem, options.logger);
    const agentOptions: Agent.Options = {
      connections: options.connections,
      // One request per connection at a time (undici's default, stated): see above.
      pipelining: 1,
      keepAliveTimeout: KEEP_ALIVE_MS,
      headersTimeout: options.requestTimeoutMs,
      bodyTimeout: options.requestTimeoutMs,
      // The source address is a client option: undici's connector overrides
      // connect.localAddress with it.
      ...(options.sourceIp ? { localAddress: options.sourceIp } : {}),
      connect: {
        timeout: options.connectTimeoutMs,
        ...(secureContext ? { secureContext } : {}),
      },
    };
    this.agent = new Agent(agentOptions);
    this.dataAgent = new Agent(agentOptions);
    this.dispatchers = { api: withSocketHook(this.agent), data: withSocketHook(this.dataAgent) };
  }

  /** Sends one request and returns once the response headers are in. The body must be consumed or dumped. */
  async send(req: SendRequest): Promise<SendResponse> {
    // Closing: no new request (a hedge or a resend started meanwhile would outlive close()).
    if (this.closing) throw markRetriesExhausted(new NetworkError({ message: `${req.label}: the client is closed`, operation: req.label }));
    const started = performance.now();
    const log = this.logger;
    if (log.enabled('trace')) log.trace(`→ ${req.label} attempt ${req.attempt} ${req.url.host} ${headersForLog(req.headers)}`);
    let res: Dispatcher.ResponseData;
    try {
      const options: WithSocketHook & Dispatcher.RequestOptions = {
        origin: req.url.origin,
        path: req.url.pathname + req.url.search,
        method: req.method,
        headers: req.headers,
        body: req.body ?? null,
        signal: req.signal,
        ...(req.headersTimeoutMs !== undefined ? { headersTimeout: req.headersTimeoutMs } : {}),
      };
      if (req.onSocket) options[ON_SOCKET] = req.onSocket;
      res = await this.dispatchers[req.lane ?? 'api'].request(options);
    } catch (err) {
      const mapped = transportError(err, req.label, req.signal, this.timeoutMs, this.connectTimeoutMs);
      log.debug(`${req.label} failed ${Math.round(performance.now() - started)}ms attempt ${req.attempt}: ${mapped.message}`);
      this.observe(req, started, undefined, mapped);
      throw mapped;
    }
    this.observe(req, started, res.statusCode, undefined);
    log.debug(`${req.label} ${res.statusCode} ${Math.round(performance.now() - started)}ms attempt ${req.attempt}`);
    if (log.enabled('trace')) log.trace(`← ${req.label} ${res.statusCode} ${headersForLog(res.headers)}`);
    return { status: res.statusCode, headers: res.headers, body: res.body };
  }

  private observe(req: SendRequest, started: number, status: number | undefined, error: Error | undefined): void {
    if (!this.observer) return;
    notifyObserver(this.observer, {
      method: req.method,
      origin: req.url.origin,
      path: req.url.pathname,
      attempt: req.attempt,
      hedge: req.hedge === true,
      ...(status !== undefined ? { status } : {}),
      ...(error !== undefined ? { error } : {}),
      seconds: (performance.now() - started) / 1000,
    });
  }

  /**
   * True when a request to `origin` would start without queueing: an idle
   * connection, or room for a new one, and nothing waiting already.
   */
  spareConnection(origin: string, lane: Lane = 'api'): boolean {
    const agent = lane === 'data' ? this.dataAgent : this.agent;
    const pool = (agent.stats as Record<string, { connected: number; free: number; queued: number } | undefined>)[origin];
    if (!pool) return true;
    return pool.queued === 0 && (pool.free > 0 || pool.connected < this.connections);
  }

  /** Maps a failure while reading a response body like one while sending. */
  bodyError(err: unknown, label: string, signal?: AbortSignal): Error {
    return transportError(err, label, signal, this.timeoutMs, this.connectTimeoutMs);
  }

  /** Reads a whole (small) response body, mapping failures. */
  async readText(res: SendResponse, label: string, signal?: AbortSignal): Promise<string> {
    let text: string;
    try {
      text = await res.body.text();
    } catch (err) {
      throw this.bodyError(err, label, signal);
    }
    await settle();
    return text;
  }

  /**
   * Closes both pools: requests in flight get CLOSE_GRACE_MS to finish, then
   * every socket is destroyed (a stalled request must not hold an unmount).
   * (undici's own close() waits for them without limit, and a destroy() after
   * it no longer fails them: so wait here, then destroy.) No request starts
   * once closing has begun.
   */
  async close(): Promise<void> {
    this.closing = true;
    const until = performance.now() + CLOSE_GRACE_MS;
    while (this.busy() && performance.now() < until) await new Promise((r) => setTimeout(r, CLOSE_POLL_MS));
    // Destroyed, not closed, even when idle: a request that slipped in since the last look is failed, not waited for.
    await this.destroy();
  }

  /** Requests sent or queued and not yet answered in full, in either pool. */
  private busy(): boolean {
    for (const agent of [this.agent, this.dataAgent]) {
      for (const pool of Object.values(agent.stats as Record<string, { running?: number; pending?: number; queued?: number }>)) {
        if ((pool.running ?? 0) + (pool.pending ?? 0) + (pool.queued ?? 0) > 0) return true;
      }
    }
    return false;
  }

  async destroy(): Promise<void> {
    await Promise.all([this.agent.destroy(), this.dataAgent.destroy()]);
  }
}

/**
 * To call after a response body has been read to its end: undici marks the
 * connection free in a microtask queued after the body ends, so a caller that
 * sends its next request at once would find no free connection and open
 * another (2 connections for strictly sequential calls). One turn of the
 * event loop lets the pool catch up.
 */
export function settle(): Promise<void> {
  return new Promise<void>((resolve) => setImmediate(resolve));
}

/** The first value of a response header. */
export function header(headers: IncomingHttpHeaders, name: string): string | undefined {
  const v = headers[name.toLowerCase()];
  return Array.isArray(v) ? v[0] : v;
}
