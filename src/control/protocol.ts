// The wire format of a mount's control socket: one request per connection,
// newline-delimited JSON both ways.
//
//   client → server   {"op": "unmount", "args": {"force": false}}
//   server → client   {"progress": {"message": "…", …}}      zero or more
//                     {"ok": true, "result": …}               then the server ends
//                     {"ok": false, "error": "one line"}      the connection
//
// JSON lines keep it readable with `socat - UNIX-CONNECT:…/control.sock` and
// let long operations (a drain before unmount) stream progress as they go.

/** The socket's file name inside the cache dir. */
export const CONTROL_SOCKET_NAME = 'control.sock';

/**
 * sockaddr_un holds 108 bytes on Linux, the final NUL included; a longer path
 * cannot be bound or connected to.
 */
export const MAX_SOCKET_PATH_BYTES = 107;

/** A request line is tiny; anything longer than this is not one of ours. */
export const MAX_REQUEST_BYTES = 64 * 1024;

export interface ControlRequest {
  op: string;
  args?: Record<string, unknown>;
}

/** What a long-running operation reports while it works (e.g. drain progress). */
export interface ProgressUpdate {
  /** One human-readable line, printed as is by `filesfs unmount`. */
  message: string;
  [field: string]: unknown;
}

export type ControlMessage =
  | { progress: ProgressUpdate }
  | { ok: true; result: unknown }
  | { ok: false; error: string };

/** What every mount answers to op "info" (and what the cache-dir lock reports). */
export interface MountInfo {
  pid: number;
  mountpoint: string;
  cacheDir: string;
  baseUrl: string;
  /** The remote folder shown as the mount's root; '' = the site root. */
  root: string;
  /** ISO 8601. */
  startedAt: string;
  version: string;
}

export function encodeMessage(message: ControlMessage | ControlRequest): string {
  return JSON.stringify(message) + '\n';
}

/**
 * Splits a byte stream into lines and hands each parsed JSON value to
 * `onValue`; returns the function to feed chunks to. A line that is not JSON,
 * or a line longer than `maxLineBytes`, goes to `onError` once.
 */
export function lineReader(onValue: (value: unknown) => void, onError: (err: Error) => void, maxLineBytes = Number.MAX_SAFE_INTEGER): (chunk: Buffer) => void {
  let pending = '';
  let failed = false;
  return (chunk) => {
    if (failed) return;
    pending += chunk.toString('utf8');
    let newline: number;
    while ((newline = pending.indexOf('\n')) >= 0) {
      const line = pending.slice(0, newline);
      pending = pending.slice(newline + 1);
      if (line.trim() === '') continue;
      let value: unknown;
      try {
        value = JSON.parse(line);
      } catch {
        failed = true;
        onError(new Error('not a JSON line'));
        return;
      }
      onValue(value);
    }
    if (Buffer.byteLength(pending) > maxLineBytes) {
      failed = true;
      onError(new Error(`line longer than ${maxLineBytes} bytes`));
    }
  };
}
