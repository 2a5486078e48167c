// Locks (docs/files-api.md §6, §13): `POST /locks/{path}` takes a lock for the
// calling user, `GET /locks/{path}` lists them, `DELETE /locks/{path}?token=`
// releases one. Facts (SDK Lock models, files-mock-server, fsmount): create
// parameters are `timeout` (seconds), `exclusive`, `recursive`,
// `allow_access_by_any_user`; a lock carries `path, timeout, depth, recursive,
// owner, scope, exclusive, token, type, allow_access_by_any_user, user_id,
// username`; the list is paged like other lists; a path may be locked before
// it exists (fsmount locks a file it is about to create); a second lock where
// one exists is refused with `processing-failure/destination-exists` (what
// fsmount checks for); releasing an unknown lock is `not-found` (fsmount
// treats that as already released).
//
// Choices (README "Choices"), WebDAV-like:
//   - a lock covers its path, and with `recursive` everything below it;
//   - exclusive conflicts with any lock it would overlap, shared locks only
//     with exclusive ones; the same user is no exception (fsmount expects its
//     own second lock to be refused too);
//   - a covered path can be changed (upload, folder create, PATCH, delete,
//     move, copy onto it) only by a user who holds one of the locks covering
//     it; everyone else gets 422 `processing-failure/file-locked` (or
//     `folder-locked` for a folder); for an exclusive lock the message says
//     "exclusive lock" (text fsmount maps to EAGAIN). Deleting or moving a folder also needs
//     every lock inside it to be the caller's. Reading is never refused;
//   - locks stay on their path: a move or delete by the owner leaves them
//     where they were until released or expired;
//   - `timeout` absent or 0 is DEFAULT_LOCK_TIMEOUT_SECONDS; a lock answers
//     with the seconds it has left. It cannot be renewed in place: the owner
//     releases it and takes a new one (or, for shared locks, takes the new one
//     first);
//   - only the owner may release a lock unless it allows access by any user
//     (then anyone with the token may); otherwise 422 `resource-locked`.
// Locks are kept in the store's "locks" table (journaled, so they survive a
// restart); expired ones are dropped when next seen.
import { randomBytes } from 'node:crypto';
import { normalize, normalizeForComparison } from '../path/index.js';
import type { Identity } from './auth.js';
import { ApiError, notFound } from './errors.js';
import type { Store, Table } from './store.js';

/** A lock taken without a timeout lasts an hour (fsmount's own choice for its write locks). */
export const DEFAULT_LOCK_TIMEOUT_SECONDS = 3600;

export interface LockRecord {
  /** Normalised path as given when locking (case kept). */
  path: string;
  /** Comparison key of `path`, segment by segment. */
  key: string;
  token: string;
  exclusive: boolean;
  recursive: boolean;
  allowAccessByAnyUser: boolean;
  userId: number;
  username: string;
  /** Epoch milliseconds. */
  created: number;
  expires: number;
}

export interface LockOptions {
  timeoutSeconds: number | undefined;
  exclusive: boolean;
  recursive: boolean;
  allowAccessByAnyUser: boolean;
}

/** Separates segment keys in a path key (a segment's key can hold `/` after NFKC); sorts below every name character but NUL. */
const SEP = '\u0001';

/** Comparison key of a path, per segment. */
export function pathKey(path: string): string {
  const norm = normalize(path);
  return norm === '' ? '' : norm.split('/').map(normalizeForComparison).join(SEP);
}

/** Is `inner` strictly below `outer` (both keys)? */
function below(inner: string, outer: string): boolean {
  return outer === '' ? inner !== '' : inner.startsWith(outer + SEP);
}

/** Does `lock` cover the path with key `key`? */
function covers(lock: LockRecord, key: string): boolean {
  return lock.key === key || (lock.recursive && below(key, lock.key));
}

export class Locks {
  private readonly table: Table<LockRecord>;

  constructor(store: Store, private readonly now: () => number = Date.now) {
    this.table = store.table<LockRecord>('locks');
    this.purge();
  }

  /** Takes a lock for `who`; 422 destination-exists when it would overlap a conflicting one. */
  create(path: string, who: Identity, options: LockOptions): LockRecord {
    this.purge();
    const norm = normalize(path);
    const key = pathKey(norm);
    for (const other of this.live()) {
      const overlaps = covers(other, key) || (options.recursive && below(other.key, key));
      if (overlaps && (other.exclusive || options.exclusive)) {
        throw new ApiError('processing-failure/destination-exists', `${norm || 'The site root'} is already locked (by ${other.username}).`);
      }
    }
    const now = this.now();
    const timeout = options.timeoutSeconds || DEFAULT_LOCK_TIMEOUT_SECONDS;
    const lock: LockRecord = {
      path: norm, key, token: randomBytes(16).toString('hex'),
      exclusive: options.exclusive, recursive: options.recursive, allowAccessByAnyUser: options.allowAccessByAnyUser,
      userId: who.user.id, username: who.user.username, created: now, expires: now + timeout * 1000,
    };
    this.table.put(lock.token, lock);
    return lock;
  }

  /**
   * Locks that cover `path` (its own and recursive ones above it), plus, with
   * `children`, those below it, in `sortKey` order.
   */
  list(path: string, children: boolean): LockRecord[] {
    const key = pathKey(path);
    const out = [...this.live()].filter((l) => covers(l, key) || (children && below(l.key, key)));
    return out.sort((a, b) => (Locks.sortKey(a) < Locks.sortKey(b) ? -1 : 1));
  }

  /** The order of `list` and its cursors: path, then creation, then token (unique). */
  static sortKey(lock: LockRecord): string {
    // NUL (never in a name) ends the path, so a folder sorts before what is inside it.
    return `${lock.key}\u0000${String(lock.created).padStart(15, '0')}\u0000${lock.token}`;
  }

  /** Releases the lock `token` on `path`; 404 when there is no such live lock. */
  release(path: string, token: string, who: Identity): void {
    const lock = this.table.get(token);
    if (!lock || lock.expires <= this.now() || lock.key !== pathKey(path)) throw notFound();
    if (lock.userId !== who.user.id && !lock.allowAccessByAnyUser) {
      throw new ApiError('processing-failure/resource-locked', `This lock belongs to ${lock.username} and does not allow access by other users.`);
    }
    this.table.delete(token);
  }

  /** Is `path` covered by any live lock (the entries' `is_locked`)? */
  isLocked(path: string): boolean {
    if (this.table.size === 0) return false;
    const key = pathKey(path);
    for (const l of this.live()) if (covers(l, key)) return true;
    return false;
  }

  /**
   * Refuses a change of `path` by `who` when a lock held only by others covers
   * it; with `subtree` (delete or move of a folder), also when such a lock
   * covers anything inside it.
   */
  assertWritable(path: string, who: Identity, target: { folder: boolean; subtree?: boolean }): void {
    if (this.table.size === 0) return;
    const key = pathKey(path);
    const live = [...this.live()];
    const blocker = (k: string): LockRecord | undefined => {
      const covering = live.filter((l) => covers(l, k));
      return covering.length > 0 && !covering.some((l) => l.userId === who.user.id) ? covering[0] : undefined;
    };
    let lock = blocker(key);
    if (!lock && target.subtree) {
      for (const inner of live) {
        if (below(inner.key, key) && (lock = blocker(inner.key))) break;
      }
    }
    if (!lock) return;
    const message = `${normalize(path) || 'The site root'} is locked: ${lock.exclusive ? 'an exclusive' : 'a shared'} lock is held by ${lock.username}.`;
    throw new ApiError(target.folder ? 'processing-failure/folder-locked' : 'processing-failure/file-locked', message);
  }

  /** The lock as the API shows it. */
  json(lock: LockRecord): Record<string, unknown> {
    return {
      path: lock.path,
      timeout: Math.max(0, Math.ceil((lock.expires - this.now()) / 1000)),
      depth: lock.recursive ? 'infinity' : '0',
      recursive: lock.recursive,
      owner: lock.username,
      scope: lock.exclusive ? 'exclusive' : 'shared',
      exclusive: lock.exclusive,
      token: lock.token,
      type: 'write',
      allow_access_by_any_user: lock.allowAccessByAnyUser,
      user_id: lock.userId,
      username: lock.username,
    };
  }

  private *live(): Iterable<LockRecord> {
    const now = this.now();
    for (const [, l] of this.table.entries()) if (l.expires > now) yield l;
  }

  /** Drops expired locks from the table (journaled). */
  private purge(): void {
    const now = this.now();
    const expired = [...this.table.entries()].filter(([, l]) => l.expires <= now).map(([t]) => t);
    for (const token of expired) this.table.delete(token);
  }
}
