// One pending folder: a folder made through the mount (mkdir) that the server
// does not have yet. Like a pending file it is written back: it shows at
// once, its journal record makes it survive a crash, and it is created on the
// server in the background (`POST /folders`), before anything inside it
// uploads (folder-uploads.ts holds those back until it has landed). Until
// then it exists only here: renaming or removing it is a local change, with
// no request.
//
// It owns its lifecycle, one explicit phase changed only by the methods
// below, each refusing a move the lifecycle does not allow:
//
//   delayed ──due──▶ queued ──slot──▶ creating ──┬─▶ landed (leaves the set once its record is gone)
//      ▲                ▲                        ├─▶ retrying ──due──▶ queued
//      │                └── forced (a file below │   (transient failure)
//      │                    needs it, drain)     ├─▶ failed ──due──▶ queued   (refused; retried rarely)
//      └──────────────── (cancelled: rests again)┘
//   held: a rename is moving it (nothing starts until it ends); removed: final.
//
// Its time: a folder shows the time it was made; `utimens` (cp -p, rsync -t)
// sets the time its creation carries (`provided_mtime`), as for files.
import type { RemoteEntry } from '../../client/index.js';
import { baseName } from '../../path/index.js';
import { keyOf } from '../path-mapper.js';
import type { MetadataMap } from '../posix/posix-metadata.js';
import { Mutex } from './mutex.js';
import { IllegalTransition, invariantChecks, wholeSeconds, type UploadFailure } from './pending-file.js';

export type FolderPhase =
  /** Made; its creation waits for the upload delay. */
  | 'delayed'
  /** Due: waits for its parent folder to land and for a slot. */
  | 'queued'
  /** Its creation is in flight. */
  | 'creating'
  /** The last attempt failed transiently; the next is due at failure.nextAttemptAt. */
  | 'retrying'
  /** The server refused it; retried rarely. */
  | 'failed'
  /** A rename is moving it: no attempt starts until it ends. */
  | 'held'
  /** The server has it; it leaves the pending set once its record is gone. */
  | 'landed'
  /** Removed (rmdir, discarded, replaced): final. */
  | 'removed';

/** A creation attempt in flight. */
export interface FolderAttempt {
  readonly path: string;
  /** The time sent as provided_mtime, when one was set (utimens). */
  readonly mtime: Date | null;
  /** custom_metadata to store right after the creation (POSIX mode, owner, xattrs), when it has any. */
  readonly metadata: MetadataMap | null;
  readonly controller: AbortController;
  /** Settles when the attempt is over, whatever the outcome. */
  readonly done: Promise<void>;
}

export interface PendingFolderInit {
  id: string;
  path: string;
  mtime: Date;
  /** The time was set by utimens (sent with the creation). */
  timeSet: boolean;
  /** Its custom_metadata (mode, owner, xattrs); empty when it has none. */
  metadata?: MetadataMap;
  phase: 'delayed' | 'failed';
  failure?: UploadFailure;
  /** The journal record exists already (recovered). */
  journaled: boolean;
}

interface Waiter {
  resolve: () => void;
  reject: (err: Error) => void;
  timer: NodeJS.Timeout;
}

export class PendingFolder {
  readonly id: string;
  /** Serializes this folder's journal writes (the newest record wins). */
  readonly records = new Mutex();
  #path: string;
  #mtime: Date;
  #timeSet: boolean;
  #metadata: MetadataMap;
  #phase: FolderPhase;
  #failure: UploadFailure | null;
  #attempt: FolderAttempt | null = null;
  #holds = 0;
  #forced = false;
  #journaled: boolean;
  #removedBecause: string | null = null;
  #waiters: Waiter[] = [];

  constructor(init: PendingFolderInit) {
    this.id = init.id;
    this.#path = init.path;
    this.#mtime = wholeSeconds(init.mtime);
    this.#timeSet = init.timeSet;
    this.#metadata = init.metadata ?? {};
    this.#phase = init.phase;
    this.#failure = init.failure ?? null;
    this.#journaled = init.journaled;
    if ((init.phase === 'failed') !== (init.failure?.permanent === true)) {
      throw new IllegalTransition(`${init.path}: a folder starts failed exactly when it carries a refusal`);
    }
    this.#check();
  }

  // ---- what others may ask ------------------------------------------------------------

  get phase(): FolderPhase {
    return this.#phase;
  }
  get path(): string {
    return this.#path;
  }
  get key(): string {
    return keyOf(this.#path);
  }
  get mtime(): Date {
    return this.#mtime;
  }
  get timeSet(): boolean {
    return this.#timeSet;
  }
  get metadata(): MetadataMap {
    return this.#metadata;
  }
  get failure(): UploadFailure | null {
    return this.#failure;
  }
  get attempt(): FolderAttempt | null {
    return this.#attempt;
  }
  get journaled(): boolean {
    return this.#journaled;
  }
  get held(): boolean {
    return this.#holds > 0;
  }
  get forced(): boolean {
    return this.#forced;
  }
  get removed(): boolean {
    return this.#phase === 'removed';
  }
  get removedBecause(): string | null {
    return this.#removedBecause;
  }
  /** The server has it. */
  get landed(): boolean {
    return this.#phase === 'landed';
  }
  /** Not on the server yet, and still wanted: what is below it waits for it. */
  get blocks(): boolean {
    return !this.landed && !this.removed;
  }
  /** May an attempt start now? */
  get mayStart(): boolean {
    return this.#phase === 'queued';
  }

  /** What getattr and readdir show while it is pending. */
  entry(): RemoteEntry {
    return {
      path: this.#path,
      name: baseName(this.#path),
      type: 'directory',
      size: 0,
      mtime: this.#mtime,
      serverMtime: null,
      providedMtime: this.#timeSet ? this.#mtime : null,
      createdAt: null,
      md5: null,
      crc32: null,
      permissions: null,
      ...(Object.keys(this.#metadata).length > 0 ? { customMetadata: this.#metadata } : {}),
    };
  }

  // ---- changes ------------------------------------------------------------------------

  /** utimens: the time its creation carries. */
  retimed(mtime: Date): void {
    if (this.#phase === 'creating' || this.landed) throw new IllegalTransition(`${this.#path}: retimed in phase ${this.#phase}`);
    this.#mtime = wholeSeconds(mtime);
    this.#timeSet = true;
    this.#check();
  }

  /** chmod, chown, an xattr: the metadata its creation carries. */
  changedMetadata(metadata: MetadataMap): void {
    if (this.#phase === 'creating' || this.landed) throw new IllegalTransition(`${this.#path}: metadata changed in phase ${this.#phase}`);
    this.#metadata = { ...metadata };
    this.#check();
  }

  /** It now lives at `path` (a rename; the registry re-indexes it). */
  retarget(path: string): void {
    this.#path = path;
    this.#check();
  }

  /** Its journal record is written (true) or gone (false). */
  recorded(journaled: boolean): void {
    this.#journaled = journaled;
    this.#check();
  }

  // ---- the creation's lifecycle -------------------------------------------------------

  /** Create it as soon as a slot is free and its parent is there (a file below needs it, a drain). */
  force(): void {
    if (!this.blocks) return;
    this.#forced = true;
    if (this.#phase === 'delayed' || this.#phase === 'retrying' || this.#phase === 'failed') this.#to('queued');
  }

  /** The delay or the wait after a failure is over. */
  due(): void {
    this.#expect('due', ['delayed', 'retrying', 'failed', 'queued', 'creating', 'held', 'landed', 'removed']);
    if (this.#phase === 'delayed' || this.#phase === 'retrying' || this.#phase === 'failed') this.#to('queued');
  }

  /** An attempt starts now. */
  startCreate(controller: AbortController, done: Promise<void>): FolderAttempt {
    if (!this.mayStart) throw new IllegalTransition(`${this.#path}: a creation cannot start in phase ${this.#phase}`);
    const metadata = Object.keys(this.#metadata).length > 0 ? this.#metadata : null;
    const attempt: FolderAttempt = { path: this.#path, mtime: this.#timeSet ? this.#mtime : null, metadata, controller, done };
    this.#attempt = attempt;
    this.#forced = false;
    this.#to('creating');
    return attempt;
  }

  /** The server has the folder (made now, or there already): things below it may upload. */
  created(attempt: FolderAttempt): void {
    this.#expectAttempt(attempt);
    this.#attempt = null;
    this.#failure = null;
    if (this.removed) return this.#check();
    // Waiters are told as it lands (the check runs once they are).
    this.#phase = 'landed';
    this.#finishWaiters((w) => w.resolve());
  }

  /** The attempt failed: retry after failure.nextAttemptAt. */
  createFailed(attempt: FolderAttempt, failure: UploadFailure): void {
    this.#expectAttempt(attempt);
    this.#attempt = null;
    this.#failure = failure;
    if (this.removed) return this.#check();
    this.#to(failure.permanent ? 'failed' : 'retrying');
    if (failure.permanent) this.#finishWaiters((w) => w.reject(new Error(`the server refused to create ${this.#path}: ${failure.message}`)));
  }

  /** We aborted the attempt (a rename, an rmdir, the mount closing). */
  createCancelled(attempt: FolderAttempt): void {
    this.#expectAttempt(attempt);
    this.#attempt = null;
    if (this.removed) return this.#check();
    this.#to(this.#holds > 0 ? 'held' : this.#forced ? 'queued' : 'delayed');
  }

  /** A rename begins: no attempt starts until unhold(); the caller aborts the one in flight. */
  hold(): void {
    this.#holds++;
    if (this.#phase !== 'creating' && this.blocks) this.#to('held');
    this.#check();
  }

  unhold(): void {
    if (this.#holds === 0) throw new IllegalTransition(`${this.#path}: released more holds than were taken`);
    this.#holds--;
    if (this.#holds === 0 && this.#phase === 'held') this.#to(this.#failure?.permanent ? 'failed' : this.#forced ? 'queued' : 'delayed');
    this.#check();
  }

  /** Never created (rmdir, discarded, replaced). Final; waiters are told. */
  remove(why: string): void {
    if (this.removed) return;
    this.#removedBecause = why;
    this.#phase = 'removed';
    this.#finishWaiters((w) => w.reject(new Error(`${this.#path} was ${why} before it was created on the server`)));
    this.#check();
  }

  /** Resolves once the server has it; rejects on refusal, removal or after `timeoutMs`. */
  waitForLanding(timeoutMs: number, onTimeout: () => Error): Promise<void> {
    if (this.landed) return Promise.resolve();
    if (this.removed) return Promise.reject(new Error(`${this.#path} was ${this.#removedBecause ?? 'removed'}`));
    return new Promise<void>((resolve, reject) => {
      const waiter: Waiter = {
        resolve,
        reject,
        timer: setTimeout(() => {
          this.#waiters = this.#waiters.filter((w) => w !== waiter);
          reject(onTimeout());
        }, timeoutMs),
      };
      waiter.timer.unref();
      this.#waiters.push(waiter);
    });
  }

  // ---- invariants ---------------------------------------------------------------------

  assertInvariants(): void {
    const fail = (what: string): never => {
      throw new IllegalTransition(`${this.#path}: invariant broken in phase ${this.#phase}: ${what}`);
    };
    const p = this.#phase;
    if (this.#holds < 0) fail('a negative count');
    if (p === 'creating' && this.#attempt === null) fail('creating without an attempt');
    if (this.#attempt !== null && p !== 'creating' && p !== 'removed') fail('an attempt while not creating');
    if (p === 'retrying' && this.#failure?.permanent !== false) fail('retrying without a transient failure');
    if (p === 'failed' && this.#failure?.permanent !== true) fail('failed without a refusal');
    if (p === 'held' && this.#holds === 0) fail('held without a hold');
    if (this.#holds > 0 && !['held', 'creating', 'landed', 'removed'].includes(p)) fail('a hold while free to start');
    if ((p === 'landed' || p === 'removed') && this.#waiters.length > 0) fail('waiters on a folder that is no longer pending');
  }

  // ---- helpers ------------------------------------------------------------------------

  #to(phase: FolderPhase): void {
    if (this.removed && phase !== 'removed') throw new IllegalTransition(`${this.#path}: a removed folder cannot become ${phase}`);
    if (this.landed && phase !== 'landed' && phase !== 'removed') throw new IllegalTransition(`${this.#path}: a landed folder cannot become ${phase}`);
    this.#phase = phase;
    this.#check();
  }

  #expect(move: string, from: readonly FolderPhase[]): void {
    if (!from.includes(this.#phase)) throw new IllegalTransition(`${this.#path}: ${move} is not allowed in phase ${this.#phase}`);
  }

  #expectAttempt(attempt: FolderAttempt): void {
    if (this.#attempt !== attempt) throw new IllegalTransition(`${this.#path}: an attempt settled that is not the one in flight`);
  }

  #finishWaiters(finish: (w: Waiter) => void): void {
    const waiters = this.#waiters;
    this.#waiters = [];
    for (const w of waiters) {
      clearTimeout(w.timer);
      finish(w);
    }
    this.#check();
  }

  #check(): void {
    if (invariantChecks.enabled) this.assertInvariants();
  }
}
