// How the filesystem layer logs a failed operation. Ordinary outcomes (ENOENT
// from a shell probing for a file, EEXIST, ENOTEMPTY, ...) are debug lines. An
// unexpected one (errno.ts decides: EIO-class, unknown types, refused
// credentials) is a warning carrying the error's full description, logged
// once per distinct failure and window: when the server is down, `ls -lR`
// would otherwise print the same line thousands of times. Repeats inside the
// window go to debug and are counted in the next warning.
import { isFilesError } from '../client/index.js';
import type { Logger } from '../log/logger.js';
import { FsError } from './fs-error.js';

/** A repeated warning is shown again after this long. */
export const WARNING_WINDOW_MS = 60_000;
/** Distinct failures remembered; beyond this the oldest are forgotten. */
const MAX_REMEMBERED = 1000;

interface Seen {
  at: number;
  suppressed: number;
}

export class FailureLog {
  readonly #logger: Logger;
  readonly #windowMs: number;
  readonly #now: () => number;
  readonly #seen = new Map<string, Seen>();

  constructor(logger: Logger, options: { windowMs?: number; now?: () => number } = {}) {
    this.#logger = logger;
    this.#windowMs = options.windowMs ?? WARNING_WINDOW_MS;
    this.#now = options.now ?? Date.now;
  }

  report(op: string, path: string, err: FsError): void {
    const what = `${op} ${JSON.stringify(path)}: ${err.code}`;
    const description = describeError(err);
    if (!err.unexpected) {
      this.#logger.debug('%s (%s)', what, description);
      return;
    }
    const key = `${err.code}\u0000${description}`;
    const now = this.#now();
    const seen = this.#seen.get(key);
    if (seen && now - seen.at < this.#windowMs) {
      seen.suppressed++;
      this.#logger.debug('%s (%s) [repeat]', what, description);
      return;
    }
    const repeats = seen?.suppressed ? ` (${seen.suppressed} more like it in the last ${Math.round((now - seen.at) / 1000)} s)` : '';
    this.#seen.delete(key);
    this.#seen.set(key, { at: now, suppressed: 0 });
    if (this.#seen.size > MAX_REMEMBERED) this.#seen.delete(this.#seen.keys().next().value!);
    this.#logger.warn('%s failed: %s%s', what, description, repeats);
    const cause = err.cause;
    if (cause instanceof Error && !isFilesError(cause) && cause.stack && !('code' in cause)) this.#logger.debug('%s', cause.stack);
  }
}

/** One line: the message and what the server said, never more (an FsError is described by its cause). */
export function describeError(err: unknown): string {
  if (err instanceof FsError && err.cause !== undefined) return describeError(err.cause);
  if (isFilesError(err)) {
    const e = err;
    const details = [
      e.type ? `type ${e.type}` : `kind ${e.kind}`,
      e.status !== undefined ? `HTTP ${e.status}` : '',
      e.operation ?? '',
      e.instance ? `request ${e.instance}` : '',
    ].filter(Boolean).join(', ');
    return `${e.message} [${details}]`;
  }
  if (err instanceof FsError) return `${err.name}: ${err.message}`;
  if (err instanceof Error) {
    const code = (err as { code?: unknown }).code;
    return `${err.name}: ${err.message}${typeof code === 'string' && !err.message.includes(code) ? ` (${code})` : ''}`;
  }
  return `non-error rejection: ${String(err)}`;
}
