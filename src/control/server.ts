// The mount process's end of the control socket (`<cache dir>/control.sock`),
// which is also the cache dir's lock: binding it is how a mount claims the
// cache dir. When the file already exists, a connect tells a live mount (it
// answers "info": refuse, naming it) from a stale socket left by a killed one
// (connection refused: unlink it and bind). The cache dir is 0700 and the
// socket 0600, so only its owner (and root) can talk to it.
//
// Handlers are registered per op (`handle`); each request gets a progress
// callback streamed to the client and an AbortSignal that fires when the
// client goes away. Built in: "info" (the MountInfo given at bind).
import { chmod, unlink } from 'node:fs/promises';
import { createConnection, createServer, type Server, type Socket } from 'node:net';
import { join } from 'node:path';
import { ConfigError } from '../options/config-error.js';
import { silentLogger, type Logger } from '../log/logger.js';
import {
  CONTROL_SOCKET_NAME, MAX_REQUEST_BYTES, MAX_SOCKET_PATH_BYTES, encodeMessage, lineReader,
  type ControlMessage, type MountInfo, type ProgressUpdate,
} from './protocol.js';

export interface HandlerContext {
  /** Streams one progress line to the client (ignored once it has gone). */
  progress(update: ProgressUpdate): void;
  /** Aborted when the client disconnects before the answer. */
  readonly signal: AbortSignal;
}

/** Answers one request: the resolved value is sent as `result`; a rejection as one error line. */
export type ControlHandler = (args: Record<string, unknown>, context: HandlerContext) => Promise<unknown>;

/** How long a probe of an existing socket waits for a live mount's answer. */
const PROBE_TIMEOUT_MS = 3_000;
/** How long close() lets requests in progress finish writing their answer. */
const CLOSE_GRACE_MS = 5_000;

export function controlSocketPath(cacheDir: string): string {
  return join(cacheDir, CONTROL_SOCKET_NAME);
}

export class ControlServer {
  readonly socketPath: string;
  readonly #server: Server;
  readonly #handlers = new Map<string, ControlHandler>();
  readonly #open = new Set<Promise<void>>();
  readonly #sockets = new Set<Socket>();
  readonly #logger: Logger;
  #closing: Promise<void> | undefined;

  private constructor(socketPath: string, server: Server, info: MountInfo, logger: Logger) {
    this.socketPath = socketPath;
    this.#server = server;
    this.#logger = logger;
    this.#handlers.set('info', async () => info);
    server.on('connection', (socket) => this.#serve(socket));
  }

  /**
   * Claims `cacheDir` for the mount described by `info` and starts serving.
   * Throws ConfigError when another live mount holds it.
   */
  static async bind(cacheDir: string, info: MountInfo, logger: Logger = silentLogger): Promise<ControlServer> {
    const socketPath = controlSocketPath(cacheDir);
    if (Buffer.byteLength(socketPath) > MAX_SOCKET_PATH_BYTES) {
      throw new ConfigError(`--cache-dir ${cacheDir}: the path is too long for the mount's control socket (${Buffer.byteLength(socketPath)} bytes with /${CONTROL_SOCKET_NAME}, at most ${MAX_SOCKET_PATH_BYTES}); use a shorter --cache-dir`);
    }
    const server = createServer({ allowHalfOpen: false });
    try {
      await listen(server, socketPath);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EADDRINUSE') throw bindError(cacheDir, err);
      const holder = await probe(socketPath);
      if (holder.state === 'live') {
        const who = holder.info ? `the filesfs mount at ${holder.info.mountpoint} (pid ${holder.info.pid})` : 'another process';
        throw new ConfigError(`cache dir ${cacheDir} is in use by ${who}; unmount it first, or use --cache-dir to choose another cache dir`);
      }
      logger.debug('removing a stale control socket %s (%s)', socketPath, holder.reason);
      await unlink(socketPath).catch(() => undefined);
      try {
        await listen(server, socketPath);
      } catch (again) {
        if ((again as NodeJS.ErrnoException).code === 'EADDRINUSE') {
          throw new ConfigError(`cache dir ${cacheDir} was claimed by another filesfs mount starting at the same time; use --cache-dir to choose another cache dir`);
        }
        throw bindError(cacheDir, again);
      }
    }
    await chmod(socketPath, 0o600).catch(() => undefined);
    return new ControlServer(socketPath, server, info, logger);
  }

  /** Registers the handler of `op`; an op has one handler. */
  handle(op: string, handler: ControlHandler): void {
    if (this.#handlers.has(op)) throw new Error(`control op "${op}" already has a handler`);
    this.#handlers.set(op, handler);
  }

  /** Stops accepting, lets answers in progress finish (bounded), removes the socket file. */
  close(): Promise<void> {
    this.#closing ??= (async () => {
      const closed = new Promise<void>((resolve) => this.#server.close(() => resolve()));
      const grace = new Promise<void>((resolve) => setTimeout(resolve, CLOSE_GRACE_MS).unref());
      await Promise.race([Promise.allSettled([...this.#open]), grace]);
      for (const socket of this.#sockets) socket.destroy();
      await closed;
      await unlink(this.socketPath).catch(() => undefined);
    })();
    return this.#closing;
  }

  #serve(socket: Socket): void {
    this.#sockets.add(socket);
    const aborter = new AbortController();
    let answered = false;
    let started = false;
    const send = (message: ControlMessage): void => {
      if (!socket.destroyed && socket.writable) socket.write(encodeMessage(message));
    };
    socket.on('error', () => undefined);
    socket.on('close', () => {
      this.#sockets.delete(socket);
      if (!answered) aborter.abort(new Error('the control client went away'));
    });
    const reject = (error: string): void => {
      answered = true;
      send({ ok: false, error });
      socket.end();
    };
    socket.on('data', lineReader((value) => {
      if (started) return; // one request per connection
      started = true;
      const request = value as { op?: unknown; args?: unknown };
      const handler = typeof request?.op === 'string' ? this.#handlers.get(request.op) : undefined;
      if (!handler) return reject(`unknown control request ${JSON.stringify(request?.op)} (this mount handles: ${[...this.#handlers.keys()].join(', ')})`);
      const args = request.args && typeof request.args === 'object' ? (request.args as Record<string, unknown>) : {};
      const context: HandlerContext = {
        progress: (update) => { if (!answered) send({ progress: update }); },
        signal: aborter.signal,
      };
      const work = handler(args, context).then(
        (result) => {
          answered = true;
          send({ ok: true, result: result ?? null });
          socket.end();
        },
        (err: unknown) => {
          this.#logger.debug('control request %s failed: %s', request.op, err instanceof Error ? err.message : String(err));
          reject(err instanceof Error ? err.message : String(err));
        },
      ).finally(() => this.#open.delete(work));
      this.#open.add(work);
    }, (err) => reject(`bad control request: ${err.message}`), MAX_REQUEST_BYTES));
  }
}

function listen(server: Server, path: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const onError = (err: Error): void => reject(err);
    server.once('error', onError);
    server.listen(path, () => {
      server.off('error', onError);
      resolve();
    });
  });
}

function bindError(cacheDir: string, err: unknown): ConfigError {
  return new ConfigError(`--cache-dir ${cacheDir}: cannot create the control socket: ${(err as Error).message}`);
}

type ProbeResult = { state: 'live'; info?: MountInfo } | { state: 'stale'; reason: string };

/** Is something serving the socket at `path`? A live filesfs mount answers "info". */
function probe(path: string): Promise<ProbeResult> {
  return new Promise((resolve) => {
    let done = false;
    const finish = (result: ProbeResult): void => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      socket.destroy();
      resolve(result);
    };
    const socket = createConnection(path);
    // Connected but silent: something holds the socket; do not take it over.
    const timer = setTimeout(() => finish({ state: 'live' }), PROBE_TIMEOUT_MS);
    socket.on('connect', () => socket.write(encodeMessage({ op: 'info' })));
    socket.on('data', lineReader((value) => {
      const message = value as { ok?: boolean; result?: MountInfo };
      finish({ state: 'live', ...(message.ok && message.result ? { info: message.result } : {}) });
    }, () => finish({ state: 'live' })));
    socket.on('error', (err: NodeJS.ErrnoException) => {
      if (err.code === 'ECONNREFUSED' || err.code === 'ENOENT') finish({ state: 'stale', reason: err.code });
      else finish({ state: 'live' });
    });
    socket.on('close', () => finish({ state: 'live' }));
  });
}
