// When pending files go to the server, and what each outcome means: the
// upload port of the queue (upload-queue.ts), and the timers around it.
//
// A file's upload is due after its last close plus the upload delay (a
// change within the delay restarts it, so an editor's burst of saves uploads
// once); fsync, drain and recovery make it due at once. Due files wait in the
// queue for a slot; `begin` then takes the file's closed version (the last
// one somebody closed: its staging file, size, mtime and generation) and the
// client sends exactly those bytes. One attempt per file at a time, so
// uploads of one file land in the order of their generations and the server
// never ends with an older version than the last close; a newer commit
// aborts the attempt in flight (the emulator and Files.com publish nothing
// before `end`) and the newer version uploads after it. When only the mtime
// or the metadata changed since the bytes landed, the attempt updates the
// entry alone (one PATCH). The upload calls cannot carry custom_metadata
// (docs/files-api.md §13): a version's metadata is set with a PATCH right
// after its upload, when the server's answer differs from it (a new file
// with a mode, or a server that dropped an overwritten file's metadata).
//
// Outcomes (failure-policy.ts): landed (the journal record goes, caches show
// the server's entry); transient failures retry with capped exponential
// backoff (Retry-After honoured) without limit in time; refusals mark the
// file failed and retry every `failedRetryDelayMs`; a cancelled attempt
// whose parts were all sent may have completed on the server (`end` in
// flight): if the file had no version on the server before, a stat settles
// whether it does now, so a later unlink or rename also reaches the server.
//
// `after(file)` is the one place that takes a file's next step once
// something changed (a close, an outcome, a rename's end): a timer, a slot,
// or leaving the pending set. A file inside a pending folder (a mkdir not on
// the server yet) waits for it: it takes a slot only once the folder has
// landed (the host's `blocked`; folder-uploads.ts kicks the files below a
// folder when it lands).
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { type FilesClient, NotAuthenticatedError, type PartialUpload, PartialUploadUnusable, type PublishTarget, type RemoteEntry, RetryPolicy, type UploadOptions } from '../../client/index.js';
import type { Logger } from '../../log/logger.js';
import { isSame, parentPath } from '../../path/index.js';
import { FsError } from '../fs-error.js';
import { crashPoint } from './crash-points.js';
import { classifyFailure, describeFailure, UploadCancelled } from './failure-policy.js';
import type { ResolvedWriteBackOptions } from './options.js';
import { baseOf, isBase, type BaseVersion, type PendingFile, type UploadAttempt, type UploadFailure } from './pending-file.js';
import { RemoteChangedError } from './conflict.js';
import { sameMetadata } from '../posix/posix-metadata.js';
import type { Records } from './records.js';
import { DueTimers } from './due-timers.js';
import { UploadQueue, type UploadPort, type UploadTransfer } from './upload-queue.js';

/** Transient failures in a row after which the log says so at warning level (once). */
const WARN_AFTER_ATTEMPTS = 5;

export interface UploadsHost {
  readonly client: FilesClient;
  readonly records: Records;
  readonly log: Logger;
  /** The server confirmed an attempt (`entry` is its answer); the file was not removed. */
  landed(file: PendingFile, attempt: UploadAttempt, entry: RemoteEntry): void;
  /** The attempt found the server's file changed by someone else (nothing was published): resolve it. */
  conflicted(file: PendingFile, attempt: UploadAttempt, conflict: RemoteChangedError): Promise<void>;
  /** The file has nothing left to upload and nobody uses it: it leaves the pending set. */
  idle(file: PendingFile): void;
  /**
   * True while a pending folder above the file is not on the server yet (the
   * file waits for it); when the file must go now (forced), the host makes
   * that folder go now too.
   */
  blocked(file: PendingFile): boolean;
  /**
   * What must be held while an attempt publishes (--lock-on-write: an
   * exclusive server lock); resolves to its release. Rejects (a transient
   * failure: the attempt is retried) when another client holds it.
   */
  holdForPublish?(path: string): Promise<() => Promise<void>>;
  /** The upload already under way for the file's version (early-upload.ts), handed over once; undefined: upload it now. */
  partialUpload?(file: PendingFile, attempt: UploadAttempt): Promise<PartialUpload | undefined>;
  /** Whether the file's upload starts at its last close, without the delay (most of it is on its way already). */
  uploadsAtOnce?(file: PendingFile): boolean;
  /** Whether the file is a conflict copy on its way (another mount may pick the same name in the same second). */
  isConflictCopy?(file: PendingFile): boolean;
}

interface Transfer extends UploadTransfer {
  readonly attempt: UploadAttempt;
  /** Resolves the attempt's `done` once its outcome is recorded. */
  readonly finish: () => void;
}

/**
 * How long begin_upload's "nothing is there" stands as the check before a new
 * file publishes. A small file's `end` follows it within milliseconds (tens
 * on a slow link), so asking again would only add a request per file; a
 * large file's transfer, or an upload that began while the program was still
 * writing, leaves seconds to minutes in which someone else may create the
 * name, so the server is asked again right before `end`.
 */
const NEW_FILE_ANSWER_FRESH_MS = 1_000;

/**
 * How long a file of the same size at the name may wait for the server's
 * MD5, which it computes a little after each upload (the emulator in about a
 * second per GiB), before the comparison of bytes gives up: after a crash
 * the next mount finds its own upload of a moment ago, still without one.
 */
const SERVER_MD5_WAIT_MS = 5_000;
const SERVER_MD5_POLL_MS = 250;

/** Pages of a folder searched for a file renamed elsewhere (10,000 entries at the default page size). */
const RENAME_SEARCH_PAGES = 10;

/**
 * The same version under any name: same size and an equal checksum. A size
 * and a server mtime alone prove nothing: files copied in together share the
 * second, and many share a size (a base taken from our own upload's answer
 * has no checksum yet, the server computes them afterwards).
 */
function sameVersion(entry: RemoteEntry, base: Extract<BaseVersion, { exists: true }>): boolean {
  if (entry.size !== base.size) return false;
  if (entry.md5 && base.md5) return entry.md5 === base.md5;
  if (entry.crc32 && base.crc32) return entry.crc32 === base.crc32;
  return false;
}

export class Uploads implements UploadPort<PendingFile> {
  private readonly queue: UploadQueue<PendingFile>;
  private readonly backoff: RetryPolicy;
  /** The one timer of a file: its upload delay, or the wait before its next attempt. */
  private readonly timers = new DueTimers<PendingFile>((file) => {
    file.due();
    this.after(file);
  });
  private readonly attempts = new Set<UploadAttempt>();
  private draining = false;
  private closed = false;
  /** Refused credentials were logged as a warning; cleared when an upload lands. */
  private credentialsWarned = false;

  constructor(private readonly host: UploadsHost, private readonly options: ResolvedWriteBackOptions) {
    this.queue = new UploadQueue(this, options, host.log);
    this.backoff = new RetryPolicy({ retries: 0, baseDelayMs: options.retryBaseDelayMs, maxDelayMs: options.retryMaxDelayMs });
  }

  // ---- what the write layer, drain and status ask for ---------------------------------

  /** The file changed or was closed: its next step (the upload delay starts again, or a slot, or nothing). */
  schedule(file: PendingFile): void {
    if (file.phase === 'delayed') this.timers.clear(file);
    this.after(file);
  }

  /** Upload now, even while the file is open for writing (fsync, drain, recovery). */
  now(file: PendingFile): void {
    if (this.closed || file.removed) return;
    this.timers.clear(file);
    file.force();
    if (file.phase === 'queued') this.enqueue(file);
  }

  /** The server answers again: files waiting to retry after a transient failure go now. */
  retryNow(files: Iterable<PendingFile>): number {
    return this.timers.fireWaiting(files, (file) => file.phase === 'retrying');
  }

  /** A writer opened the file again: nothing is due until its last close. */
  reopened(file: PendingFile): void {
    if (file.phase === 'open') this.timers.clear(file);
  }

  /** Aborts the file's attempt in flight, if any, and resolves once it is over (its outcome recorded). */
  async abort(file: PendingFile, reason: string): Promise<void> {
    const attempt = file.attempt;
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

  /** True while the file waits in the queue for a slot. */
  isWaiting(file: PendingFile): boolean {
    return this.queue.has(file);
  }

  /** Stops: no new attempt starts, those in flight are aborted (their files stay in the journal). */
  async close(): Promise<void> {
    this.closed = true;
    this.queue.close();
    this.timers.clearAll();
    const running = [...this.attempts];
    for (const attempt of running) attempt.controller.abort(new UploadCancelled('the mount is closing'));
    await Promise.all(running.map((a) => a.done));
  }

  /** The next step for a file after anything changed about it. */
  after(file: PendingFile): void {
    if (this.closed || file.removed) {
      this.timers.clear(file);
      return;
    }
    switch (file.phase) {
      case 'landed':
        this.timers.clear(file);
        if (file.idle) this.host.idle(file);
        return;
      case 'delayed':
        if (this.draining || file.hasWaiters || this.host.uploadsAtOnce?.(file)) return this.now(file);
        if (!this.timers.has(file)) this.timers.set(file, this.options.uploadDelayMs);
        return;
      case 'queued':
        this.timers.clear(file);
        this.enqueue(file);
        return;
      case 'open':
        if (this.draining) this.now(file);
        return;
      default:
        // retrying and failed wait for their timer; uploading, held and staging for their end.
        return;
    }
  }

  /** Into the queue, unless a pending folder above it must land first. */
  private enqueue(file: PendingFile): void {
    if (!this.host.blocked(file)) this.queue.add(file);
  }

  // ---- the upload port --------------------------------------------------------------

  bytes(file: PendingFile): number {
    return file.sendsContent ? file.size : 0;
  }

  describe(file: PendingFile): string {
    return file.path;
  }

  async begin(file: PendingFile): Promise<Transfer | null> {
    if (this.closed || file.phase !== 'queued') return null;
    try {
      await file.ready;
    } catch {
      return null; // the fetch failed: the file was never pending
    }
    // Start between changes: the snapshot is exactly what the staging file holds.
    return file.mutations.run(async () => {
      if (this.closed || !file.mayStart || this.host.blocked(file)) return null;
      let finish!: () => void;
      const done = new Promise<void>((resolve) => (finish = resolve));
      const attempt = file.startUpload(new AbortController(), done);
      this.attempts.add(attempt);
      return { attempt, finish, bytes: attempt.kind === 'content' ? attempt.size : 0, send: () => this.send(file, attempt) };
    });
  }

  async settled(file: PendingFile, transfer: UploadTransfer, result: unknown, error: unknown): Promise<void> {
    const { attempt, finish } = transfer as Transfer;
    try {
      if (error === undefined) await this.succeeded(file, attempt, result as RemoteEntry);
      else await this.failed(file, attempt, error);
    } finally {
      this.attempts.delete(attempt);
      finish();
      this.after(file);
    }
  }

  // ---- helpers ------------------------------------------------------------------------

  private async send(file: PendingFile, attempt: UploadAttempt): Promise<RemoteEntry> {
    crashPoint('upload-start');
    const release = await this.host.holdForPublish?.(attempt.path);
    try {
      return await this.publish(file, attempt);
    } finally {
      await release?.();
    }
  }

  private async publish(file: PendingFile, attempt: UploadAttempt): Promise<RemoteEntry> {
    const signal = attempt.controller.signal;
    const check = this.options.onConflict === 'local-wins' ? undefined : attempt.base;
    if (attempt.kind === 'mtime') {
      if (check) await this.stillBase(file, attempt, check, { exists: true, checkedAt: Date.now() });
      return this.host.client.update(attempt.path, { mtime: attempt.mtime, ...(attempt.metadata ? { customMetadata: attempt.metadata } : {}) }, { signal });
    }
    // An abort reaches the transfer until the call that publishes it (`end`)
    // is sent; from then on the attempt waits for its answer. The server
    // completes an `end` whose client went away, so an abort then would leave
    // it unknown whether the file was published (and a file unlinked meanwhile
    // could appear on the server afterwards).
    const transfer = new AbortController();
    let publishing = false;
    const forward = (): void => {
      if (!publishing) transfer.abort(signal.reason);
    };
    if (signal.aborted) forward();
    else signal.addEventListener('abort', forward, { once: true });
    const options = {
      mtime: attempt.mtime,
      mkdirParents: true,
      signal: transfer.signal,
      onProgress: (uploaded: number) => {
        attempt.uploadedBytes = uploaded;
      },
      beforePublish: async (target: PublishTarget) => {
        if (check) await this.stillBase(file, attempt, check, target);
        signal.throwIfAborted();
        publishing = true;
      },
    };
    let entry: RemoteEntry;
    try {
      entry = await this.sendContent(file, attempt, options);
    } finally {
      signal.removeEventListener('abort', forward);
    }
    if (!attempt.metadata || sameMetadata(entry.customMetadata ?? {}, attempt.metadata)) return entry;
    // The path the server stored it at (a folder behaviour may have renamed it).
    return this.host.client.update(entry.path, { customMetadata: attempt.metadata }, { signal });
  }

  /** The content: the rest of an early upload when there is one that can still be used, else the whole file. */
  private async sendContent(file: PendingFile, attempt: UploadAttempt, options: UploadOptions): Promise<RemoteEntry> {
    const early = await this.host.partialUpload?.(file, attempt);
    if (early) {
      try {
        return await early.finish(attempt.size, options);
      } catch (err) {
        if (!(err instanceof PartialUploadUnusable) || attempt.controller.signal.aborted) throw err;
        this.host.log.debug('%s: %s; uploading it whole', attempt.path, err.message);
        attempt.uploadedBytes = 0;
      }
    }
    return this.host.client.upload(attempt.path, { file: attempt.stagingPath, size: attempt.size }, options);
  }

  /**
   * Right before an attempt publishes: the server's file must still be the
   * version the change started from (RemoteChangedError otherwise). A file
   * gone from the server is not a conflict (the local version is uploaded
   * under its name, and the log says so), unless the same version now shows
   * under another name in its folder: renamed elsewhere, a conflict (the
   * local version lands as a conflict copy beside the old name). A new file
   * must still have nothing at its name: begin_upload's answer says so when
   * it is recent, else the server is asked again (and always for a conflict
   * copy, whose name another mount may have picked in the same second).
   */
  private async stillBase(file: PendingFile, attempt: UploadAttempt, base: BaseVersion, target: PublishTarget): Promise<void> {
    if (!base.exists) {
      if (!target.exists && Date.now() - target.checkedAt <= NEW_FILE_ANSWER_FRESH_MS && !this.host.isConflictCopy?.(file)) return;
      let now: RemoteEntry;
      try {
        now = await this.host.client.stat(attempt.path, { signal: attempt.controller.signal });
      } catch (err) {
        if ((err as { kind?: string }).kind === 'not-found') return;
        throw err;
      }
      if (await this.alreadyThere(attempt, now)) return;
      throw new RemoteChangedError(attempt.path, 'exists');
    }
    let now: RemoteEntry;
    try {
      now = await this.host.client.stat(attempt.path, { signal: attempt.controller.signal });
    } catch (err) {
      if ((err as { kind?: string }).kind !== 'not-found') throw err;
      const movedTo = await this.renamedTo(attempt, base);
      if (movedTo) throw new RemoteChangedError(attempt.path, { movedTo });
      this.host.log.warn('%s was deleted or moved out of its folder on the server since its local change began; the local version is uploaded under its name', attempt.path);
      return;
    }
    if (!isBase(now, base) && !(await this.alreadyThere(attempt, now))) throw new RemoteChangedError(attempt.path, now);
  }

  /**
   * The server's file holds exactly the bytes this attempt would publish:
   * nothing of anyone's would be lost by publishing, so it is no conflict.
   * That is our own upload that landed before a crash let the journal
   * record it (the next mount uploads the version again), or two programs
   * that made the same empty file (a lock file, a `touch`). Decided by the
   * server's MD5 (read from the staging file here, only on this rare path),
   * waited for a few seconds when the server has not computed it yet;
   * without one, it is not known, and the conflict stands.
   */
  private async alreadyThere(attempt: UploadAttempt, now: RemoteEntry): Promise<boolean> {
    if (attempt.kind !== 'content' || now.type !== 'file' || now.size !== attempt.size) return false;
    if (attempt.size === 0) return true;
    const signal = attempt.controller.signal;
    for (const deadline = Date.now() + SERVER_MD5_WAIT_MS; !now.md5 && Date.now() < deadline; ) {
      await sleep(SERVER_MD5_POLL_MS, undefined, { signal });
      now = await this.host.client.stat(attempt.path, { signal });
      if (now.type !== 'file' || now.size !== attempt.size) return false;
    }
    if (!now.md5) return false;
    const hash = createHash('md5');
    for await (const chunk of createReadStream(attempt.stagingPath, { start: 0, end: attempt.size - 1, signal: attempt.controller.signal })) hash.update(chunk as Buffer);
    return hash.digest('hex') === now.md5.toLowerCase();
  }

  /**
   * The base version under another name in the same folder (renamed
   * elsewhere): same size, and the same checksum or server mtime. A rename to
   * another folder is not looked for (the API cannot tell where it went).
   */
  private async renamedTo(attempt: UploadAttempt, base: BaseVersion): Promise<RemoteEntry | undefined> {
    if (!base.exists) return undefined;
    try {
      let pages = 0;
      for await (const page of this.host.client.list(parentPath(attempt.path), { signal: attempt.controller.signal })) {
        const found = page.find((e) => e.type === 'file' && !isSame(e.path, attempt.path) && sameVersion(e, base));
        if (found) return found;
        if (++pages >= RENAME_SEARCH_PAGES) break;
      }
    } catch (err) {
      this.host.log.debug('%s: could not look for it under another name (%s)', attempt.path, describeFailure(err));
    }
    return undefined;
  }

  /**
   * The server has the attempt's generation. The attempt stays the file's
   * upload until its record is gone, so nothing overlaps it and status shows
   * the file until then.
   */
  private async succeeded(file: PendingFile, attempt: UploadAttempt, entry: RemoteEntry): Promise<void> {
    crashPoint('upload-landed');
    this.credentialsWarned = false;
    file.uploadLanded(attempt, entry);
    if (!file.removed) this.host.landed(file, attempt, entry);
    if (this.host.log.enabled('debug')) {
      this.host.log.debug('uploaded %s (%d bytes%s) in %d ms', attempt.path, attempt.size, attempt.kind === 'mtime' ? ', mtime only' : '', Date.now() - attempt.startedAt);
    }
    try {
      await this.host.records.landed(file, attempt.generation);
    } finally {
      file.attemptOver(attempt);
    }
  }

  private async failed(file: PendingFile, attempt: UploadAttempt, error: unknown): Promise<void> {
    const kind = classifyFailure(error, attempt.controller.signal);
    const { log } = this.host;
    if (kind === 'cancelled') {
      log.debug('upload of %s (generation %d) cancelled: %s', attempt.path, attempt.generation, describeFailure(attempt.controller.signal.reason));
      file.uploadCancelled(attempt);
      if (attempt.kind === 'content' && !file.onServer && attempt.uploadedBytes >= attempt.size) await this.checkLanded(file, attempt);
      return;
    }
    if (kind === 'conflict') {
      file.uploadCancelled(attempt);
      if (!file.removed) await this.host.conflicted(file, attempt, error as RemoteChangedError);
      return;
    }
    const message = describeFailure(error);
    const permanent = kind === 'permanent';
    const attempts = (file.failure?.permanent === permanent ? file.failure.attempts : 0) + 1;
    const delay = permanent ? this.options.failedRetryDelayMs : this.backoff.delayMs(Math.min(attempts, 30), error);
    const failure: UploadFailure = { message, permanent, attempts, at: new Date(), nextAttemptAt: Date.now() + delay };
    file.uploadFailed(attempt, failure);
    if (permanent) {
      log.warn(
        'upload of %s refused by the server: %s. Its content is kept at %s; it is retried every %d min and at the next mount (`filesfs status` lists it)',
        attempt.path, message, file.stagingPath, Math.round(this.options.failedRetryDelayMs / 60_000),
      );
      await this.host.records.refused(file);
      file.failWaiters(attempt.generation, new FsError('EIO', `${attempt.path}: the server refused the upload: ${message}`));
    } else if (error instanceof NotAuthenticatedError && !this.credentialsWarned) {
      this.credentialsWarned = true;
      log.warn('upload of %s: the server refused the credentials (%s); uploads keep retrying with backoff, reading the key again each time: fix the key (file or environment) and they go on', attempt.path, message);
    } else if (attempts === 1) {
      log.info('upload of %s failed (%s); retrying in %d s', attempt.path, message, Math.round(delay / 1000));
    } else if (attempts === WARN_AFTER_ATTEMPTS) {
      log.warn('upload of %s has failed %d times in a row (last: %s); still retrying (every %d s at most), the content is kept at %s', attempt.path, attempts, message, Math.round(this.options.retryMaxDelayMs / 1000), file.stagingPath);
    } else {
      log.debug('upload of %s failed again (attempt %d: %s); retrying in %d ms', attempt.path, attempts, message, delay);
    }
    if (file.phase === 'retrying' || file.phase === 'failed') this.timers.set(file, delay);
  }

  /** After an abort during `end`: does the server have the file now? */
  private async checkLanded(file: PendingFile, attempt: UploadAttempt): Promise<void> {
    try {
      const entry = await this.host.client.stat(attempt.path);
      if (entry.type === 'file') {
        file.foundOnServer();
        // Ours (its parts were all sent): the next upload replaces it, not someone else's.
        file.rebased(baseOf(entry));
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
