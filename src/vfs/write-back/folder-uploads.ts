// When pending folders are created on the server, and what each outcome
// means: the upload port of their own queue (upload-queue.ts), and the timers
// around it. A folder made through the mount (mkdir) is created
// `uploadDelayMs` after it was made (a folder renamed or removed meanwhile —
// a build's temporary folder — never reaches the server), at once when
// something below it must go up now (fsync, a drain, a server move into it),
// and never before the pending folder above it has landed: folders are
// created top down, and files below wait for them (Uploads asks
// `blockingFolder`), so the server sees a folder before anything inside it.
//
// One request per folder, `POST /folders` with `mkdir_parents` (a parent
// removed on the server meanwhile comes back, as it would for a file's
// upload) and the time utimens gave it. Outcomes:
//   - created, or a folder already there (made by someone else, or by an
//     earlier attempt whose answer was lost): landed; what waits below goes;
//   - a file already there: refused (failed, retried every
//     `failedRetryDelayMs`; `filesfs retry` tries at once);
//   - transient failures (network, timeout, 429, 5xx, refused credentials
//     while the key is being replaced) retry with the uploads' backoff;
//     other refusals (a name the server rejects, no permission): failed.
import { DestinationExistsError, type FilesClient, type RemoteEntry, RetryPolicy } from '../../client/index.js';
import type { Logger } from '../../log/logger.js';
import { classifyFailure, describeFailure, UploadCancelled } from './failure-policy.js';
import type { ResolvedWriteBackOptions } from './options.js';
import type { UploadFailure } from './pending-file.js';
import type { FolderAttempt, PendingFolder } from './pending-folder.js';
import type { Records } from './records.js';
import type { PendingFiles } from './registry.js';
import { DueTimers } from './due-timers.js';
import { UploadQueue, type UploadPort, type UploadTransfer } from './upload-queue.js';

export interface FolderUploadsHost {
  readonly client: FilesClient;
  readonly records: Records;
  readonly registry: PendingFiles;
  readonly log: Logger;
  /** The server has the folder (`entry`; `existed`: it was there already): caches, then what waits below it. */
  created(folder: PendingFolder, entry: RemoteEntry, existed: boolean): void;
  /** The server refused the folder: whoever waits for what is inside it (fsync) is told. */
  refused(folder: PendingFolder): void;
}

interface Transfer extends UploadTransfer {
  readonly attempt: FolderAttempt;
  readonly finish: () => void;
}

/** A file where the folder should be: the server will not make a folder there. */
class FileInTheWay extends Error {}

export class FolderUploads implements UploadPort<PendingFolder> {
  private readonly queue: UploadQueue<PendingFolder>;
  private readonly backoff: RetryPolicy;
  private readonly timers = new DueTimers<PendingFolder>((folder) => {
    folder.due();
    this.after(folder);
  });
  private readonly attempts = new Set<FolderAttempt>();
  private draining = false;
  private closed = false;

  constructor(private readonly host: FolderUploadsHost, private readonly options: ResolvedWriteBackOptions) {
    // Folder creations are small requests: one lane as wide as the small-file lane.
    this.queue = new UploadQueue(this, { uploadConcurrency: options.smallUploadConcurrency, smallUploadConcurrency: options.smallUploadConcurrency }, host.log);
    this.backoff = new RetryPolicy({ retries: 0, baseDelayMs: options.retryBaseDelayMs, maxDelayMs: options.retryMaxDelayMs });
  }

  /**
   * Create it now, and the pending folders above it first (something below
   * must go up now). A folder that failed is tried again only when asked
   * (`retryFailed`: fsync, a drain, a server move into it, `filesfs retry`),
   * never merely because something below it became due.
   */
  now(folder: PendingFolder, options: { retryFailed: boolean } = { retryFailed: true }): void {
    if (this.closed) return;
    for (let up: PendingFolder | undefined = folder; up; up = this.host.registry.blockingFolder(up.path)) {
      if (!up.blocks) continue;
      if (!options.retryFailed && (up.phase === 'failed' || up.phase === 'retrying')) continue;
      this.timers.clear(up);
      up.force();
      this.after(up);
    }
  }

  /** The next step for a folder after anything changed about it. */
  after(folder: PendingFolder): void {
    if (this.closed || !folder.blocks) {
      this.timers.clear(folder);
      return;
    }
    switch (folder.phase) {
      case 'delayed':
        if (this.draining) return this.now(folder);
        if (!this.timers.has(folder)) this.timers.set(folder, this.options.uploadDelayMs);
        return;
      case 'queued': {
        this.timers.clear(folder);
        // Top down: a folder waits for the pending one above it (which must then be due too).
        const above = this.host.registry.blockingFolder(folder.path);
        if (above) {
          if (above.phase === 'delayed') this.now(above);
          return;
        }
        this.queue.add(folder);
        return;
      }
      default:
        // retrying and failed wait for their timer; creating and held for their end.
        return;
    }
  }

  /** Every folder is created at once from now on (graceful shutdown). */
  startDraining(folders: Iterable<PendingFolder>): void {
    this.draining = true;
    for (const folder of folders) if (folder.blocks) this.now(folder);
  }

  stopDraining(): void {
    this.draining = false;
  }

  /** The server answers again: folders waiting to retry after a transient failure go now. */
  retryNow(folders: Iterable<PendingFolder>): number {
    return this.timers.fireWaiting(folders, (folder) => folder.phase === 'retrying');
  }

  /** Try a failed or waiting folder again now (`filesfs retry`). */
  retry(folder: PendingFolder): void {
    if (!folder.blocks || folder.phase === 'creating') return;
    this.now(folder);
  }

  /** Aborts the folder's attempt in flight, if any, and resolves once it is over (its outcome recorded). */
  async abort(folder: PendingFolder, reason: string): Promise<void> {
    const attempt = folder.attempt;
    if (!attempt) return;
    attempt.controller.abort(new UploadCancelled(reason));
    await attempt.done;
  }

  inFlight(): FolderAttempt[] {
    return [...this.attempts];
  }

  async close(): Promise<void> {
    this.closed = true;
    this.queue.close();
    this.timers.clearAll();
    const running = [...this.attempts];
    for (const attempt of running) attempt.controller.abort(new UploadCancelled('the mount is closing'));
    await Promise.all(running.map((a) => a.done));
  }

  // ---- the upload port --------------------------------------------------------------

  bytes(): number {
    return 0;
  }

  describe(folder: PendingFolder): string {
    return `${folder.path}/`;
  }

  async begin(folder: PendingFolder): Promise<Transfer | null> {
    if (this.closed || !folder.mayStart || this.host.registry.blockingFolder(folder.path)) return null;
    let finish!: () => void;
    const done = new Promise<void>((resolve) => (finish = resolve));
    const attempt = folder.startCreate(new AbortController(), done);
    this.attempts.add(attempt);
    return { attempt, finish, bytes: 0, send: () => this.send(attempt) };
  }

  async settled(folder: PendingFolder, transfer: UploadTransfer, result: unknown, error: unknown): Promise<void> {
    const { attempt, finish } = transfer as Transfer;
    try {
      if (error === undefined) {
        const { entry, existed } = result as { entry: RemoteEntry; existed: boolean };
        folder.created(attempt);
        if (!folder.removed) this.host.created(folder, entry, existed);
        this.host.log.debug('created folder %s on the server%s', attempt.path, existed ? ' (it was there already)' : '');
      } else {
        await this.failed(folder, attempt, error);
      }
    } finally {
      this.attempts.delete(attempt);
      finish();
      this.after(folder);
    }
  }

  // ---- helpers ------------------------------------------------------------------------

  private async send(attempt: FolderAttempt): Promise<{ entry: RemoteEntry; existed: boolean }> {
    const { client } = this.host;
    const signal = attempt.controller.signal;
    const metadata = attempt.metadata ? { customMetadata: attempt.metadata } : {};
    try {
      const made = await client.mkdir(attempt.path, { parents: true, signal, ...(attempt.mtime ? { mtime: attempt.mtime } : {}) });
      // Its mode, owner and xattrs: one PATCH right after (the creation takes none).
      const entry = attempt.metadata ? await client.update(made.path, metadata, { signal }) : made;
      return { entry, existed: false };
    } catch (err) {
      if (!(err instanceof DestinationExistsError)) throw err;
      const there = await client.stat(attempt.path, { signal });
      if (there.type !== 'directory') throw new FileInTheWay(`a file named ${there.path} is where the folder should be`);
      // Someone made it meanwhile (or an earlier attempt did): ours too now, with our time and metadata if set.
      const changes = { ...(attempt.mtime ? { mtime: attempt.mtime } : {}), ...metadata };
      const entry = Object.keys(changes).length > 0 ? await client.update(attempt.path, changes, { signal }) : there;
      return { entry, existed: true };
    }
  }

  private async failed(folder: PendingFolder, attempt: FolderAttempt, error: unknown): Promise<void> {
    const { log } = this.host;
    const kind = error instanceof FileInTheWay ? 'permanent' : classifyFailure(error, attempt.controller.signal);
    if (kind === 'cancelled' || kind === 'conflict') {
      log.debug('creation of folder %s cancelled: %s', attempt.path, describeFailure(attempt.controller.signal.reason));
      folder.createCancelled(attempt);
      return;
    }
    const message = describeFailure(error);
    const permanent = kind === 'permanent';
    const attempts = (folder.failure?.permanent === permanent ? folder.failure.attempts : 0) + 1;
    const delay = permanent ? this.options.failedRetryDelayMs : this.backoff.delayMs(Math.min(attempts, 30), error);
    const failure: UploadFailure = { message, permanent, attempts, at: new Date(), nextAttemptAt: Date.now() + delay };
    folder.createFailed(attempt, failure);
    if (folder.removed) return;
    if (permanent) {
      log.warn('creating folder %s refused by the server: %s. It stays pending here with what is inside it; it is retried every %d min and at the next mount (`filesfs status` lists it, `filesfs retry` tries at once)', attempt.path, message, Math.round(this.options.failedRetryDelayMs / 60_000));
      await this.host.records.folder(folder);
      this.host.refused(folder);
    } else if (attempts === 1) {
      log.info('creating folder %s failed (%s); retrying in %d s', attempt.path, message, Math.round(delay / 1000));
    } else {
      log.debug('creating folder %s failed again (attempt %d: %s); retrying in %d ms', attempt.path, attempts, message, delay);
    }
    if (folder.phase === 'retrying' || folder.phase === 'failed') this.timers.set(folder, delay);
  }
}
