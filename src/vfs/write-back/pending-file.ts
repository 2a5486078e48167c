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
// Versions: only a version somebody closed is ever published. The *working*
// version is what handles read and write (its staging file, size, mtime);
// `commit()` (close, fsync, a drain) makes it the *closed* version, durable in
// the journal. Uploads send the closed version only, so a crash, a failed
// write or a full disk can never publish bytes nobody closed. The closed
// version's bytes are never changed in place: a change below its size first
// copies the working content to a new staging file (write-layer.ts), while
// appends may share its staging file (the closed version is then a prefix,
// and the journal records its size).
//
// Generations: every change that must reach the server (a write, a truncate,
// a new mtime, new metadata) bumps `generation`; `contentGeneration` is the generation of
// the last change to the bytes. The closed version carries the generations it
// was committed at; `journaled` is the generation the journal record
// describes (-1: no record), `landed` the newest generation the server
// confirmed (-1: none of ours; 0: the server's content a remote file was
// staged from). The file needs an upload while its closed version is newer
// than what landed, and a commit while the working version is newer still.
//
// Metadata: the custom_metadata the file must have on the server (its mode,
// owner, type, user xattrs: src/vfs/posix), or null to leave the server's as
// it is. It is part of every version like the mtime: journaled, and set right
// after the version's upload when the server's answer differs (uploads.ts).
//
// Changes to the working version and commits are serialized by `mutations`,
// so a commit takes a consistent snapshot. Journal writes for the file are
// serialized by `records`, so the newest record always wins.
import type { RemoteEntry } from '../../client/index.js';
import { baseName } from '../../path/index.js';
import type { MetadataMap } from '../posix/posix-metadata.js';
import { keyOf } from '../path-mapper.js';
import { Mutex } from './mutex.js';
import type { SharedFd } from './shared-fd.js';

/**
 * The server's version a local change started from: what was there when the
 * file was staged (or nothing), then each version of ours that landed. An
 * upload publishes only over this version (docs/semantics.md, "A shared
 * site"); anything else on the server means someone else changed the file.
 */
export type BaseVersion =
  | { readonly exists: false }
  | { readonly exists: true; readonly serverMtime: Date | null; readonly size: number; readonly md5: string | null; readonly crc32: string | null };

/** The base of a server entry. */
export function baseOf(entry: RemoteEntry): BaseVersion {
  return { exists: true, serverMtime: entry.serverMtime, size: entry.size, md5: entry.md5, crc32: entry.crc32 };
}

/** The server's entry is still the base version (same time and size, and checksums where both are known). */
export function isBase(entry: RemoteEntry, base: BaseVersion): boolean {
  if (!base.exists) return false;
  if (entry.type !== 'file' || entry.size !== base.size) return false;
  if ((entry.serverMtime?.getTime() ?? null) !== (base.serverMtime?.getTime() ?? null)) return false;
  if (entry.md5 && base.md5 && entry.md5 !== base.md5) return false;
  if (entry.crc32 && base.crc32 && entry.crc32 !== base.crc32) return false;
  return true;
}

/** One staging file: its name in the staging folder, its path, and its shared descriptor. */
export interface StagingFile {
  readonly name: string;
  readonly path: string;
  readonly fd: SharedFd;
}

/** A version somebody closed: what the journal records and uploads send. */
export interface ClosedVersion {
  readonly staging: StagingFile;
  /** Its bytes: the first `size` bytes of the staging file. */
  readonly size: number;
  readonly mtime: Date;
  /** The custom_metadata the server must have once this version landed (null or absent: whatever it has). */
  readonly metadata?: MetadataMap | null;
  readonly generation: number;
  readonly contentGeneration: number;
}

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
  /**
   * 'content' uploads the staging file; 'mtime' only updates the entry (the
   * bytes are there): provided_mtime, and custom_metadata when it has some.
   */
  readonly kind: 'content' | 'mtime';
  readonly path: string;
  /** The staging file holding the closed version sent, and its size. */
  readonly stagingPath: string;
  /** The server version it may replace (anything else there is someone else's change). */
  readonly base: BaseVersion | null;
  readonly size: number;
  readonly mtime: Date;
  /** The custom_metadata the entry must end with (null: whatever the server keeps). */
  readonly metadata: MetadataMap | null;
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
  /** The staging file of the working version. */
  staging: StagingFile;
  /** The closed version (a file recovered from the journal), if any. */
  closed?: ClosedVersion;
  /** The server version the local changes started from. */
  base: BaseVersion | null;
  size: number;
  mtime: Date;
  /** The custom_metadata the file must have (default null: whatever the server has). */
  metadata?: MetadataMap | null;
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
  readonly createdAt: Date | null;
  /** Serializes changes to the staging file with the start of an upload (see the module comment). */
  readonly mutations = new Mutex();
  /** Serializes this file's journal writes. */
  readonly records = new Mutex();
  /** The content is ready (a remote file's bytes fetched into staging). */
  readonly ready: Promise<void>;

  #phase: Phase;
  #path: string;
  #working: StagingFile;
  #closed: ClosedVersion | null;
  #base: BaseVersion | null;
  /** Why the working version cannot be committed (a write or a commit failed); null when it can. */
  #damage: Error | null = null;
  #size: number;
  #mtime: Date;
  #metadata: MetadataMap | null;
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
    this.#working = init.staging;
    this.#closed = init.closed ?? null;
    this.#base = init.base;
    this.#size = init.size;
    this.#mtime = wholeSeconds(init.mtime);
    this.#metadata = init.metadata ?? null;
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
  /** The custom_metadata the file must have on the server (null: whatever it has). */
  get metadata(): MetadataMap | null {
    return this.#metadata;
  }
  get generation(): number {
    return this.#generation;
  }
  get journaled(): number {
    return this.#journaled;
  }
  /** The staging file handles read and write now. */
  get working(): StagingFile {
    return this.#working;
  }
  /** The last version somebody closed (null: none yet, or only the server's). */
  get closedVersion(): ClosedVersion | null {
    return this.#closed;
  }
  /** The server version the local changes started from. */
  get base(): BaseVersion | null {
    return this.#base;
  }
  /** Where the content to upload is kept (for status and logs). */
  get stagingPath(): string {
    return (this.#closed?.staging ?? this.#working).path;
  }
  /** Why the working version cannot be committed, or null. */
  get damage(): Error | null {
    return this.#damage;
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

  /** A closed version is not on the server yet. */
  get needsUpload(): boolean {
    return this.#closed !== null && this.#closed.generation > this.#landed;
  }

  /** The working version has changes that no commit holds yet. */
  get needsCommit(): boolean {
    return !this.removed && this.#generation > this.#landed && this.#generation > (this.#closed?.generation ?? -1);
  }

  /** Something of this file, closed or not, is not on the server yet. */
  get hasChanges(): boolean {
    return this.#generation > this.#landed;
  }

  /** The next attempt uploads the bytes (else only the mtime changed since they landed). */
  get sendsContent(): boolean {
    return !(this.#onServer && this.#closed !== null && this.#landedContent >= this.#closed.contentGeneration);
  }

  /**
   * A change of the working bytes from `offset` on would alter the closed
   * version's bytes in place (they share a staging file and the change starts
   * below its size): the working content must first move to a staging file
   * of its own (copied()).
   */
  mustCopyBeforeChangeAt(offset: number): boolean {
    return this.#closed !== null && this.#closed.staging === this.#working && offset < this.#closed.size;
  }

  /** May an attempt start now (between changes; the caller holds `mutations`)? */
  get mayStart(): boolean {
    return this.#phase === 'queued' && this.needsUpload && (this.#writers === 0 || this.#forced || this.hasWaiters);
  }

  /** Nothing to upload or commit, nobody has it open, no rename holds it, no record left: it may leave the pending set. */
  get idle(): boolean {
    return this.#phase === 'landed' && !this.hasChanges && this.#handles === 0 && this.#journaled === -1;
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
      ...(this.#metadata ? { customMetadata: this.#metadata } : {}),
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
    // Allowed while an upload is in flight: it sends the closed version, which a change never touches.
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

  /** New custom_metadata (chmod, chown, an extended attribute) without a change to the bytes. */
  changedMetadata(metadata: MetadataMap): void {
    // Like a new mtime: an upload in flight carries the old metadata, the new generation follows it.
    this.#metadata = metadata;
    this.#generation++;
    if (this.#phase === 'landed') this.#settle();
    this.#check();
  }

  /** The file now lives at `path` (a rename; the registry re-indexes it), replacing `base` there. */
  retarget(path: string, base?: BaseVersion): void {
    this.#path = path;
    if (base) this.#base = base;
    this.#check();
  }

  /** The server version at the file's path is `base` now (a move of ours, seen on the server). */
  rebased(base: BaseVersion): void {
    this.#base = base;
  }

  // ---- the journal --------------------------------------------------------------------

  /** The working version as it is now, to commit (the caller holds `mutations`). */
  snapshot(): ClosedVersion {
    return { staging: this.#working, size: this.#size, mtime: this.#mtime, metadata: this.#metadata, generation: this.#generation, contentGeneration: this.#contentGeneration };
  }

  /**
   * `version` (a snapshot of the working version) is closed: its bytes are
   * durable and the journal record describes it. Returns the staging file of
   * the closed version it replaces when that file is no longer used.
   */
  committed(version: ClosedVersion): StagingFile | null {
    if (version.generation > this.#generation || version.generation < (this.#closed?.generation ?? -1)) {
      throw new IllegalTransition(`${this.#path}: committed generation ${version.generation} (working ${this.#generation}, closed ${this.#closed?.generation ?? 'none'})`);
    }
    const previous = this.#closed?.staging ?? null;
    this.#closed = version;
    this.#journaled = version.generation;
    this.#stagingDurable = true;
    if (this.#phase === 'landed') this.#settle();
    this.#check();
    return previous && previous !== version.staging && previous !== this.#working ? previous : null;
  }

  /** The journal record now describes the closed version again (a refusal recorded after the record was gone). */
  journaledAgain(): void {
    if (!this.#closed) throw new IllegalTransition(`${this.#path}: no closed version to record`);
    this.#journaled = this.#closed.generation;
    this.#check();
  }

  /** The working content now lives in a staging file of its own (copied from the shared one before a change). */
  copied(staging: StagingFile): void {
    if (staging === this.#working) throw new IllegalTransition(`${this.#path}: copied onto itself`);
    this.#working = staging;
    this.#stagingDurable = false;
    this.#check();
  }

  /** A write or a commit of the working version failed: it is never committed (the first reason is kept). */
  damaged(reason: Error): void {
    this.#damage ??= reason;
    this.#check();
  }

  /**
   * The damaged or uncommitted working version is dropped: the file is its
   * closed version again. Returns the staging file the working version used
   * when it was its own (the caller deletes it), or null when it shared the
   * closed version's (the caller truncates that back to the closed size).
   */
  rolledBack(): StagingFile | null {
    const closed = this.#closed;
    if (!closed) throw new IllegalTransition(`${this.#path}: nothing closed to go back to`);
    const dropped = this.#working !== closed.staging ? this.#working : null;
    this.#working = closed.staging;
    this.#size = closed.size;
    this.#mtime = closed.mtime;
    this.#metadata = closed.metadata ?? null;
    this.#generation = closed.generation;
    this.#contentGeneration = closed.contentGeneration;
    this.#damage = null;
    this.#stagingDurable = true;
    if (this.#phase === 'open' && this.#writers === 0) this.#settle();
    this.#check();
    return dropped;
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
    if (!this.mayStart || !this.#closed) throw new IllegalTransition(`${this.#path}: an upload cannot start in phase ${this.#phase}`);
    const closed = this.#closed;
    const attempt: UploadAttempt = {
      generation: closed.generation,
      contentGeneration: closed.contentGeneration,
      kind: this.sendsContent ? 'content' : 'mtime',
      path: this.#path,
      stagingPath: closed.staging.path,
      base: this.#base,
      size: closed.size,
      mtime: closed.mtime,
      metadata: closed.metadata ?? null,
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
  uploadLanded(attempt: UploadAttempt, entry: RemoteEntry): void {
    this.#expectAttempt(attempt);
    // Our version is the server's now: later changes start from it.
    this.#base = baseOf(entry);
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
    const closed = this.#closed;
    if (closed) {
      if (closed.generation > this.#generation) fail('a closed version newer than the working one');
      if (this.#journaled !== -1 && this.#journaled !== closed.generation) fail('a journal record of another version than the closed one');
      if (closed.staging === this.#working && closed.size > this.#size && this.#damage === null) fail('the working version shares the closed version\'s staging file but is shorter');
    } else if (this.#journaled !== -1) {
      fail('a journal record without a closed version');
    }
    if (this.#attempt && closed && this.#attempt.generation > closed.generation) fail('an attempt of a version never closed');
    if (this.#landedContent > this.#contentGeneration || this.#contentGeneration > this.#generation) fail('content generations out of order');
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
