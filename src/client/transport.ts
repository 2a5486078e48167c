// One HTTP request, once: the undici Agent (connection pool, keep-alive,
// timeouts, TLS, source address), the per-request log line, and the mapping
// of undici's failures to NetworkError / TimeoutError. Retries, auth and error
// bodies are the callers' business (api.ts, upload.ts, download.ts).
//
// A single Agent serves every origin: the API host and the hosts of presigned
// upload/download URLs (docs/files-api.md §4, §5), each origin with its own pool of
// up to `connections` keep-alive sockets. undici's headersTimeout and
// bodyTimeout are the read/idle timeout: a server that stops answering (or
// stops sending body bytes) aborts the request with a TimeoutError after
// requestTimeoutMs, and the headers timer is refreshed while a request body is
// still being written, so a slow upload is not mistaken for a stall.
import type { IncomingHttpHeaders } from 'node:http';
import type { Readable } from 'node:stream';
import { Agent, type Dispatcher } from 'undici';
import type { ResolvedClientOptions } from './options.js';
import type { Logger } from '../log/logger.js';
import { FilesError, NetworkError, TimeoutError, TlsVerificationError } from './errors.js';
import { notifyObserver, type RequestObserver } from './observer.js';
import { abortError } from './retry.js';
import { secureContextWithExtraCa } from './tls.js';

/**
 * How long an idle keep-alive socket is kept. undici's 4 s default would
 * reconnect (and redo TLS) after every pause of a mounted filesystem; a
 * server's own shorter `Keep-Alive: timeout=` hint still wins.
 */
const KEEP_ALIVE_MS = 30_000;

export type HttpMethod = 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';

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
  readonly agent: Agent;
  private readonly logger: Logger;
  private readonly timeoutMs: number;
  private readonly connectTimeoutMs: number;
  private readonly observer: RequestObserver | undefined;

  constructor(options: ResolvedClientOptions) {
    this.logger = options.logger;
    this.observer = options.observer;
    this.timeoutMs = options.requestTimeoutMs;
    this.connectTimeoutMs = options.connectTimeoutMs;
    const secureContext = secureContextWithExtraCa(options.caPem, options.logger);
    this.agent = new Agent({
      connections: options.connections,
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
    });
  }

  /** Sends one request and returns once the response headers are in. The body must be consumed or dumped. */
  async send(req: SendRequest): Promise<SendResponse> {
    const started = performance.now();
    const log = this.logger;
    if (log.enabled('trace')) log.trace(`→ ${req.label} attempt ${req.attempt} ${req.url.host} ${headersForLog(req.headers)}`);
    let res: Dispatcher.ResponseData;
    try {
      res = await this.agent.request({
        origin: req.url.origin,
        path: req.url.pathname + req.url.search,
        method: req.method,
        headers: req.headers,
        body: req.body ?? null,
        signal: req.signal,
      });
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

  async close(): Promise<void> {
    await this.agent.close();
  }

  async destroy(): Promise<void> {
    await this.agent.destroy();
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
