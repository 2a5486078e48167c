// One pending file: content written locally that the server does not have
// yet (or a remote file opened for writing, staged for changes). It owns the
// local truth about the file until the upload of its latest generation lands,
// and it owns its lifecycle: one explicit phase, changed only by the methods
// below, each of which refuses a move the lifecycle does not allow. Other
// modules ask it (getters) and tell it (methods); none assigns its state.
//
// Phases (what the upload machinery is doing with the file):
//
//   staging ──ready──▶ open ◀──────────── (a writer opens it, from any resting phase)
//                       │ last writer closes, changes not on the server
//                       ▼
//   landed ◀─┐        delayed ──delay over──▶ queued ──slot──▶ uploading ──┬─▶ landed
//            │           ▲                      ▲                          ├─▶ retrying ─due─▶ queued
//            │           └──────────────────────┼──── forced (fsync, drain)├─▶ failed ───due─▶ queued
//            └──────────────────────────────────┴──────────────────────────┴─▶ (cancelled: rests again)
//   held: a rename is in progress (nothing starts); removed: final.
//
// The resting phases (open, delayed, landed, held) follow from the facts when
// an active phase ends: `settle()` picks them. Reference counts (open
// handles, writers, rename holds) are facts, not flags: they count.
//
// Generations: every change that must reach the server (a write, a truncate,
// a new mtime) bumps `generation`; `contentGeneration` is the generation of
// the last change to the bytes. `journaled` is the generation the journal
// record describes (-1: no record), `landed` the newest generation the server
// confirmed (-1: none of ours; 0: the server's content a remote file was
// staged from). The file needs an upload while generation > landed, and a
// journal write while generation > journaled as well.
//
// Changes to the staging file and the start of an upload are serialized by
// `mutations`: an upload starts only between changes, and a change first
// aborts a running upload and waits until it is over, so the server never
// receives a mix of two versions. Journal writes for the file are serialized
// by `records`, so the newest record always wins.
import type { RemoteEntry } from '../../client/index.js';
import { baseName } from '../../path/index.js';
import { keyOf } from '../path-mapper.js';
import { Mutex } from './mutex.js';
import type { SharedFd } from './shared-fd.js';

export type Phase =
  /** Being created or fetched into staging; `ready` settles when done. */
  | 'staging'
  /** Open for writing: its upload waits for the last close (unless forced). */
  | 'open'
  /** Closed with changes not on the server; the upload starts after the delay. */
  | 'delayed'
  /** Waiting for an upload slot. */
  | 'queued'
  /** An attempt in flight (`attempt`). */
  | 'uploading'
  /** The last attempt failed transiently; the next one is due at failure.nextAttemptAt. */
  | 'retrying'
  /** The server refused it; retried rarely; the content is kept. */
  | 'failed'
  /** A rename is in progress: no upload starts until it ends. */
  | 'held'
  /** The server has the latest generation; kept while handles are open. */
  | 'landed'
  /** Unlinked, replaced, discarded, or gone from the pending set: final. */
  | 'removed';

/** An upload attempt in flight. */
export interface UploadAttempt {
  readonly generation: number;
  readonly contentGeneration: number;
  /** 'content' uploads the staging file; 'mtime' only sets provided_mtime (the bytes are there). */
  readonly kind: 'content' | 'mtime';
  readonly path: string;
  readonly size: number;
  readonly mtime: Date;
  readonly startedAt: number;
  /** Bytes the server acknowledged so far (the attempt's progress, for status and drain). */
  uploadedBytes: number;
  readonly controller: AbortController;
  /** Settles when the attempt is over, whatever the outcome (after any follow-up check). */
  readonly done: Promise<void>;
}

export interface UploadFailure {
  readonly message: string;
  /** True for a refusal (retried rarely), false for a transient failure (retried with backoff). */
  readonly permanent: boolean;
  /** Failed attempts in a row. */
  readonly attempts: number;
  readonly at: Date;
  /** When the next attempt is due (ms since epoch), if one is scheduled. */
  readonly nextAttemptAt?: number;
}

interface Waiter {
  generation: number;
  resolve: () => void;
  reject: (err: Error) => void;
  timer: NodeJS.Timeout | undefined;
}

export interface PendingFileInit {
  id: string;
  path: string;
  stagingName: string;
  stagingPath: string;
  file: SharedFd;
  size: number;
  mtime: Date;
  createdAt: Date | null;
  generation: number;
  landed: number;
  journaled: number;
  onServer: boolean;
  /** 'staging' for a file whose content is being made; 'delayed' or 'failed' for one recovered from the journal. */
  phase: 'staging' | 'delayed' | 'failed';
  /** The refusal a recovered failed file carries. */
  failure?: UploadFailure;
  /** Settles once the staging file holds the content (default: it does already). */
  ready?: Promise<void>;
  /** The staging file's directory entry is already durable (recovered, or fsync'd). */
  stagingDurable?: boolean;
}

/** A move the lifecycle does not allow: always a bug of the caller. */
export class IllegalTransition extends Error {
  override get name(): string {
    return 'IllegalTransition';
  }
}

/**
 * Whether every transition checks the invariants afterwards (tests turn it on
 * for every step; a mount does with FILESFS_CHECK_INVARIANTS=1).
 */
export const invariantChecks = { enabled: process.env.FILESFS_CHECK_INVARIANTS === '1' };

export class PendingFile {
  readonly id: string;
  readonly stagingName: string;
  readonly stagingPath: string;
  /** The staging file's descriptor, shared by every user of it. */
  readonly file: SharedFd;
  readonly createdAt: Date | null;
  /** Serializes changes to the staging file with the start of an upload (see the module comment). */
  readonly mutations = new Mutex();
  /** Serializes this file's journal writes. */
  readonly records = new Mutex();
  /** The content is ready (a remote file's bytes fetched into staging). */
  readonly ready: Promise<void>;

  #phase: Phase;
  #path: string;
  #size: number;
  #mtime: Date;
  #generation: number;
  #contentGeneration: number;
  #journaled: number;
  #landed: number;
  #landedContent: number;
  #onServer: boolean;
  #stagingDurable: boolean;
  #handles = 0;
  #writers = 0;
  #holds = 0;
  /** Set by fsync, drain and recovery: the next attempt may start while open for writing. */
  #forced = false;
  #attempt: UploadAttempt | null = null;
  #failure: UploadFailure | null;
  #removedBecause: string | null = null;
  #waiters: Waiter[] = [];

  constructor(init: PendingFileInit) {
    this.id = init.id;
    this.#path = init.path;
    this.stagingName = init.stagingName;
    this.stagingPath = init.stagingPath;
    this.file = init.file;
    this.#size = init.size;
    this.#mtime = wholeSeconds(init.mtime);
    this.createdAt = init.createdAt;
    this.#generation = init.generation;
    this.#contentGeneration = init.generation;
    this.#landed = init.landed;
    this.#landedContent = init.landed;
    this.#journaled = init.journaled;
    this.#onServer = init.onServer;
    this.#stagingDurable = init.stagingDurable ?? false;
    this.#phase = init.phase;
    this.#failure = init.failure ?? null;
    this.ready = init.ready ?? Promise.resolve();
    if ((init.phase === 'failed') !== (init.failure?.permanent === true)) {
      throw new IllegalTransition(`${init.path}: a file starts failed exactly when it carries a refusal`);
    }
    this.#check();
  }

  // ---- what others may ask ------------------------------------------------------------

  get phase(): Phase {
    return this.#phase;
  }
  get path(): string {
    return this.#path;
  }
  get key(): string {
    return keyOf(this.#path);
  }
  get size(): number {
    return this.#size;
  }
  get mtime(): Date {
    return this.#mtime;
  }
  get generation(): number {
    return this.#generation;
  }
  get journaled(): number {
    return this.#journaled;
  }
  get landed(): number {
    return this.#landed;
  }
  /** A version of this file exists on the server at `path` (unlink and rename must go there too). */
  get onServer(): boolean {
    return this.#onServer;
  }
  get stagingDurable(): boolean {
    return this.#stagingDurable;
  }
  get handles(): number {
    return this.#handles;
  }
  get writers(): number {
    return this.#writers;
  }
  get attempt(): UploadAttempt | null {
    return this.#attempt;
  }
  /** The last failure, kept (for status) until an attempt lands. */
  get failure(): UploadFailure | null {
    return this.#failure;
  }
  get removed(): boolean {
    return this.#phase === 'removed';
  }
  get removedBecause(): string | null {
    return this.#removedBecause;
  }
  get held(): boolean {
    return this.#holds > 0;
  }
  get forced(): boolean {
    return this.#forced;
  }
  get hasWaiters(): boolean {
    return this.#waiters.length > 0;
  }

  /** Something of this file is not on the server yet. */
  get needsUpload(): boolean {
    return this.#generation > this.#landed;
  }

  /** Closed changes the journal does not describe yet. */
  get needsRecord(): boolean {
    return !this.removed && this.#generation > this.#landed && this.#generation > this.#journaled;
  }

  /** The next attempt uploads the bytes (else only the mtime changed since they landed). */
  get sendsContent(): boolean {
    return !(this.#onServer && this.#landedContent >= this.#contentGeneration);
  }

  /** May an attempt start now (between changes; the caller holds `mutations`)? */
  get mayStart(): boolean {
    return this.#phase === 'queued' && this.needsUpload && (this.#writers === 0 || this.#forced || this.hasWaiters);
  }

  /** Nothing to upload, nobody has it open, no rename holds it, no record left: it may leave the pending set. */
  get idle(): boolean {
    return this.#phase === 'landed' && this.#handles === 0 && this.#journaled === -1;
  }

  /** What getattr and readdir show while the file is pending. */
  entry(): RemoteEntry {
    return {
      path: this.#path,
      name: baseName(this.#path),
      type: 'file',
      size: this.#size,
      mtime: this.#mtime,
      serverMtime: null,
      providedMtime: this.#mtime,
      createdAt: this.createdAt,
      md5: null,
      crc32: null,
      permissions: null,
    };
  }

  // ---- staging and handles ------------------------------------------------------------

  /** The staging file holds the content (created, or fetched with `size` bytes). */
  staged(size?: number): void {
    this.#expect('staged', ['staging', 'removed']);
    if (this.removed) return;
    if (size !== undefined) this.#size = size;
    this.#settle();
  }

  /** A handle was opened on the file (counted at once, so the file is not dropped meanwhile). */
  opened(writable: boolean): void {
    this.#handles++;
    if (writable) {
      this.#writers++;
      // Waiting phases become open (the upload waits for the last close again);
      // an upload in flight goes on until the first change aborts it.
      if (this.#phase === 'landed' || this.#phase === 'delayed' || this.#phase === 'queued' || this.#phase === 'retrying' || this.#phase === 'failed') this.#settle();
    }
    this.#check();
  }

  /** A handle was closed. Returns true when it was the last writer. */
  closed(writable: boolean): boolean {
    if (this.#handles === 0 || (writable && this.#writers === 0)) throw new IllegalTransition(`${this.#path}: closed more handles than were opened`);
    this.#handles--;
    if (writable) this.#writers--;
    const last = writable && this.#writers === 0;
    if (last && this.#phase === 'open') this.#settle();
    this.#check();
    return last;
  }

  // ---- changes ------------------------------------------------------------------------

  /** A change to the bytes (write, truncate) at `now`, leaving the file `size` bytes long. */
  changedContent(size: number, now: Date): void {
    this.#expectChangeable('a write');
    this.#size = size;
    this.#mtime = wholeSeconds(now);
    this.#generation++;
    this.#contentGeneration = this.#generation;
    if (this.#phase === 'landed') this.#settle();
    this.#check();
  }

  /** A new mtime (utimens) without a change to the bytes. */
  changedMtime(mtime: Date): void {
    // Allowed while an upload is in flight: that attempt carries the old time,
    // and the new generation uploads after it (only the time, if the bytes landed).
    this.#mtime = wholeSeconds(mtime);
    this.#generation++;
    if (this.#phase === 'landed') this.#settle();
    this.#check();
  }

  /** The file now lives at `path` (a rename; the registry re-indexes it). */
  retarget(path: string): void {
    this.#path = path;
    this.#check();
  }

  // ---- the journal --------------------------------------------------------------------

  /** The staging file's directory entry is durable (fsync'd once; it never moves). */
  stagingSynced(): void {
    this.#stagingDurable = true;
  }

  /** The journal record now describes `generation`. */
  journaledAt(generation: number): void {
    if (generation > this.#generation || generation < 0) throw new IllegalTransition(`${this.#path}: journaled generation ${generation} of ${this.#generation}`);
    this.#journaled = generation;
    this.#check();
  }

  /** The journal record is gone (landed, or discarded). */
  unjournaled(): void {
    this.#journaled = -1;
    this.#check();
  }

  // ---- the upload's lifecycle ---------------------------------------------------------

  /** Upload as soon as a slot is free, even while open for writing (fsync, drain, recovery). */
  force(): void {
    if (this.removed) return;
    this.#forced = true;
    if (this.#phase === 'uploading' || this.#phase === 'staging' || this.held) return;
    if (!this.needsUpload) return;
    this.#to('queued');
  }

  /** The delay or the retry wait is over: wait for a slot. */
  due(): void {
    this.#expect('due', ['delayed', 'retrying', 'failed', 'queued', 'open', 'held', 'removed', 'landed']);
    if (this.#phase === 'delayed' || this.#phase === 'retrying' || this.#phase === 'failed') this.#to(this.needsUpload ? 'queued' : 'landed');
  }

  /** An attempt starts now, with what the staging file holds (the caller holds `mutations`). */
  startUpload(controller: AbortController, done: Promise<void>): UploadAttempt {
    if (!this.mayStart) throw new IllegalTransition(`${this.#path}: an upload cannot start in phase ${this.#phase}`);
    const attempt: UploadAttempt = {
      generation: this.#generation,
      contentGeneration: this.#contentGeneration,
      kind: this.sendsContent ? 'content' : 'mtime',
      path: this.#path,
      size: this.#size,
      mtime: this.#mtime,
      startedAt: Date.now(),
      uploadedBytes: 0,
      controller,
      done,
    };
    this.#attempt = attempt;
    this.#forced = false;
    this.#to('uploading');
    return attempt;
  }

  /**
   * The server confirmed the attempt: its generation has landed (fsync
   * waiters of it return). The attempt stays the file's upload until
   * attemptOver(), once its journal record is gone.
   */
  uploadLanded(attempt: UploadAttempt): void {
    this.#expectAttempt(attempt);
    if (attempt.generation > this.#landed) this.#landed = attempt.generation;
    if (attempt.contentGeneration > this.#landedContent) this.#landedContent = attempt.contentGeneration;
    this.#onServer = true;
    this.#failure = null;
    this.#resolveWaiters();
    this.#check();
  }

  /** A landed attempt's bookkeeping is done: the file rests, or uploads its newer generation. */
  attemptOver(attempt: UploadAttempt): void {
    this.#expectAttempt(attempt);
    this.#attempt = null;
    if (this.removed) return this.#check();
    this.#settle();
  }

  /** The attempt failed: retry after `failure.nextAttemptAt` (a transient failure) or rarely (a refusal). */
  uploadFailed(attempt: UploadAttempt, failure: UploadFailure): void {
    this.#expectAttempt(attempt);
    this.#attempt = null;
    this.#failure = failure;
    if (this.removed) return this.#check();
    this.#to(failure.permanent ? 'failed' : 'retrying');
  }

  /** We aborted the attempt (a change, a rename, a delete, the mount closing). */
  uploadCancelled(attempt: UploadAttempt): void {
    this.#expectAttempt(attempt);
    this.#attempt = null;
    if (this.removed) return this.#check();
    this.#settle();
  }

  /**
   * An aborted attempt's parts were all sent and the server now has the file
   * (its `end` call completed): later unlinks and renames go to the server.
   */
  foundOnServer(): void {
    this.#onServer = true;
    this.#check();
  }

  /** A rename begins: no upload starts until release(); the caller aborts the one in flight. */
  hold(): void {
    this.#holds++;
    if (!this.removed && this.#phase !== 'uploading' && this.#phase !== 'staging') this.#to('held');
    this.#check();
  }

  /** The rename ended. */
  unhold(): void {
    if (this.#holds === 0) throw new IllegalTransition(`${this.#path}: released more holds than were taken`);
    this.#holds--;
    if (this.#holds === 0 && this.#phase === 'held') this.#settle();
    this.#check();
  }

  /** Never uploaded again (unlinked, replaced, dropped). Final; waiters are satisfied. */
  remove(why: string): void {
    if (this.removed) return;
    this.#removedBecause = why;
    this.#phase = 'removed';
    this.#resolveWaiters();
    this.#check();
  }

  // ---- fsync waiters ------------------------------------------------------------------

  /** Resolves once generation `generation` (or newer) has landed; rejects on refusal or after `timeoutMs`. */
  waitForLanding(generation: number, timeoutMs: number, onTimeout: () => Error): Promise<void> {
    if (this.#landed >= generation || this.removed) return Promise.resolve();
    return new Promise<void>((resolve, reject) => {
      const waiter: Waiter = { generation, resolve, reject, timer: undefined };
      waiter.timer = setTimeout(() => {
        this.#waiters = this.#waiters.filter((w) => w !== waiter);
        reject(onTimeout());
      }, timeoutMs);
      waiter.timer.unref();
      this.#waiters.push(waiter);
    });
  }

  /** Rejects the waiters an attempt of `generation` was meant to satisfy. */
  failWaiters(generation: number, err: Error): void {
    this.#finishWaiters((w) => w.generation <= generation, (w) => w.reject(err));
  }

  // ---- invariants ---------------------------------------------------------------------

  /** Throws when the file's state is inconsistent (run after every transition in tests). */
  assertInvariants(): void {
    const fail = (what: string): never => {
      throw new IllegalTransition(`${this.#path}: invariant broken in phase ${this.#phase}: ${what}`);
    };
    const p = this.#phase;
    if (this.#handles < 0 || this.#writers < 0 || this.#holds < 0) fail('a negative count');
    if (this.#writers > this.#handles) fail('more writers than handles');
    if (p === 'uploading' && this.#attempt === null) fail('uploading without an attempt');
    if (this.#attempt !== null && p !== 'uploading' && p !== 'removed') fail('an attempt while not uploading');
    if (p === 'retrying' && this.#failure?.permanent !== false) fail('retrying without a transient failure');
    if (p === 'failed' && this.#failure?.permanent !== true) fail('failed without a refusal');
    if (p === 'open' && this.#writers === 0) fail('open without a writer');
    if (p === 'held' && this.#holds === 0) fail('held without a hold');
    if (this.#holds > 0 && !['held', 'uploading', 'staging', 'removed'].includes(p)) fail('a hold while free to upload');
    if (p === 'landed' && this.needsUpload) fail('landed with changes not on the server');
    if ((p === 'delayed' || p === 'queued') && !this.needsUpload) fail('waiting to upload with nothing to upload');
    if (this.#writers > 0 && (p === 'delayed' || p === 'landed')) fail('resting while open for writing');
    if (this.#journaled > this.#generation || this.#landed > this.#generation) fail('journaled or landed beyond the generation');
    if (this.#landedContent > this.#contentGeneration || this.#contentGeneration > this.#generation) fail('content generations out of order');
    if (this.#attempt && this.#attempt.generation > this.#generation) fail('an attempt of a future generation');
    if (p === 'removed' && this.#waiters.length > 0) fail('waiters on a removed file');
    if (this.#size < 0) fail('a negative size');
  }

  // ---- helpers ------------------------------------------------------------------------

  /** The resting phase the facts call for once nothing is active. */
  #settle(): void {
    if (this.removed) return;
    let next: Phase;
    if (this.#holds > 0) next = 'held';
    else if (this.needsUpload && (this.#forced || this.hasWaiters)) next = 'queued';
    else if (this.#writers > 0) next = 'open';
    else if (this.needsUpload) next = 'delayed';
    else next = 'landed';
    this.#to(next);
  }

  #to(phase: Phase): void {
    if (this.#phase === 'removed' && phase !== 'removed') throw new IllegalTransition(`${this.#path}: a removed file cannot become ${phase}`);
    this.#phase = phase;
    this.#check();
  }

  #expect(move: string, from: readonly Phase[]): void {
    if (!from.includes(this.#phase)) throw new IllegalTransition(`${this.#path}: ${move} is not allowed in phase ${this.#phase}`);
  }

  #expectAttempt(attempt: UploadAttempt): void {
    if (this.#attempt !== attempt) throw new IllegalTransition(`${this.#path}: an attempt settled that is not the one in flight`);
  }

  #expectChangeable(what: string): void {
    if (this.#phase === 'uploading') throw new IllegalTransition(`${this.#path}: ${what} while an upload is in flight (abort it first)`);
  }

  #resolveWaiters(): void {
    this.#finishWaiters((w) => this.removed || this.#landed >= w.generation, (w) => w.resolve());
  }

  #finishWaiters(match: (w: Waiter) => boolean, finish: (w: Waiter) => void): void {
    if (this.#waiters.length === 0) return;
    const keep: Waiter[] = [];
    for (const w of this.#waiters) {
      if (!match(w)) {
        keep.push(w);
        continue;
      }
      clearTimeout(w.timer);
      finish(w);
    }
    this.#waiters = keep;
    this.#check();
  }

  #check(): void {
    if (invariantChecks.enabled) this.assertInvariants();
  }
}

/**
 * The server keeps whole seconds (docs/files-api.md §1): a pending file shows the
 * time it will have once uploaded, so its mtime does not change when it lands
 * (make, rsync and the kernel's page cache all watch mtimes).
 */
export function wholeSeconds(date: Date): Date {
  const ms = date.getTime();
  return ms % 1000 === 0 ? date : new Date(Math.floor(ms / 1000) * 1000);
}
