// When and how pending files go to the server. A file's upload is scheduled
// after its last close plus the upload delay (a change within the delay
// restarts it, so an editor's burst of saves uploads once); fsync, drain and
// recovery start it at once. Two p-queues run the uploads: small files
// (at most SMALL_FILE_BYTES, or only a new mtime) in a lane of
// `smallUploadConcurrency`, the others `uploadConcurrency` at a time, with
// the client's parallel parts inside each. A small upload is three short
// requests (begin_upload, PUT, end) on one connection at a time, so a folder
// of small files is bound by round trips, not bandwidth: its lane is as wide
// as the client's connection pool, while large files keep their own slots.
//
// One attempt per file at a time, so uploads of one file land in the order of
// their generations and the server never ends with an older version than the
// last close. An attempt snapshots the generation, size and mtime when it
// starts (between changes: see PendingFile.mutations); a change aborts it (the
// emulator and Files.com publish nothing before `end`) and the newer
// generation uploads after. When only the mtime changed since the bytes
// landed, the attempt sets provided_mtime alone.
//
// Failures (failure-policy.ts): transient ones retry with capped exponential
// backoff (Retry-After honoured) without limit in time; refusals mark the
// file failed and retry every `failedRetryDelayMs`. An aborted attempt whose
// parts were all sent may have completed on the server (`end` in flight); if
// the file had no version on the server before, a stat settles whether it
// does now, so a later unlink or rename also reaches the server.
import PQueue from 'p-queue';
import type { FilesClient, RemoteEntry } from '../../client/files-client.js';
import { MIN_PART_SIZE } from '../../client/part-size.js';
import { RetryPolicy } from '../../client/retry.js';
import { SMALL_FILE_BYTES } from '../../client/upload-source.js';
import type { Logger } from '../../log/logger.js';
import { FsError } from '../fs-error.js';
import { classifyFailure, describeFailure, UploadCancelled } from './failure-policy.js';
import type { ResolvedWriteBackOptions } from './options.js';
import type { PendingFile, UploadAttempt, UploadFailure } from './pending-file.js';

export interface UploadQueueHost {
  readonly client: FilesClient;
  readonly log: Logger;
  /** The server confirmed `attempt`; `entry` is its answer. */
  landed(file: PendingFile, attempt: UploadAttempt, entry: RemoteEntry): Promise<void>;
  /** The server refused `attempt` for good (file.failure says why). */
  refused(file: PendingFile, attempt: UploadAttempt): Promise<void>;
  /** Nothing of the file is left to upload, or it can upload again after a hold. */
  idle(file: PendingFile): void;
}

/** Transient failures in a row after which the log says so at warning level (once). */
const WARN_AFTER_ATTEMPTS = 5;

/**
 * Files larger than one part (the client's 5 MiB minimum) uploading at once,
 * at most. Each already sends the client's parallel parts (8 by default, each
 * reading ahead ~1 MiB of its staging file), which fill the link on their
 * own; more of them at once would only multiply the memory in flight. Small
 * files keep the other slots, so a folder of big files does not hold up the
 * small ones copied with it.
 */
const LARGE_UPLOADS_AT_ONCE = 2;
const LARGE = MIN_PART_SIZE;

/** Which p-queue a file waits in. */
type Lane = 'small' | 'other';

export class UploadQueue {
  private readonly queue: PQueue;
  private readonly smallQueue: PQueue;
  private readonly backoff: RetryPolicy;
  private readonly attempts = new Set<UploadAttempt>();
  private draining = false;
  private closed = false;
  /** Large uploads in flight, and large files waiting for one of their slots. */
  private largeRunning = 0;
  private readonly largeWaiting = new Set<PendingFile>();

  constructor(private readonly host: UploadQueueHost, private readonly options: ResolvedWriteBackOptions) {
    this.queue = new PQueue({ concurrency: options.uploadConcurrency });
    this.smallQueue = new PQueue({ concurrency: options.smallUploadConcurrency });
    this.backoff = new RetryPolicy({ retries: 0, baseDelayMs: options.retryBaseDelayMs, maxDelayMs: options.retryMaxDelayMs });
  }

  /** After a close or a change while closed: upload once the delay has passed, restarting it. */
  schedule(file: PendingFile): void {
    if (this.closed || file.removed) return;
    if (this.draining || file.hasWaiters) return this.now(file);
    if (file.delayTimer) clearTimeout(file.delayTimer);
    file.delayTimer = setTimeout(() => {
      file.delayTimer = null;
      this.enqueue(file);
    }, this.options.uploadDelayMs);
    file.delayTimer.unref();
  }

  /** Upload now, even while the file is open for writing (fsync, drain, recovery). */
  now(file: PendingFile): void {
    if (this.closed || file.removed) return;
    file.clearTimers();
    file.forceUpload = true;
    this.enqueue(file);
  }

  /**
   * Aborts the file's attempt in flight, if any, and resolves once it is over
   * (including the check whether it landed anyway).
   */
  async abort(file: PendingFile, reason: string): Promise<void> {
    const attempt = file.upload;
    if (!attempt) return;
    attempt.controller.abort(new UploadCancelled(reason));
    await attempt.done;
  }

  /** Every file uploads at once from now on, open or not (graceful shutdown). */
  startDraining(files: Iterable<PendingFile>): void {
    this.draining = true;
    for (const file of files) if (file.needsUpload) this.now(file);
  }

  /** Back to the upload delay (the drain ended). */
  stopDraining(): void {
    this.draining = false;
  }

  get isDraining(): boolean {
    return this.draining;
  }

  /** Attempts in flight. */
  inFlight(): UploadAttempt[] {
    return [...this.attempts];
  }

  /** Files waiting for a free slot. */
  get waiting(): number {
    return this.queue.size + this.smallQueue.size;
  }

  /** Stops: no new attempt starts, those in flight are aborted (their files stay in the journal). */
  async close(files: Iterable<PendingFile>): Promise<void> {
    this.closed = true;
    this.queue.clear();
    this.smallQueue.clear();
    for (const file of files) file.clearTimers();
    const running = [...this.attempts];
    for (const attempt of running) attempt.controller.abort(new UploadCancelled('the mount is closing'));
    await Promise.all(running.map((a) => a.done));
  }

  /** What follows an attempt, a hold's end or a close: the next step for the file. */
  after(file: PendingFile): void {
    if (this.closed || file.removed || file.holds > 0 || file.upload) return;
    if (!file.needsUpload) {
      this.host.idle(file);
      return;
    }
    if (file.retryTimer || file.delayTimer) return;
    if (this.draining || file.hasWaiters || file.forceUpload) this.now(file);
    else if (file.writers === 0) this.schedule(file);
  }

  private enqueue(file: PendingFile): void {
    if (file.queued) return;
    file.queued = true;
    const lane = laneOf(file);
    void (lane === 'small' ? this.smallQueue : this.queue).add(() => this.run(file, lane)).catch((err: unknown) => {
      this.host.log.error('upload of %s: unexpected failure in the queue: %s', file.path, err instanceof Error ? err.stack ?? err.message : String(err));
    });
  }

  private mayStart(file: PendingFile): boolean {
    const forced = file.forceUpload || file.hasWaiters || this.draining;
    return !this.closed && !file.removed && file.holds === 0 && !file.upload && file.needsUpload && (file.writers === 0 || forced);
  }

  private async run(file: PendingFile, lane: Lane): Promise<void> {
    file.queued = false;
    if (!this.mayStart(file)) return;
    try {
      await file.ready;
    } catch {
      return; // the fetch failed: the file was never pending
    }
    // It grew or shrank while it waited (a fetched remote file, a forced upload of an open file).
    if (laneOf(file) !== lane) return this.enqueue(file);
    if (sendsContent(file) && file.size > LARGE && this.largeRunning >= LARGE_UPLOADS_AT_ONCE) {
      // Its turn comes when a large upload ends (the slot goes to a small file meanwhile).
      this.largeWaiting.add(file);
      return;
    }
    // Start between changes: the snapshot below is exactly what the staging file holds.
    const started = await file.mutations.run(async () => (this.mayStart(file) ? this.begin(file) : null));
    if (!started) return;
    const { attempt, finish, mtime } = started;
    const large = attempt.kind === 'content' && attempt.size > LARGE;
    if (large) this.largeRunning++;
    let entry: RemoteEntry | undefined;
    let error: unknown;
    try {
      const signal = attempt.controller.signal;
      entry = attempt.kind === 'mtime'
        ? await this.host.client.setMtime(attempt.path, mtime, { signal })
        : await this.host.client.upload(attempt.path, { file: file.stagingPath }, {
          mtime,
          mkdirParents: true,
          signal,
          onProgress: (uploaded) => {
            attempt.uploadedBytes = uploaded;
          },
        });
    } catch (err) {
      error = err;
    }
    if (large) this.largeDone();
    // The requests are over: the slot goes to the next file while this one's
    // record is removed (a directory fsync) or its failure handled. The
    // attempt stays the file's upload until then, so nothing overlaps it.
    void this.conclude(file, attempt, entry, error, finish);
  }

  /** What follows an attempt's requests: the journal, waiters, and the file's next step. */
  private async conclude(file: PendingFile, attempt: UploadAttempt, entry: RemoteEntry | undefined, error: unknown, finish: () => void): Promise<void> {
    try {
      if (entry) {
        file.failure = null;
        await this.host.landed(file, attempt, entry);
      } else {
        await this.failed(file, attempt, error);
      }
    } catch (err) {
      this.host.log.error('upload of %s: %s', attempt.path, err instanceof Error ? err.stack ?? err.message : String(err));
    } finally {
      file.upload = null;
      this.attempts.delete(attempt);
      finish();
      this.after(file);
    }
  }

  /** A large upload ended: the next large file waiting gets its turn. */
  private largeDone(): void {
    this.largeRunning--;
    for (const next of this.largeWaiting) {
      this.largeWaiting.delete(next);
      if (next.removed || !next.needsUpload) continue;
      this.enqueue(next);
      break;
    }
  }

  private begin(file: PendingFile): { attempt: UploadAttempt; finish: () => void; mtime: Date } {
    let finish!: () => void;
    const done = new Promise<void>((resolve) => (finish = resolve));
    const kind = sendsContent(file) ? 'content' : 'mtime';
    const attempt: UploadAttempt = {
      generation: file.generation,
      contentGeneration: file.contentGeneration,
      kind,
      path: file.path,
      size: file.size,
      startedAt: Date.now(),
      uploadedBytes: 0,
      controller: new AbortController(),
      done,
    };
    file.upload = attempt;
    file.forceUpload = false;
    this.attempts.add(attempt);
    return { attempt, finish, mtime: file.mtime };
  }

  private async failed(file: PendingFile, attempt: UploadAttempt, error: unknown): Promise<void> {
    const kind = classifyFailure(error, attempt.controller.signal);
    const { log } = this.host;
    if (kind === 'cancelled') {
      log.debug('upload of %s (generation %d) cancelled: %s', attempt.path, attempt.generation, describeFailure(attempt.controller.signal.reason));
      if (attempt.kind === 'content' && !file.onServer && attempt.uploadedBytes >= attempt.size) await this.checkLanded(file, attempt);
      return;
    }
    const message = describeFailure(error);
    const attempts = (file.failure?.permanent === (kind === 'permanent') ? file.failure.attempts : 0) + 1;
    const permanent = kind === 'permanent';
    const delay = permanent ? this.options.failedRetryDelayMs : this.backoff.delayMs(Math.min(attempts, 30), error);
    const failure: UploadFailure = { message, permanent, attempts, at: new Date(), nextAttemptAt: Date.now() + delay };
    file.failure = failure;
    if (permanent) {
      await this.host.refused(file, attempt);
      file.failWaiters(attempt.generation, new FsError('EIO', `${attempt.path}: the server refused the upload: ${message}`));
    } else if (attempts === 1) {
      log.info('upload of %s failed (%s); retrying in %d s', attempt.path, message, Math.round(delay / 1000));
    } else if (attempts === WARN_AFTER_ATTEMPTS) {
      log.warn('upload of %s has failed %d times in a row (last: %s); still retrying (every %d s at most), the content is kept at %s', attempt.path, attempts, message, Math.round(this.options.retryMaxDelayMs / 1000), file.stagingPath);
    } else {
      log.debug('upload of %s failed again (attempt %d: %s); retrying in %d ms', attempt.path, attempts, message, delay);
    }
    if (file.retryTimer) clearTimeout(file.retryTimer);
    file.retryTimer = setTimeout(() => {
      file.retryTimer = null;
      this.enqueue(file);
    }, delay);
    file.retryTimer.unref();
  }

  /** After an abort during `end`: does the server have the file now? */
  private async checkLanded(file: PendingFile, attempt: UploadAttempt): Promise<void> {
    try {
      const entry = await this.host.client.stat(attempt.path);
      if (entry.type === 'file') {
        file.onServer = true;
        this.host.log.debug('upload of %s was aborted during its end call and landed anyway', attempt.path);
      }
    } catch (err) {
      // Unknown (the server is unreachable): assume it is not there. Assuming
      // it is would send a later rename or unlink to the server, which fails
      // with ENOENT if it is not (an editor's save would fail); the other
      // mistake leaves at worst a stray copy under the old name.
      if ((err as { kind?: string }).kind !== 'not-found') {
        this.host.log.warn('upload of %s was aborted during its end call and the server cannot say whether it landed (%s); if a copy appears under that name, it is a leftover', attempt.path, describeFailure(err));
      }
    }
  }
}

/** Small files (or a new mtime alone) take the wide lane; see the module comment. */
function laneOf(file: PendingFile): Lane {
  return !sendsContent(file) || file.size <= SMALL_FILE_BYTES ? 'small' : 'other';
}

/** The next attempt uploads the bytes (else only the mtime changed since they landed). */
function sendsContent(file: PendingFile): boolean {
  return !(file.onServer && file.landedContent >= file.contentGeneration);
}
