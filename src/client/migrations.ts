// Waiting for a move or copy (docs/files-api.md §6): the action answers
// {status, file_migration_id?}; "completed" is done at once, otherwise we poll
// GET /file_migrations/{id} until "completed" (done) or "failed"
// (ProcessingFailureError with the server's failure_message), waiting 100 ms,
// then doubling to at most 1 s between polls (the Go SDK polls every 1 s; a
// single-file rename usually finishes within the first polls, and a FUSE
// rename is waiting on it), for at most migrationTimeoutMs (TimeoutError).
import type { ApiClient } from './api.js';
import { ProcessingFailureError, ServerError, TimeoutError } from './errors.js';
import { delay } from './retry.js';
import type { WireFileAction, WireFileMigration } from './wire-types.js';

const FIRST_POLL_MS = 100;
const MAX_POLL_MS = 1_000;

export interface MigrationWait {
  api: ApiClient;
  timeoutMs: number;
  now: () => number;
  signal?: AbortSignal | undefined;
  /** e.g. "move a → b", for messages. */
  what: string;
}

function failed(what: string, message: unknown, operation: string): ProcessingFailureError {
  const detail = typeof message === 'string' && message !== '' ? message : 'the server reported failure';
  return new ProcessingFailureError({ message: `${what}: ${detail}`, type: 'processing-failure', operation });
}

/** Resolves when the file action in `action` (the move/copy answer) has completed. */
export async function awaitFileAction(action: unknown, wait: MigrationWait): Promise<void> {
  const a = (action && typeof action === 'object' ? action : {}) as WireFileAction;
  const status = typeof a.status === 'string' ? a.status : undefined;
  if (status === 'completed') return;
  if (status === 'failed') throw failed(wait.what, undefined, wait.what);
  const id = typeof a.file_migration_id === 'number' || (typeof a.file_migration_id === 'string' && a.file_migration_id !== '') ? String(a.file_migration_id) : undefined;
  if (id === undefined) {
    // Nothing to follow: unfinished without an id is a server fault; any
    // other answer (no status at all, as some 201s) means it is done.
    if (status === 'pending' || status === 'in_progress') {
      throw new ServerError({ message: `${wait.what}: status ${status} without a file_migration_id`, operation: wait.what });
    }
    return;
  }
  const route = `/file_migrations/${encodeURIComponent(id)}`;
  const deadline = wait.now() + wait.timeoutMs;
  for (let pause = FIRST_POLL_MS; ; pause = Math.min(MAX_POLL_MS, pause * 2)) {
    const res = await wait.api.call<unknown>({ method: 'GET', route, signal: wait.signal });
    const m = (res.body && typeof res.body === 'object' ? res.body : {}) as WireFileMigration;
    if (m.status === 'completed') return;
    if (m.status === 'failed') throw failed(wait.what, m.failure_message, `GET ${route}`);
    const left = deadline - wait.now();
    if (left <= 0) {
      throw new TimeoutError({ message: `${wait.what}: file migration ${id} not finished after ${wait.timeoutMs} ms (status ${String(m.status)})`, operation: `GET ${route}` });
    }
    await delay(Math.min(pause, left), wait.signal);
  }
}
