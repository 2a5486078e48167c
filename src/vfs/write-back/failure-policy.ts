// What a failed upload attempt means for the file:
//   - cancelled: we aborted it (the file changed, was renamed or deleted, or
//     the mount is going away); whoever aborted decides what follows;
//   - conflict: the server's file changed since the local change began
//     (conflict.ts): nothing was published, the write layer decides;
//   - transient: the server or the network may do better later (5xx, 429,
//     resets, timeouts, a staging file that changed under the reader), and
//     refused credentials (401: a key revoked or expiring while it is being
//     replaced; the client reads the key source again at each attempt, so a
//     fixed key file lets the upload through at its next try): retried with
//     capped exponential backoff, without limit in time; so is a path
//     another client of the site has locked (until they let go);
//   - permanent: the server refused this upload (bad request such as an
//     invalid name or time, permission, a path it cannot hold): retried
//     rarely, the data kept and shown by `filesfs status`.
// Nothing is ever dropped on failure: both kinds keep the journal record and
// the staging file. An unknown error is treated as transient (it is most
// likely ours, and retrying costs little), and logged in full.
import { FilesError, isFilesError, isLockedByOther, NotAuthenticatedError } from '../../client/index.js';
import { redact } from '../../log/logger.js';
import { RemoteChangedError } from './conflict.js';

export type FailureKind = 'cancelled' | 'conflict' | 'transient' | 'permanent';

/** Local errors that may go away on their own (descriptor or memory pressure). */
const TRANSIENT_CODES = new Set(['EMFILE', 'ENFILE', 'EAGAIN', 'ENOMEM', 'EBUSY', 'EINTR', 'ESHRUNK']);

export function classifyFailure(err: unknown, signal: AbortSignal): FailureKind {
  if (signal.aborted) return 'cancelled';
  if (err instanceof RemoteChangedError) return 'conflict';
  if (err instanceof NotAuthenticatedError) return 'transient';
  if (isLockedByOther(err)) return 'transient';
  if (isFilesError(err)) return err.transient ? 'transient' : 'permanent';
  const code = (err as NodeJS.ErrnoException | undefined)?.code;
  if (typeof code === 'string') return TRANSIENT_CODES.has(code) ? 'transient' : 'permanent';
  return 'transient';
}

/** One line about a failure, for status and logs (server text is redacted). */
export function describeFailure(err: unknown): string {
  if (err instanceof FilesError) {
    const where = err.status ? `HTTP ${err.status}` : err.kind;
    return redact(`${err.message} (${where}${err.type ? `, ${err.type}` : ''})`);
  }
  if (err instanceof Error) {
    const code = (err as NodeJS.ErrnoException).code;
    return redact(code ? `${err.message} (${code})` : err.message);
  }
  return redact(String(err));
}

/** The reason an upload was aborted by us (never a failure of the upload). */
export class UploadCancelled extends Error {
  constructor(reason: string) {
    super(`upload cancelled: ${reason}`);
  }
  override get name(): string {
    return 'UploadCancelled';
  }
}
