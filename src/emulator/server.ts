// The HTTP(S) server: accepts connections (counted, tracked so stop() can
// drop them), and runs every request through the same steps:
//   control endpoint?  → answered at once (no stats, latency, fault or auth)
//   count it           → under its route's statistics key
//   latency            → added before anything is answered
//   fault              → maybe 429 / 500 / 503 / reset / stall instead
//   auth               → API routes only (transfer URLs are presigned)
//   handler            → ApiError becomes the API's JSON error (S3 XML on transfer URLs)
import { randomUUID } from 'node:crypto';
import http, { type IncomingMessage, type ServerResponse } from 'node:http';
import https from 'node:https';
import type { Socket } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Call, EmulatorContext } from './context.js';
import { CONTROL_PREFIX, handleControl } from './control.js';
import { ApiError } from './errors.js';
import { RETRY_AFTER_SECONDS, type FaultKind } from './faults.js';
import { readBody, sendApiError, sendS3Error } from './http-util.js';
import { decodePathParam } from './names.js';
import { Params } from './params.js';
import { matchRoute, type RouteKind } from './router.js';

/** Idle keep-alive connections are kept this long (clients reuse them between requests). */
const KEEP_ALIVE_MS = 30_000;

export interface ServerHandle {
  server: http.Server;
  /** Drops every connection, held (stalled) requests included. */
  dropAll(): void;
}

function faultResponse(kind: FaultKind, routeKind: RouteKind, res: ServerResponse, requestId: string): void {
  const retry = { 'Retry-After': String(RETRY_AFTER_SECONDS) };
  if (routeKind === 'transfer') {
    if (kind === '429') sendS3Error(res, 429, 'SlowDown', 'Please reduce your request rate.', requestId, retry);
    else if (kind === '503') sendS3Error(res, 503, 'SlowDown', 'Please reduce your request rate.', requestId, retry);
    else sendS3Error(res, 500, 'InternalError', 'We encountered an internal error. Please try again.', requestId);
    return;
  }
  const err = kind === '429'
    ? new ApiError('rate-limited/too-many-requests', 'Too many requests. Please slow down.', { headers: retry })
    : kind === '503'
      ? new ApiError('service-unavailable', 'Service temporarily unavailable. Please try again.', { headers: retry })
      : new ApiError('internal-server-error', 'Internal server error.', { status: 500 });
  sendApiError(res, err, requestId);
}

export function createServer(ctx: EmulatorContext, tls: { cert: string; key: string } | null): ServerHandle {
  const sockets = new Set<Socket>();
  const stalls = new Set<NodeJS.Timeout>();

  const onRequest = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const requestId = randomUUID();
    const rawUrl = req.url ?? '/';
    const q = rawUrl.indexOf('?');
    const pathname = q < 0 ? rawUrl : rawUrl.slice(0, q);
    const query = new URLSearchParams(q < 0 ? '' : rawUrl.slice(q + 1));
    const method = req.method ?? 'GET';

    if (pathname.startsWith(CONTROL_PREFIX)) {
      await handleControl(ctx, req, res, pathname, requestId);
      return;
    }

    const { match, methodMismatch, kind } = matchRoute(method, pathname);
    ctx.stats.count(match?.route.stat ?? 'other');
    if (ctx.logger.enabled('debug')) {
      // The path only: transfer URLs carry their signature in the query.
      const started = performance.now();
      res.once('close', () => ctx.logger.debug('%s %s → %s (%d ms)', method, pathname, res.headersSent ? res.statusCode : 'no answer', Math.round(performance.now() - started)));
    }
    if (ctx.settings.latencyMs > 0) await sleep(ctx.settings.latencyMs);

    const fault = ctx.faults.pick();
    if (fault) ctx.stats.fault();
    if (fault === 'stall') {
      req.pause();
      const socket = req.socket;
      const timer = setTimeout(() => {
        stalls.delete(timer);
        socket.destroy();
      }, ctx.settings.stallMs);
      timer.unref();
      stalls.add(timer);
      socket.once('close', () => {
        clearTimeout(timer);
        stalls.delete(timer);
      });
      return;
    }
    if (fault === 'reset' && kind !== 'transfer') {
      req.socket.destroy();
      return;
    }
    if (fault && fault !== 'reset') {
      faultResponse(fault, kind, res, requestId);
      return;
    }

    try {
      if (!match) {
        if (kind === 'transfer') {
          sendS3Error(res, methodMismatch ? 405 : 404, methodMismatch ? 'MethodNotAllowed' : 'NoSuchKey', 'Not found.', requestId);
          return;
        }
        throw methodMismatch
          ? new ApiError('bad-request/method-not-allowed', `${method} is not allowed here.`)
          : new ApiError('not-found', 'Not Found.  This may be related to your permissions.');
      }
      const route = match.route;
      const who = route.kind === 'api' ? ctx.auth.check(req.headers) : null;
      const params = route.kind === 'transfer'
        ? Params.parse(query, null, undefined) // the body is the part's bytes, read by the handler
        : Params.parse(query, await readBody(req), req.headers['content-type']);
      let path = '';
      let id = '';
      if (route.capture === 'path') {
        path = decodePathParam(match.capture);
        if (path === '' && params.string('path')) path = params.string('path')!;
      } else if (route.capture === 'id') {
        id = match.capture;
      }
      const scheme = tls ? 'https' : 'http';
      const origin = `${scheme}://${req.headers.host ?? `127.0.0.1:${(req.socket.localPort ?? 0)}`}`;
      const call: Call = { req, res, requestId, pathname, query, path, id, params, who, fault, origin };
      await route.handler(ctx, call);
    } catch (err) {
      if (res.headersSent || res.destroyed) {
        res.destroy();
        return;
      }
      if (err instanceof ApiError) {
        if (kind === 'transfer') sendS3Error(res, err.status, 'InvalidRequest', err.message, requestId);
        else sendApiError(res, err, requestId);
        return;
      }
      ctx.logger.error('%s %s failed: %s', method, pathname, err instanceof Error ? (err.stack ?? err.message) : String(err));
      sendApiError(res, new ApiError('internal-server-error', 'Internal server error.', { status: 500 }), requestId);
    }
  };

  const listener = (req: IncomingMessage, res: ServerResponse): void => {
    onRequest(req, res).catch((err: unknown) => {
      ctx.logger.error('request handling failed: %s', err instanceof Error ? err.message : String(err));
      res.destroy();
    });
  };

  const options = { keepAliveTimeout: KEEP_ALIVE_MS, requestTimeout: 0, headersTimeout: 60_000 };
  const server = tls ? https.createServer({ ...options, cert: tls.cert, key: tls.key }, listener) : http.createServer(options, listener);
  server.on('connection', (socket: Socket) => {
    ctx.stats.connection();
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  server.on('clientError', (_err, socket) => socket.destroy());

  return {
    server,
    dropAll() {
      for (const t of stalls) clearTimeout(t);
      stalls.clear();
      for (const s of sockets) s.destroy();
      sockets.clear();
    },
  };
}
