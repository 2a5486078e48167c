// The write-back layer: the WriteLayer (src/vfs/writes.ts) that makes the
// mount read-write. Every content change lands in a private staging file and
// is uploaded in the background; until then the file shows its local size and
// mtime and is read from staging by everyone.
//
// Durability (nothing closed is ever lost): on flush, i.e. close(2), of a
// changed file the staging data is fsync'd (and, for a new staging file, its
// directory), then the journal record is written atomically and durably;
// only then does close return. The record goes once the server confirmed that
// generation, and the staging file after it.
//
// Namespace while pending (editors save by write-temp-then-rename):
//   - rename of a file that exists only locally retargets it (no server
//     call, no upload of the temporary name); the record is rewritten before
//     rename returns, so a crash cannot resurrect the old name;
//   - rename of a file with a version on the server, or of a folder: the
//     server moves it, then pending files at or below it are retargeted; their
//     uploads are aborted and held during the move, so none lands under the
//     old name afterwards;
//   - a rename onto a pending file replaces it (its upload is cancelled);
//   - unlink cancels: upload aborted, record and staging removed.
import { constants } from 'node:fs';
import type { RemoteEntry } from '../../client/files-client.js';
import type { Logger } from '../../log/logger.js';
import { joinPath } from '../../path/index.js';
import type { FileAttributes } from '../filesystem-api.js';
import type { VfsContext } from '../filesystem.js';
import { FsError } from '../fs-error.js';
import type { FileHandle } from '../handles/file-handle.js';
import { keyOf } from '../path-mapper.js';
import type { WriteLayer } from '../writes.js';
import { fetchInto } from './content-fetch.js';
import { describeFailure } from './failure-policy.js';
import type { Journal, JournalRecord } from './journal.js';
import type { ResolvedWriteBackOptions } from './options.js';
import { PendingFile, type UploadAttempt } from './pending-file.js';
import { PendingFiles } from './pending-files.js';
import { SharedFd } from './shared-fd.js';
import { StagingArea } from './staging.js';
import { UploadQueue, type UploadQueueHost } from './upload-queue.js';
import { StagingHandle, type StagingOps } from './write-handle.js';
import { WriteHistogram } from './write-histogram.js';

export interface WriteBackTotals {
  /** Uploads (and mtime updates) the server confirmed since the mount started. */
  uploadedFiles: number;
  uploadedBytes: number;
}

export class WriteBackLayer implements WriteLayer, StagingOps, UploadQueueHost {
  readonly queue: UploadQueue;
  /** Sizes of every write request this mount received. */
  readonly writeSizes = new WriteHistogram();
  readonly totals: WriteBackTotals = { uploadedFiles: 0, uploadedBytes: 0 };
  readonly log: Logger;
  /** Pending files held by a rename in progress, until renamed() or renameFailed(). */
  private readonly renameHolds = new Map<string, PendingFile[][]>();

  constructor(
    private readonly ctx: VfsContext,
    readonly files: PendingFiles,
    private readonly staging: StagingArea,
    private readonly journal: Journal,
    readonly options: ResolvedWriteBackOptions,
    logger: Logger,
  ) {
    this.log = logger;
    this.queue = new UploadQueue(this, options);
  }

  get client(): VfsContext['client'] {
    return this.ctx.client;
  }

  /** The remote folder shown as the mount's root ('' = the site root). */
  get rootPath(): string {
    return this.ctx.paths.root;
  }

  // ---- lookup overlay ---------------------------------------------------------------

  localEntry(remotePath: string): RemoteEntry | undefined {
    return this.files.get(remotePath)?.entry();
  }

  localChildren(dirPath: string): readonly RemoteEntry[] {
    return this.files.childrenOf(dirPath).map((f) => f.entry());
  }

  // ---- opening -----------------------------------------------------------------------

  async openRead(entry: RemoteEntry, flags: number): Promise<FileHandle | undefined> {
    const file = this.files.get(entry.path);
    return file ? this.openHandle(file, flags, false) : undefined;
  }

  async openWrite(entry: RemoteEntry, flags: number): Promise<FileHandle> {
    const truncate = (flags & constants.O_TRUNC) !== 0;
    const existing = this.files.get(entry.path);
    const file = existing ?? this.stageRemote(entry, truncate);
    const handle = await this.openHandle(file, flags, true);
    // A file staged from the server with O_TRUNC starts empty already.
    if (truncate && existing) {
      try {
        await this.resize(handle, 0);
      } catch (err) {
        await handle.release();
        throw err;
      }
    }
    return handle;
  }

  async create(remotePath: string, existing: RemoteEntry | null, _mode: number, flags: number): Promise<FileHandle> {
    if (existing) return this.openWrite(existing, flags);
    const raced = this.files.get(remotePath);
    if (raced) {
      if (flags & constants.O_EXCL) throw new FsError('EEXIST', `${remotePath}: already exists`);
      return this.openWrite(raced.entry(), flags);
    }
    const file = this.newFile(remotePath, { onServer: false, generation: 1, landed: -1, size: 0, mtime: this.now(), createdAt: this.now() }, 'create');
    return this.openHandle(file, flags, true);
  }

  /** truncate(2) by path: like open + ftruncate + close. */
  async truncate(entry: RemoteEntry, size: number): Promise<void> {
    const file = this.files.get(entry.path) ?? this.stageRemote(entry, size === 0);
    const handle = await this.openHandle(file, constants.O_WRONLY, true);
    try {
      await this.resize(handle, size);
      await this.flush(handle);
    } finally {
      await handle.release();
    }
  }

  // ---- namespace ------------------------------------------------------------------------

  async unlink(entry: RemoteEntry): Promise<boolean> {
    const file = await this.readyFile(entry.path);
    if (!file) return false;
    file.holds++;
    try {
      await this.queue.abort(file, 'the file was deleted');
      await this.discard(file, 'deleted');
    } finally {
      file.holds--;
    }
    return !file.onServer;
  }

  async rename(from: RemoteEntry, to: string): Promise<boolean> {
    if (from.type === 'directory') {
      // The server moves the folder; what is pending below it is held until then.
      const below = [...new Set([...this.files.atOrBelow(from.path), ...this.files.atOrBelow(to)])];
      await this.holdAll(below);
      this.rememberHold(from.path, to, below);
      return false;
    }
    const file = await this.readyFile(from.path);
    const target = this.files.get(to);
    const replaced = target && target !== file ? target : undefined;
    const held = [file, replaced].filter((f): f is PendingFile => f !== undefined);
    await this.holdAll(held);
    if (!file || file.onServer) {
      // The server moves the file; renamed() retargets and drops what it replaced.
      this.rememberHold(from.path, to, held);
      return false;
    }
    try {
      if (replaced) await this.discard(replaced, `replaced by ${file.path}`);
      this.files.move(file, to);
      await this.rewriteRecord(file);
    } finally {
      this.releaseAll(held);
    }
    return true;
  }

  async renamed(from: string, to: string): Promise<void> {
    const held = this.takeHold(from, to);
    try {
      const fromKey = keyOf(from);
      const moving = this.files.atOrBelow(from);
      if (keyOf(to) !== fromKey) {
        // What was at the target was replaced by the move (POSIX rename).
        const movingSet = new Set(moving);
        for (const replaced of this.files.atOrBelow(to)) if (!movingSet.has(replaced)) await this.discard(replaced, `replaced by ${from}`);
      }
      const depth = from.split('/').length;
      for (const file of moving) {
        const rest = file.path.split('/').slice(depth);
        this.files.move(file, rest.length ? joinPath(to, rest.join('/')) : to);
        await this.rewriteRecord(file);
      }
    } finally {
      this.releaseAll(held);
    }
  }

  renameFailed(from: string, to: string): void {
    this.releaseAll(this.takeHold(from, to));
  }

  async setMtime(entry: RemoteEntry, mtime: Date): Promise<boolean> {
    const file = await this.readyFile(entry.path);
    if (!file) return false;
    file.changedMtime(mtime);
    if (file.writers === 0) {
      await this.persist(file);
      this.queue.schedule(file);
    }
    return true;
  }

  // ---- handles (StagingOps) ---------------------------------------------------------

  attributes(file: PendingFile): FileAttributes {
    return this.ctx.attributes(file.entry());
  }

  write(handle: StagingHandle, buffer: Buffer, position: number): Promise<number> {
    const { file, fd } = handle;
    return file.mutations.run(async () => {
      if (file.upload) await this.queue.abort(file, 'the file changed');
      const at = handle.append ? file.size : position;
      // The kernel's buffer is only valid until this promise settles: written, not kept.
      const { bytesWritten } = await fd.write(buffer, 0, buffer.length, at);
      if (at + bytesWritten > file.size) file.size = at + bytesWritten;
      file.changedContent(this.now());
      handle.writeSizes.record(buffer.length);
      this.writeSizes.record(buffer.length);
      return bytesWritten;
    });
  }

  async resize(handle: StagingHandle, size: number): Promise<void> {
    // Not open for writing (the kernel normally refuses ftruncate then): as truncate by path.
    if (!handle.writable) return this.truncate(handle.file.entry(), size);
    const { file, fd } = handle;
    await file.mutations.run(async () => {
      if (file.upload) await this.queue.abort(file, 'the file changed');
      // Sparse: extending writes no zeros.
      await fd.truncate(size);
      file.size = size;
      file.changedContent(this.now());
    });
  }

  async flush(handle: StagingHandle): Promise<void> {
    await this.persist(handle.file);
  }

  async fsync(handle: StagingHandle): Promise<void> {
    const file = handle.file;
    if (file.removed) {
      await handle.fd.datasync();
      return;
    }
    await this.persist(file);
    await this.waitForServer(file, file.generation);
  }

  async release(handle: StagingHandle): Promise<void> {
    const file = handle.file;
    file.handles--;
    if (handle.writable) file.writers--;
    try {
      if (handle.writeSizes.totalWrites > 0 && this.log.enabled('debug')) {
        this.log.debug('closed %s: %d bytes in %d writes (sizes %s)', file.path, handle.writeSizes.totalBytes, handle.writeSizes.totalWrites, handle.writeSizes.describe());
      }
      if (handle.writable && file.writers === 0 && !file.removed) {
        // Changes after the last flush (a write through mmap, or a dup'd descriptor).
        if (file.needsRecord) await this.persist(file);
        if (file.needsUpload) this.queue.schedule(file);
      }
    } catch (err) {
      this.log.error('%s: could not record the file for upload after its last close (%s); it is uploaded while the mount runs, but would not survive a crash', file.path, describeFailure(err));
      if (file.needsUpload) this.queue.schedule(file);
    } finally {
      await file.file.release().catch((err: unknown) => this.log.warn('%s: closing its staging file failed: %s', file.path, describeFailure(err)));
      this.idle(file);
    }
  }

  // ---- upload queue host ------------------------------------------------------------------

  async landed(file: PendingFile, attempt: UploadAttempt, entry: RemoteEntry): Promise<void> {
    if (attempt.generation > file.landed) file.landed = attempt.generation;
    if (attempt.contentGeneration > file.landedContent) file.landedContent = attempt.contentGeneration;
    file.onServer = true;
    this.totals.uploadedFiles++;
    if (attempt.kind === 'content') this.totals.uploadedBytes += attempt.size;
    if (!file.removed) this.ctx.remoteChanged(entry);
    file.settleWaiters();
    if (this.log.enabled('debug')) {
      this.log.debug('uploaded %s (%d bytes%s) in %d ms', attempt.path, attempt.size, attempt.kind === 'mtime' ? ', mtime only' : '', Date.now() - attempt.startedAt);
    }
    await file.records.run(async () => {
      if (file.journaled !== -1 && file.journaled <= file.landed) {
        await this.journal.remove(file.id);
        file.journaled = -1;
      }
    });
  }

  async refused(file: PendingFile, attempt: UploadAttempt): Promise<void> {
    const failure = file.failure!;
    this.log.warn(
      'upload of %s refused by the server: %s. Its content is kept at %s; it is retried every %d min and at the next mount (`filesfs status` lists it)',
      attempt.path, failure.message, file.stagingPath, Math.round(this.options.failedRetryDelayMs / 60_000),
    );
    await file.records.run(async () => {
      if (file.removed) return;
      await this.journal.write(this.record(file, file.journaled === -1 ? file.generation : file.journaled));
      if (file.journaled === -1) file.journaled = file.generation;
    });
  }

  /** Nothing to upload and nobody has the file open: it leaves the pending set. */
  idle(file: PendingFile): void {
    if (file.removed || file.handles > 0 || file.holds > 0 || file.upload || file.needsUpload || file.journaled !== -1) return;
    if (!this.files.delete(file)) return;
    file.removed = true;
    file.clearTimers();
    this.staging.remove(file.stagingName).catch((err: unknown) => this.log.warn('could not delete staging file %s: %s', file.stagingPath, describeFailure(err)));
  }

  // ---- for fsync, drain and status ------------------------------------------------------

  /** Resolves once `generation` of the file is on the server (EIO on refusal or timeout). */
  waitForServer(file: PendingFile, generation: number): Promise<void> {
    if (file.landed >= generation || file.removed) return Promise.resolve();
    const seconds = Math.round(this.options.fsyncTimeoutMs / 1000);
    const waiting = file.waitForLanding(generation, this.options.fsyncTimeoutMs, () => {
      const why = file.failure ? ` (last error: ${file.failure.message})` : '';
      return new FsError('EIO', `${file.path}: not on the server after ${seconds} s${why}; it stays pending and is retried`);
    });
    this.queue.now(file);
    return waiting;
  }

  /** Makes the file's current content durable in the journal (no-op when nothing changed). */
  persist(file: PendingFile): Promise<void> {
    return file.records.run(async () => {
      if (!file.needsRecord) return;
      const generation = file.generation;
      // Crash-safe order: the data and the staging file's name are durable
      // before the record that points to them is (the rename). The record's
      // temp file is written meanwhile: three fsyncs at once, not in a row.
      const record = this.record(file, generation);
      await Promise.all([
        file.file.with((fd) => fd.datasync()),
        file.stagingDurable ? undefined : this.staging.dirSync.sync(),
        this.journal.prepare(record),
      ]);
      file.stagingDurable = true;
      await this.journal.commit(record.id);
      file.journaled = generation;
    });
  }

  // ---- helpers ---------------------------------------------------------------------------

  private now(): Date {
    return new Date(this.ctx.options.clock());
  }

  private record(file: PendingFile, generation: number): JournalRecord {
    const failed = file.failure?.permanent === true;
    return {
      id: file.id,
      path: file.path,
      staging: file.stagingName,
      size: file.size,
      mtime: file.mtime,
      generation,
      remote: file.onServer,
      state: failed ? 'failed' : 'pending',
      ...(failed ? { reason: file.failure!.message } : {}),
      updatedAt: new Date(),
    };
  }

  /** After a retarget: the record names the new path before the rename returns. */
  private rewriteRecord(file: PendingFile): Promise<void> {
    return file.records.run(async () => {
      if (file.journaled !== -1 && !file.removed) await this.journal.write(this.record(file, file.journaled));
    });
  }

  /** A new pending file, indexed at once (concurrent opens find it); `ready` once staged. */
  private newFile(
    path: string,
    init: { onServer: boolean; generation: number; landed: number; size: number; mtime: Date; createdAt: Date | null },
    stage: 'create' | { fetch: string },
  ): PendingFile {
    const id = StagingArea.newId();
    const stagingName = this.staging.nameFor(id);
    const fd = new SharedFd(() => this.staging.openExisting(stagingName));
    const file = new PendingFile({ id, path, stagingName, stagingPath: this.staging.pathOf(stagingName), file: fd, journaled: -1, ...init });
    file.ready = (async () => {
      const created = await this.staging.create(stagingName);
      fd.adopt(created);
      if (stage !== 'create') {
        const size = await fd.with((handle) => fetchInto(this.ctx.client, stage.fetch, handle));
        file.size = size;
      }
    })();
    file.ready.catch(async (err: unknown) => {
      // Never pending: forget it (the opener reports the error).
      this.log.debug('staging %s failed: %s', path, describeFailure(err));
      file.removed = true;
      this.files.delete(file);
      await fd.closeIfUnused().catch(() => undefined);
      await this.staging.remove(stagingName).catch(() => undefined);
    });
    this.files.add(file);
    return file;
  }

  /** An existing remote file staged for writing: empty with O_TRUNC, else its content fetched. */
  private stageRemote(entry: RemoteEntry, truncate: boolean): PendingFile {
    const base = { onServer: true, size: truncate ? 0 : entry.size, createdAt: entry.createdAt };
    // Truncated: generation 1 differs from what the server has (0); fetched: the same.
    return truncate
      ? this.newFile(entry.path, { ...base, generation: 1, landed: 0, mtime: this.now() }, 'create')
      : this.newFile(entry.path, { ...base, generation: 0, landed: 0, mtime: entry.mtime }, { fetch: entry.path });
  }

  /** Counts the handle on the file at once (so it is not dropped meanwhile), then waits until it is staged. */
  private async openHandle(file: PendingFile, flags: number, writable: boolean): Promise<StagingHandle> {
    file.handles++;
    if (writable) {
      file.writers++;
      // The delay restarts at the next close.
      if (file.delayTimer) clearTimeout(file.delayTimer);
      file.delayTimer = null;
    }
    try {
      await file.ready;
      const fd = await file.file.acquire();
      return new StagingHandle(this, file, fd, writable, writable && (flags & constants.O_APPEND) !== 0);
    } catch (err) {
      file.handles--;
      if (writable) file.writers--;
      this.idle(file);
      throw err;
    }
  }

  /** The pending file at a path once staged, or undefined (none, or its staging failed). */
  private async readyFile(path: string): Promise<PendingFile | undefined> {
    const file = this.files.get(path);
    if (!file) return undefined;
    try {
      await file.ready;
    } catch {
      return undefined;
    }
    return this.files.get(path) === file ? file : undefined;
  }

  /** Cancels a pending file for good: record, then staging (open handles keep their descriptor). */
  private async discard(file: PendingFile, why: string): Promise<void> {
    if (file.removed) return;
    file.removed = true;
    this.files.delete(file);
    file.clearTimers();
    file.settleWaiters();
    await this.queue.abort(file, why);
    this.log.debug('%s: pending upload cancelled (%s)', file.path, why);
    await file.records.run(async () => {
      if (file.journaled !== -1) {
        await this.journal.remove(file.id);
        file.journaled = -1;
      }
    });
    await this.staging.remove(file.stagingName);
  }

  private async holdAll(files: PendingFile[]): Promise<void> {
    for (const file of files) file.holds++;
    await Promise.all(files.map((f) => this.queue.abort(f, 'renamed')));
  }

  private releaseAll(files: PendingFile[]): void {
    for (const file of files) {
      file.holds--;
      this.queue.after(file);
    }
  }

  private rememberHold(from: string, to: string, files: PendingFile[]): void {
    const key = `${keyOf(from)}\n${keyOf(to)}`;
    const list = this.renameHolds.get(key);
    if (list) list.push(files);
    else this.renameHolds.set(key, [files]);
  }

  private takeHold(from: string, to: string): PendingFile[] {
    const key = `${keyOf(from)}\n${keyOf(to)}`;
    const list = this.renameHolds.get(key);
    const files = list?.shift() ?? [];
    if (list && list.length === 0) this.renameHolds.delete(key);
    return files;
  }
}
