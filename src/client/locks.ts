// Files.com locks (docs/files-api.md §6, §13): `POST /locks/{path}` takes a
// lock (`timeout` in seconds, `exclusive`, `recursive`,
// `allow_access_by_any_user`) and answers it with its `token`; `DELETE
// /locks/{path}` with that token releases it; `GET /locks/{path}` lists the
// locks on a path (paged like folder listings; `include_children` adds those
// below it). A lock someone else holds makes the create fail with a
// processing-failure (file-locked, folder-locked, resource-locked; some
// clients have seen destination-exists): isLockConflict tells. There is no
// renewal: a holder releases and locks again before the timeout.
import { routeFor } from './api-path.js';
import type { ApiClient } from './api.js';
import { hasType, NotFoundError } from './errors.js';
import type { RemoteLock } from './files-client.js';

export interface LockRequest {
  exclusive: boolean;
  /** Seconds until the server drops the lock on its own. */
  timeoutSeconds: number;
  recursive?: boolean;
  allowAccessByAnyUser?: boolean;
}

interface WireLock {
  path?: unknown;
  token?: unknown;
  exclusive?: unknown;
  recursive?: unknown;
  timeout?: unknown;
  owner?: unknown;
  username?: unknown;
  user_id?: unknown;
}

/** What the server answers a change to a path someone else has locked. */
const LOCKED_TYPES = [
  'processing-failure/file-locked',
  'processing-failure/folder-locked',
  'processing-failure/resource-locked',
  'processing-failure/subfolder-locked',
];

/** A change (upload, move, delete) failed because someone else holds a lock on the path: it may succeed once they let go. */
export function isLockedByOther(err: unknown): boolean {
  return LOCKED_TYPES.some((type) => hasType(err, type));
}

/** Taking a lock failed because someone holds a conflicting one (fsmount has seen destination-exists for this). */
export function isLockConflict(err: unknown): boolean {
  return isLockedByOther(err) || hasType(err, 'processing-failure/destination-exists');
}

export function parseLock(raw: unknown, fallbackPath: string): RemoteLock {
  const w = (raw && typeof raw === 'object' ? raw : {}) as WireLock;
  const text = (v: unknown): string | null => (typeof v === 'string' && v !== '' ? v : null);
  return {
    path: text(w.path) ?? fallbackPath,
    token: text(w.token) ?? '',
    exclusive: w.exclusive === true,
    recursive: w.recursive === true,
    timeoutSeconds: typeof w.timeout === 'number' ? w.timeout : null,
    owner: text(w.owner),
    username: text(w.username),
    userId: typeof w.user_id === 'number' ? w.user_id : null,
  };
}

export async function createLock(api: ApiClient, path: string, request: LockRequest, signal?: AbortSignal): Promise<RemoteLock> {
  const route = routeFor('/locks', path);
  const res = await api.call<unknown>({
    method: 'POST',
    route,
    body: {
      timeout: request.timeoutSeconds,
      exclusive: request.exclusive,
      recursive: request.recursive ?? false,
      allow_access_by_any_user: request.allowAccessByAnyUser ?? false,
    },
    signal,
  });
  const lock = parseLock(res.body, path);
  if (lock.token === '') throw new TypeError(`POST ${route}: the answer has no lock token`);
  return lock;
}

/** Releases a lock; one already gone (expired, released) is fine. */
export async function deleteLock(api: ApiClient, path: string, token: string, signal?: AbortSignal): Promise<void> {
  const route = routeFor('/locks', path);
  try {
    await api.call({ method: 'DELETE', route, query: { token }, signal });
  } catch (err) {
    if (!(err instanceof NotFoundError)) throw err;
  }
}

/** The locks on a path (and below it with includeChildren), every page. */
export async function listLocks(api: ApiClient, path: string, options: { includeChildren?: boolean; signal?: AbortSignal } = {}): Promise<RemoteLock[]> {
  const route = routeFor('/locks', path);
  const out: RemoteLock[] = [];
  let cursor: string | undefined;
  for (let page = 0; page < 1000; page++) {
    const query: Record<string, string | number | boolean> = { per_page: 1000 };
    if (options.includeChildren) query.include_children = true;
    if (cursor) query.cursor = cursor;
    const res = await api.call<unknown>({ method: 'GET', route, query, kind: 'metadata', signal: options.signal });
    if (Array.isArray(res.body)) for (const raw of res.body) out.push(parseLock(raw, path));
    const next = res.headers['x-files-cursor'];
    cursor = typeof next === 'string' && next !== '' ? next : undefined;
    if (!cursor) break;
  }
  return out;
}
