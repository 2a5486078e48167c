// POSIX locks are Files.com locks (docs/semantics.md, "A shared site"): every
// fcntl/lockf and flock lock a program takes on a file in the mount is also a
// lock on the server, which every other client of the site sees (another
// mount, the desktop app, SFTP, WebDAV), and a lock one of them holds stops
// programs here.
//
// Per file, programs on this machine hold locks in a LockTable (conflicts
// between them are decided locally, first); while any is held, the mount
// holds one server lock on the file: exclusive when any local lock is a write
// lock, shared otherwise (a shared one becomes exclusive when a write lock
// comes; it is never made shared again before it goes). It is released when
// the last local lock goes (unlock, close, the process's death), and every
// one at unmount. Files.com locks have a timeout and no renewal, so the
// server lock is taken again (released and re-created) before it runs out.
//
// A lock someone else holds answers at once with EAGAIN (F_SETLK, LOCK_NB);
// the waiting forms (F_SETLKW, flock without LOCK_NB) try again with backoff
// until the lock is granted, and give up with EINTR as soon as the waiting
// process has a signal pending that stops it (the kernel cannot interrupt a
// request the filesystem already took, so this is how Ctrl-C reaches a
// waiting `flock`). A server that cannot be asked gives ENOLCK.
import { readFile } from 'node:fs/promises';
import { setTimeout as sleep } from 'node:timers/promises';
import { LRUCache } from 'lru-cache';
import { isLockConflict, type FilesClient, type RemoteLock } from '../../client/index.js';
import type { Logger } from '../../log/logger.js';
import { FsError } from '../fs-error.js';
import { keyOf } from '../path-mapper.js';
import { Mutex } from '../write-back/mutex.js';
import { LockTable, type LockType } from './lock-table.js';

export interface LockOptions {
  /** The server lock's timeout, seconds. Default 3,600 (Files.com's own mount uses an hour). */
  timeoutSeconds?: number;
  /** First wait before asking the server again for a lock someone holds, ms. Default 250. */
  pollMinMs?: number;
  /** Longest wait between two asks, ms. Default 5,000 (every ask is a billable API call). */
  pollMaxMs?: number;
}

const DEFAULTS = { timeoutSeconds: 3_600, pollMinMs: 250, pollMaxMs: 5_000 };
/** The server lock is taken again when this share of its timeout has passed. */
const RENEW_AT = 0.8;
/** How often a waiting lock checks whether its process has a signal pending. */
const SIGNAL_CHECK_MS = 100;
/** Signals that stop a process by default (SIGHUP, SIGINT, SIGQUIT, SIGKILL, SIGTERM): one pending (and not blocked) ends the wait. */
const STOPPING_SIGNALS = [1, 2, 3, 9, 15];

/** What a program asks for. */
export interface LockAsk {
  /** The lock owner: POSIX ("p:<kernel owner>") or flock ("f:<open file description>"). */
  owner: string;
  pid: number;
  type: LockType | 'unlock';
  start: number;
  /** Exclusive end; Infinity for "to the end of the file". */
  end: number;
  /** F_SETLKW, or flock without LOCK_NB. */
  wait: boolean;
}

/** A lock held elsewhere, as F_GETLK reports it. */
export interface LockHolder {
  type: LockType;
  start: number;
  end: number;
  /** The local process holding it; 0 for a lock held by another client of the site. */
  pid: number;
}

/** One file's locks: local holders and the server lock held for them. */
interface FileLocks {
  path: string;
  table: LockTable;
  /** The lock held on the server for them; `path` is where it was taken (it stays there if the file moves). */
  server: { token: string; path: string; exclusive: boolean; since: Date; renew: NodeJS.Timeout | undefined } | null;
  mutex: Mutex;
  /** Waiters to wake when a local lock goes. */
  wake: Set<() => void>;
  /** Calls working on this record now (it is forgotten only at 0). */
  users: number;
}

/** For `filesfs status`: the server locks this mount holds. */
export interface HeldLock {
  path: string;
  exclusive: boolean;
  since: string;
  /** Local owners (processes' locks and open files) holding it. */
  holders: number;
}

class Conflict extends Error {}

/** How many released paths are remembered (the oldest go first). */
const RELEASED_KEPT = 1_000;

export class LockManager {
  private readonly files = new Map<string, FileLocks>();
  /** When this mount last released its server lock on a path (by key), the least recent forgotten first. */
  private readonly released = new LRUCache<string, number>({ max: RELEASED_KEPT });
  private readonly options: Required<LockOptions>;
  private closed = false;

  constructor(private readonly client: FilesClient, private readonly log: Logger, options: LockOptions = {}) {
    this.options = { ...DEFAULTS, ...options };
  }

  /** Whether the server takes locks (else the kernel keeps them local, as before). */
  get supported(): boolean {
    return typeof this.client.lock === 'function' && typeof this.client.unlock === 'function';
  }

  /** fcntl F_SETLK/F_SETLKW and flock: sets, changes or removes `ask.owner`'s lock. */
  set(remotePath: string, ask: LockAsk): Promise<void> {
    return this.withFile(remotePath, (file) => this.setIn(file, remotePath, ask));
  }

  private async setIn(file: FileLocks, remotePath: string, ask: LockAsk): Promise<void> {
    if (ask.type === 'unlock') {
      await file.mutex.run(() => this.unlockLocal(file, ask.owner, ask.start, ask.end));
      return;
    }
    let delay = this.options.pollMinMs;
    for (;;) {
      let localConflict = false;
      try {
        await file.mutex.run(() => this.attempt(file, ask, () => {
          localConflict = true;
        }));
        return;
      } catch (err) {
        if (!(err instanceof Conflict)) throw err;
        if (!ask.wait) throw new FsError('EAGAIN', `${remotePath}: ${err.message}`);
      }
      // Local holders wake us when they let go; a lock held elsewhere is asked for again, less and less often.
      await this.waitOrInterrupted(file, ask.pid, localConflict ? Infinity : delay, remotePath);
      if (!localConflict) delay = Math.min(this.options.pollMaxMs, delay * 2);
    }
  }

  /** fcntl F_GETLK: a lock that would stop `want`, or null. */
  test(remotePath: string, want: Omit<LockAsk, 'wait'>): Promise<LockHolder | null> {
    return this.withFile(remotePath, (file) => this.testIn(file, remotePath, want));
  }

  private async testIn(file: FileLocks, remotePath: string, want: Omit<LockAsk, 'wait'>): Promise<LockHolder | null> {
    const local = file.table.conflict({ owner: want.owner, type: want.type === 'unlock' ? 'read' : want.type, start: want.start, end: want.end });
    if (local) return { type: local.type, start: local.start, end: local.end, pid: local.pid };
    if (want.type === 'unlock' || (file.server && (file.server.exclusive || want.type === 'read'))) return null;
    // Whether someone else holds it on the server: ask (locks are whole-file there).
    const held = await this.serverLocks(remotePath);
    const stopping = held.find((l) => l.token !== file.server?.token && (l.exclusive || want.type === 'write'));
    return stopping ? { type: stopping.exclusive ? 'write' : 'read', start: 0, end: Infinity, pid: 0 } : null;
  }

  /** Drops every lock of `owner` on the file (a POSIX owner's close, an flock file's release). */
  async releaseOwner(remotePath: string, owner: string): Promise<void> {
    if (!this.files.has(keyOf(remotePath))) return;
    await this.withFile(remotePath, (file) => file.mutex.run(() => this.unlockLocal(file, owner, 0, Infinity)));
  }

  /** A file renamed here keeps its local locks under its new name. */
  moved(fromPath: string, toPath: string): void {
    const from = keyOf(fromPath);
    const to = keyOf(toPath);
    if (from === to) {
      const file = this.files.get(from);
      if (file) file.path = toPath;
      return;
    }
    const file = this.files.get(from);
    if (!file || this.files.has(to)) return;
    this.files.delete(from);
    file.path = toPath;
    this.files.set(to, file);
  }

  /** The token of the server lock this mount holds on a path, if any. */
  heldToken(remotePath: string): string | undefined {
    return this.files.get(keyOf(remotePath))?.server?.token;
  }

  /**
   * Whether this mount released its own server lock on the path within the
   * last `withinMs`: a listing fetched while it held it says "locked", and
   * that lock was this mount's, not another client's.
   */
  releasedWithin(remotePath: string, withinMs: number): boolean {
    const at = this.released.peek(keyOf(remotePath));
    return at !== undefined && Date.now() - at <= withinMs;
  }

  private noteReleased(path: string): void {
    this.released.set(keyOf(path), Date.now());
  }

  /** The server locks this mount holds now. */
  status(): HeldLock[] {
    const out: HeldLock[] = [];
    for (const file of this.files.values()) {
      if (!file.server) continue;
      out.push({ path: file.path, exclusive: file.server.exclusive, since: file.server.since.toISOString(), holders: file.table.owners().length });
    }
    return out;
  }

  /** Who holds locks on a path on the server (for the lock-holder attribute and Office's owner files). */
  async serverLocks(remotePath: string): Promise<RemoteLock[]> {
    if (typeof this.client.locks !== 'function') return [];
    try {
      return await this.client.locks(remotePath);
    } catch (err) {
      throw new FsError('ENOLCK', `${remotePath}: cannot ask the server about its locks: ${(err as Error).message}`, { cause: err, unexpected: true });
    }
  }

  /** Releases every server lock (unmount); local holders are gone with the mount. */
  async close(): Promise<void> {
    this.closed = true;
    await Promise.all([...this.files.values()].map((file) => file.mutex.run(async () => {
      file.table = new LockTable();
      await this.ensureServer(file, 'none');
    }).catch((err: unknown) => this.log.warn('%s: could not release its lock on the server (%s); it expires by itself', file.path, (err as Error).message))));
    this.files.clear();
  }

  // ---- helpers ------------------------------------------------------------------------

  /**
   * Runs `work` on the file's record, created if need be; the record is
   * forgotten once nobody uses it and it holds nothing (never while another
   * call waits for it, which would then lock an orphan the map has lost).
   */
  private async withFile<T>(remotePath: string, work: (file: FileLocks) => Promise<T>): Promise<T> {
    const key = keyOf(remotePath);
    let file = this.files.get(key);
    if (!file) {
      file = { path: remotePath, table: new LockTable(), server: null, mutex: new Mutex(), wake: new Set(), users: 0 };
      this.files.set(key, file);
    }
    file.users++;
    try {
      return await work(file);
    } finally {
      file.users--;
      if (file.users === 0 && file.table.empty && !file.server && this.files.get(keyOf(file.path)) === file) this.files.delete(keyOf(file.path));
    }
  }

  /** One try at `ask` (the caller holds the file's mutex): Conflict when someone holds a conflicting lock. */
  private async attempt(file: FileLocks, ask: LockAsk, onLocalConflict: () => void): Promise<void> {
    if (this.closed) throw new FsError('ENOLCK', `${file.path}: the mount is closing`);
    const type = ask.type as LockType;
    const local = file.table.conflict({ owner: ask.owner, type, start: ask.start, end: ask.end });
    if (local) {
      onLocalConflict();
      throw new Conflict(`locked by process ${local.pid} on this machine`);
    }
    const exclusive = type === 'write' || file.table.hasWriteLock || (file.server?.exclusive ?? false);
    await this.ensureServer(file, exclusive ? 'exclusive' : 'shared');
    file.table.set({ owner: ask.owner, type, start: ask.start, end: ask.end, pid: ask.pid });
  }

  private async unlockLocal(file: FileLocks, owner: string, start: number, end: number): Promise<void> {
    file.table.remove(owner, start, end);
    for (const wake of file.wake) wake();
    if (file.table.empty) {
      try {
        await this.ensureServer(file, 'none');
      } catch (err) {
        this.log.warn('%s: could not release its lock on the server (%s); it expires by itself', file.path, (err as Error).message);
      }
    }
  }

  /** Brings the server lock to `want` (the caller holds the file's mutex). */
  private async ensureServer(file: FileLocks, want: 'none' | 'shared' | 'exclusive'): Promise<void> {
    const held = file.server;
    if (want === 'none') {
      if (!held) return;
      file.server = null;
      clearTimeout(held.renew);
      await this.client.unlock!(held.path, held.token);
      this.noteReleased(held.path);
      return;
    }
    if (!this.supported) return;
    if (held && (held.exclusive || want === 'shared')) return;
    if (held) {
      // Shared → exclusive: the server has no upgrade; release, then take it exclusive.
      file.server = null;
      clearTimeout(held.renew);
      await this.client.unlock!(held.path, held.token);
    }
    try {
      await this.take(file, want === 'exclusive');
    } catch (err) {
      if (held && err instanceof Conflict) await this.take(file, false).catch(() => undefined);
      throw err;
    }
  }

  private async take(file: FileLocks, exclusive: boolean): Promise<void> {
    let lock: RemoteLock;
    try {
      lock = await this.client.lock!(file.path, { exclusive, timeoutSeconds: this.options.timeoutSeconds });
    } catch (err) {
      if (isLockConflict(err)) throw new Conflict(`locked on the server by another client (${(err as Error).message})`);
      throw new FsError('ENOLCK', `${file.path}: the server could not take the lock: ${(err as Error).message}`, { cause: err, unexpected: true });
    }
    file.server = { token: lock.token, path: file.path, exclusive, since: new Date(), renew: undefined };
    this.scheduleRenew(file);
  }

  /** Takes the server lock again before its timeout (Files.com locks cannot be extended). */
  private scheduleRenew(file: FileLocks): void {
    const server = file.server;
    if (!server) return;
    server.renew = setTimeout(() => {
      void file.mutex.run(async () => {
        if (file.server !== server || this.closed) return;
        try {
          await this.client.unlock!(server.path, server.token);
          file.server = null;
          await this.take(file, server.exclusive);
        } catch (err) {
          file.server = null;
          this.log.warn('%s: the lock held on the server for %d local holder(s) could not be taken again (%s); other clients may now take it', file.path, file.table.owners().length, (err as Error).message);
        }
      });
    }, this.options.timeoutSeconds * 1000 * RENEW_AT);
    server.renew.unref();
  }

  /** Waits `ms` (or until a local holder lets go); EINTR as soon as the waiting process has a stopping signal pending. */
  private async waitOrInterrupted(file: FileLocks, pid: number, ms: number, remotePath: string): Promise<void> {
    let woken = false;
    const wake = (): void => {
      woken = true;
    };
    file.wake.add(wake);
    try {
      const until = Date.now() + ms;
      while (!woken && Date.now() < until) {
        await sleep(Math.min(SIGNAL_CHECK_MS, until - Date.now()));
        if (this.closed) throw new FsError('ENOLCK', `${remotePath}: the mount is closing`);
        if (await signalPending(pid)) throw new FsError('EINTR', `${remotePath}: the waiting process was signalled`);
      }
    } finally {
      file.wake.delete(wake);
    }
  }
}

/**
 * True when process `pid` has a signal pending that would interrupt a
 * blocking call (not blocked nor ignored, and caught by a handler or fatal by
 * default), or is gone.
 */
export async function signalPending(pid: number): Promise<boolean> {
  if (!(pid > 0)) return false;
  let text: string;
  try {
    text = await readFile(`/proc/${pid}/status`, 'utf8');
  } catch {
    return true; // gone
  }
  const masks: Record<string, bigint> = {};
  for (const line of text.split('\n')) {
    const m = /^(SigPnd|ShdPnd|SigBlk|SigIgn|SigCgt):\s*([0-9a-f]+)/.exec(line);
    if (m) masks[m[1]!] = BigInt(`0x${m[2]}`);
  }
  const pending = ((masks.SigPnd ?? 0n) | (masks.ShdPnd ?? 0n)) & ~(masks.SigBlk ?? 0n) & ~(masks.SigIgn ?? 0n);
  const fatal = STOPPING_SIGNALS.reduce((m, sig) => m | (1n << BigInt(sig - 1)), 0n);
  return (pending & ((masks.SigCgt ?? 0n) | fatal)) !== 0n;
}
