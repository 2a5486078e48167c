// The command side of a mount's control socket: send one request, receive the
// progress lines as they come, resolve with the result. Used by
// `filesfs unmount` and `filesfs status`.
import { createConnection } from 'node:net';
import { encodeMessage, lineReader, type ProgressUpdate } from './protocol.js';

export interface ControlRequestOptions {
  args?: Record<string, unknown>;
  onProgress?: (update: ProgressUpdate) => void;
  /** Gives up (rejecting) after this long without the final answer; default: no limit. */
  timeoutMs?: number;
  signal?: AbortSignal;
}

/** The socket could not be reached: nothing listens there (any more). */
export class ControlUnavailableError extends Error {
  readonly code: string | undefined;
  constructor(message: string, code?: string) {
    super(message);
    this.code = code;
  }
  override get name(): string {
    return 'ControlUnavailableError';
  }
}

/** No final answer within ControlRequestOptions.timeoutMs (the mount may still be working on it). */
export class ControlTimeoutError extends Error {
  override get name(): string {
    return 'ControlTimeoutError';
  }
}

/** The mount answered the request with an error (its message is one line). */
export class ControlRequestError extends Error {
  override get name(): string {
    return 'ControlRequestError';
  }
}

export function controlRequest<T = unknown>(socketPath: string, op: string, options: ControlRequestOptions = {}): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    let settled = false;
    let connected = false;
    const finish = (err: Error | undefined, value?: T): void => {
      if (settled) return;
      settled = true;
      if (timer) clearTimeout(timer);
      options.signal?.removeEventListener('abort', onAbort);
      socket.destroy();
      if (err) reject(err);
      else resolve(value as T);
    };
    const onAbort = (): void => finish(options.signal?.reason instanceof Error ? options.signal.reason : new Error('aborted'));
    const socket = createConnection(socketPath);
    const timer = options.timeoutMs === undefined ? undefined
      : setTimeout(() => finish(new ControlTimeoutError(`no answer from the mount's control socket ${socketPath} within ${options.timeoutMs} ms`)), options.timeoutMs);
    options.signal?.addEventListener('abort', onAbort, { once: true });
    socket.on('connect', () => {
      connected = true;
      socket.write(encodeMessage({ op, ...(options.args ? { args: options.args } : {}) }));
    });
    socket.on('data', lineReader((value) => {
      const message = value as { progress?: ProgressUpdate; ok?: boolean; result?: unknown; error?: string };
      if (message.progress) {
        options.onProgress?.(message.progress);
      } else if (message.ok === true) {
        finish(undefined, message.result as T);
      } else if (message.ok === false) {
        finish(new ControlRequestError(String(message.error)));
      }
    }, (err) => finish(new Error(`unreadable answer from ${socketPath}: ${err.message}`))));
    socket.on('error', (err: NodeJS.ErrnoException) => {
      if (!connected) finish(new ControlUnavailableError(`cannot connect to ${socketPath}: ${err.code ?? err.message}`, err.code));
      else finish(new Error(`the control connection to ${socketPath} failed: ${err.message}`));
    });
    socket.on('close', () => finish(connected
      ? new ControlUnavailableError(`the mount closed its control connection ${socketPath} without an answer`, 'ECONNRESET')
      : new ControlUnavailableError(`cannot connect to ${socketPath}`)));
  });
}
