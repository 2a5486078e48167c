// One pending file: content written locally that the server does not have
// yet (or a remote file opened for writing, staged for changes). It owns the
// local truth about the file until the upload of its latest generation lands:
// path (follows renames), size, mtime (sent as provided_mtime), and the
// staging file that holds the bytes.
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
import type { RemoteEntry } from '../../client/files-client.js';
import { baseName } from '../../path/index.js';
import { keyOf } from '../path-mapper.js';
import { Mutex } from './mutex.js';
import type { SharedFd } from './shared-fd.js';
import { WriteHistogram } from './write-histogram.js';

/** An upload attempt in flight. */
export interface UploadAttempt {
  readonly generation: number;
  readonly contentGeneration: number;
  /** 'content' uploads the staging file; 'mtime' only sets provided_mtime (the bytes are there). */
  readonly kind: 'content' | 'mtime';
  readonly path: string;
  readonly size: number;
  readonly startedAt: number;
  uploadedBytes: number;
  readonly controller: AbortController;
  /** Settles when the attempt is over, whatever the outcome (after any follow-up check). */
  readonly done: Promise<void>;
}

export interface UploadFailure {
  message: string;
  /** True for a refusal (retried rarely), false for a transient failure (retried with backoff). */
  permanent: boolean;
  /** Failed attempts in a row. */
  attempts: number;
  at: Date;
  /** When the next attempt is due (ms since epoch), if one is scheduled. */
  nextAttemptAt?: number;
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
  ready?: Promise<void>;
  /** The staging file's directory entry is already durable (recovered, or fsync'd). */
  stagingDurable?: boolean;
}

export class PendingFile {
  readonly id: string;
  readonly stagingName: string;
  readonly stagingPath: string;
  readonly file: SharedFd;
  readonly createdAt: Date | null;
  path: string;
  size: number;
  mtime: Date;
  generation: number;
  contentGeneration: number;
  journaled: number;
  landed: number;
  landedContent: number;
  /** A version of this file exists on the server at `path` (unlink and rename must go there too). */
  onServer: boolean;
  /** The content is ready (a remote file's bytes fetched into staging). */
  ready: Promise<void>;
  stagingDurable: boolean;

  /** Open handles, and those of them open for writing. */
  handles = 0;
  writers = 0;
  /** Unlinked, replaced or dropped: never uploaded again. */
  removed = false;
  /** Operations (a rename in progress) that keep uploads from starting. */
  holds = 0;

  upload: UploadAttempt | null = null;
  failure: UploadFailure | null = null;
  /** Set by fsync and drain: start even while open for writing. */
  forceUpload = false;
  queued = false;
  delayTimer: NodeJS.Timeout | null = null;
  retryTimer: NodeJS.Timeout | null = null;

  readonly mutations = new Mutex();
  readonly records = new Mutex();
  readonly writeSizes = new WriteHistogram();
  private waiters: Waiter[] = [];

  constructor(init: PendingFileInit) {
    this.id = init.id;
    this.path = init.path;
    this.stagingName = init.stagingName;
    this.stagingPath = init.stagingPath;
    this.file = init.file;
    this.size = init.size;
    this.mtime = wholeSeconds(init.mtime);
    this.createdAt = init.createdAt;
    this.generation = init.generation;
    this.contentGeneration = init.generation;
    this.landed = init.landed;
    this.landedContent = init.landed;
    this.journaled = init.journaled;
    this.onServer = init.onServer;
    this.ready = init.ready ?? Promise.resolve();
    this.stagingDurable = init.stagingDurable ?? false;
  }

  get key(): string {
    return keyOf(this.path);
  }

  /** Something of this file is not on the server yet. */
  get needsUpload(): boolean {
    return this.generation > this.landed;
  }

  /** Closed changes the journal does not describe yet. */
  get needsRecord(): boolean {
    return !this.removed && this.generation > this.landed && this.generation > this.journaled;
  }

  /** What getattr and readdir show while the file is pending. */
  entry(): RemoteEntry {
    return {
      path: this.path,
      name: baseName(this.path),
      type: 'file',
      size: this.size,
      mtime: this.mtime,
      serverMtime: null,
      providedMtime: this.mtime,
      createdAt: this.createdAt,
      md5: null,
      crc32: null,
      permissions: null,
    };
  }

  /** A change to the bytes (write, truncate) at `now`. */
  changedContent(now: Date): void {
    this.mtime = wholeSeconds(now);
    this.generation++;
    this.contentGeneration = this.generation;
  }

  /** A new mtime (utimens) without a change to the bytes. */
  changedMtime(mtime: Date): void {
    this.mtime = wholeSeconds(mtime);
    this.generation++;
  }

  // ---- fsync waiters ------------------------------------------------------------------

  /** Resolves once generation `generation` (or newer) has landed; rejects on refusal or after `timeoutMs`. */
  waitForLanding(generation: number, timeoutMs: number, onTimeout: () => Error): Promise<void> {
    if (this.landed >= generation || this.removed) return Promise.resolve();
    return new Promise<void>((resolve, reject) => {
      const waiter: Waiter = { generation, resolve, reject, timer: undefined };
      waiter.timer = setTimeout(() => {
        this.waiters = this.waiters.filter((w) => w !== waiter);
        reject(onTimeout());
      }, timeoutMs);
      waiter.timer.unref();
      this.waiters.push(waiter);
    });
  }

  get hasWaiters(): boolean {
    return this.waiters.length > 0;
  }

  /** Resolves every waiter the landed generation satisfies (all of them once removed). */
  settleWaiters(): void {
    this.finishWaiters((w) => this.removed || this.landed >= w.generation, (w) => w.resolve());
  }

  /** Rejects the waiters an attempt of `generation` was meant to satisfy. */
  failWaiters(generation: number, err: Error): void {
    this.finishWaiters((w) => w.generation <= generation, (w) => w.reject(err));
  }

  private finishWaiters(match: (w: Waiter) => boolean, finish: (w: Waiter) => void): void {
    if (this.waiters.length === 0) return;
    const keep: Waiter[] = [];
    for (const w of this.waiters) {
      if (!match(w)) {
        keep.push(w);
        continue;
      }
      clearTimeout(w.timer);
      finish(w);
    }
    this.waiters = keep;
  }

  /** Clears the delay and retry timers. */
  clearTimers(): void {
    if (this.delayTimer) clearTimeout(this.delayTimer);
    if (this.retryTimer) clearTimeout(this.retryTimer);
    this.delayTimer = null;
    this.retryTimer = null;
  }
}

/**
 * The server keeps whole seconds (files-api.md §1): a pending file shows the
 * time it will have once uploaded, so its mtime does not change when it lands
 * (make, rsync and the kernel's page cache all watch mtimes).
 */
export function wholeSeconds(date: Date): Date {
  const ms = date.getTime();
  return ms % 1000 === 0 ? date : new Date(Math.floor(ms / 1000) * 1000);
}
