// Write-back for one mount, as the mount lifecycle sees it:
//
//   const writeBack = await WriteBack.open({ cacheDir, uploadDelayMs, ... }, logger);
//                                          // staging + journal ready, journal replayed
//   const fs = createFilesystem(client, options, { writeLayer: writeBack.factory });
//   ... mount ...
//   writeBack.resume();                    // recovered uploads start, in the background
//   writeBack.status();                    // for `filesfs status`
//   await writeBack.retry(path?);          // `filesfs retry`: failed and retrying uploads now
//   await writeBack.discard(path);         // `filesfs discard`: drop one pending upload, content kept aside
//   await writeBack.drain({ onProgress, signal });   // graceful shutdown
//   ... unmount ...
//   await writeBack.close();               // stops; what is left stays in the journal
//
// The journal is replayed before the filesystem serves anything, so recovered
// files show their local content from the first request; their uploads wait
// for resume(), so mounting is not slowed by them.
import { statfsSync } from 'node:fs';
import type { Logger } from '../../log/logger.js';
import { silentLogger } from '../../log/logger.js';
import { preparePrivateDir } from '../../options/private-dir.js';
import type { VfsContext } from '../filesystem.js';
import { formatBytes } from '../format-bytes.js';
import { FsError } from '../fs-error.js';
import type { WriteLayer } from '../writes.js';
import { drain, type DrainOptions, type DrainResult } from './drain.js';
import { Journal } from './journal.js';
import { resolveWriteBackOptions, type ResolvedWriteBackOptions, type WriteBackOptions } from './options.js';
import type { PendingFile } from './pending-file.js';
import { PendingFiles } from './registry.js';
import { recover, type Recovery } from './recovery.js';
import { StagingArea } from './staging.js';
import { countByState, entryOf, folderEntryOf, MAX_LISTED_FILES, sortEntries, type CacheDiskStatus, type WriteBackStatus } from './status.js';
import { retryNow, type RetryOutcome } from './retry.js';
import { stagingFilesOf, WriteBackLayer, type DiscardResult } from './write-layer.js';

export class WriteBack {
  private attached: WriteBackLayer | null = null;
  private resumed = false;
  private closed = false;

  private constructor(
    readonly options: ResolvedWriteBackOptions,
    private readonly staging: StagingArea,
    private readonly journal: Journal,
    private readonly files: PendingFiles,
    readonly recovery: Recovery,
    private readonly logger: Logger | undefined,
  ) {}

  /** Prepares the cache dir (0700), staging and journal, and replays the journal. */
  static async open(options: WriteBackOptions, logger?: Logger): Promise<WriteBack> {
    const resolved = resolveWriteBackOptions(options);
    preparePrivateDir(resolved.cacheDir);
    const staging = await StagingArea.open(resolved.cacheDir);
    const journal = await Journal.open(resolved.cacheDir);
    const recovery = await recover(staging, journal, logger ?? silentLogger);
    const files = new PendingFiles();
    for (const folder of recovery.folders) files.addFolder(folder);
    for (const file of recovery.files) files.add(file);
    return new WriteBack(resolved, staging, journal, files, recovery, logger);
  }

  /** The filesystem's write layer factory (FilesFilesystemExtensions.writeLayer); one filesystem per WriteBack. */
  readonly factory = (ctx: VfsContext): WriteLayer => {
    if (this.attached) throw new Error('this WriteBack already serves a filesystem');
    this.attached = new WriteBackLayer(ctx, this.files, this.staging, this.journal, this.options, this.logger ?? ctx.logger.child('write-back'));
    return this.attached;
  };

  get layer(): WriteBackLayer {
    if (!this.attached) throw new Error('the write-back layer is not attached to a filesystem yet');
    return this.attached;
  }

  /** Starts the uploads the journal recovered (call once the mount serves requests). */
  resume(): void {
    if (this.resumed || this.closed) return;
    this.resumed = true;
    const layer = this.layer;
    const recovered = [...this.files.values()].filter((f) => f.needsUpload && f.journaled !== -1 && f.writers === 0);
    const folders = [...this.files.folders()].filter((f) => f.blocks && f.journaled);
    if (recovered.length === 0 && folders.length === 0) return;
    const bytes = recovered.reduce((n, f) => n + f.size, 0);
    const failed = recovered.filter((f) => f.failure?.permanent).length + folders.filter((f) => f.failure?.permanent).length;
    const what = [recovered.length ? `${recovered.length} pending upload${recovered.length === 1 ? '' : 's'} (${formatBytes(bytes)})` : '', folders.length ? `${folders.length} folder${folders.length === 1 ? '' : 's'} to create` : ''].filter(Boolean).join(' and ');
    layer.log.info('resuming %s from the journal in %s%s', what, this.options.cacheDir, failed ? `; ${failed} refused before, trying again` : '');
    for (const folder of folders) layer.folderUploads.now(folder);
    for (const file of recovered) layer.uploads.now(file);
  }

  /** Uploads everything pending now; see drain.ts. */
  drain(options: DrainOptions = {}): Promise<DrainResult> {
    return drain(this.layer, (path) => this.mountPathOf(path), options);
  }

  /**
   * Tries now the failed and retrying uploads (and folders), or the one at
   * `mountPath` (a path inside the mount), and waits up to `timeoutMs` for
   * each outcome.
   */
  retry(mountPath: string | undefined, timeoutMs: number): Promise<RetryOutcome[]> {
    const layer = this.layer;
    return retryNow(layer, mountPath === undefined ? undefined : layer.remotePathOf(mountPath), { timeoutMs, mountPath: (p) => this.mountPathOf(p) });
  }

  /** Drops the pending upload (or folder) at `mountPath` on purpose; its content is moved aside, never deleted. */
  async discard(mountPath: string): Promise<DiscardResult> {
    const layer = this.layer;
    const result = await layer.discardPending(layer.remotePathOf(mountPath));
    return { ...result, path: this.mountPathOf(result.path) };
  }

  status(): WriteBackStatus {
    const layer = this.attached;
    const all = [...this.files.values()].filter((f) => f.needsUpload || f.attempt);
    const folders = [...this.files.folders()].filter((f) => f.blocks);
    const waitingFor = (path: string): string | null => {
      const folder = this.files.blockingFolder(path);
      return folder ? this.mountPathOf(folder.path) : null;
    };
    const entries = sortEntries([
      ...folders.map((f) => folderEntryOf(f, this.mountPathOf(f.path), waitingFor(f.path))),
      ...all.map((f) => entryOf(f, this.mountPath(f), waitingFor(f.path))),
    ]);
    const listed = entries.slice(0, MAX_LISTED_FILES);
    return {
      pendingUploads: entries.length,
      pendingBytes: all.reduce((n, f) => n + f.size, 0),
      uploading: entries.filter((e) => e.state === 'uploading').length,
      failedUploads: entries.filter((e) => e.state === 'failed').length,
      retryingUploads: entries.filter((e) => e.state === 'retrying').length,
      uploadedFiles: layer?.totals.uploadedFiles ?? 0,
      uploadedBytes: layer?.totals.uploadedBytes ?? 0,
      createdFolders: layer?.totals.createdFolders ?? 0,
      cacheDir: this.options.cacheDir,
      uploadDelayMs: this.options.uploadDelayMs,
      uploadConcurrency: this.options.uploadConcurrency,
      writeSizes: layer?.writeSizes.toJSON() ?? {},
      writes: layer?.writeSizes.totalWrites ?? 0,
      writtenBytes: layer?.totals.writtenBytes ?? 0,
      files: listed,
      filesNotListed: entries.length - listed.length,
      writeProblems: layer?.problemCount ?? 0,
      problems: (layer?.problems ?? []).map((p) => ({ path: this.mountPathOf(p.path), error: p.error, outcome: p.outcome, at: p.at.toISOString() })),
      cacheDisk: cacheDisk(this.options.cacheDir),
      conflictCount: layer?.conflictCount ?? 0,
      conflicts: (layer?.conflicts ?? []).map((c) => ({ path: this.mountPathOf(c.path), copy: c.copy === null ? null : this.mountPathOf(c.copy), reason: c.reason, at: c.at.toISOString() })),
      byState: countByState(entries),
    };
  }

  /** One line for the end of a mount: what stays in the journal, if anything. */
  describeLeftovers(): string | null {
    const left = [...this.files.values()].filter((f) => f.needsUpload);
    const folders = [...this.files.folders()].filter((f) => f.blocks).length;
    if (left.length + folders === 0) return null;
    const bytes = left.reduce((n, f) => n + f.size, 0);
    const what = [left.length ? `${left.length} upload${left.length === 1 ? '' : 's'} (${formatBytes(bytes)})` : '', folders ? `${folders} folder${folders === 1 ? '' : 's'} to create` : ''].filter(Boolean).join(' and ');
    return `${what} left pending in the journal in ${this.options.cacheDir}; mounting again with this cache dir resumes ${left.length + folders === 1 ? 'it' : 'them'}`;
  }

  /**
   * Stops timers and aborts uploads in flight; nothing is lost (the journal
   * keeps every pending upload). Call after unmounting.
   */
  /**
   * No upload starts from now on, and those running are aborted and waited
   * for (one whose `end` is on its way lands: the server completes it
   * anyway); what is left stays in the journal. A forced unmount calls it
   * before it says what it leaves undone, so that the count is true.
   */
  async stopUploads(): Promise<void> {
    if (!this.attached) return;
    this.attached.stopEarlyUploads();
    await this.attached.close();
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    if (this.attached) {
      this.attached.stopEarlyUploads();
      await this.attached.close();
    }
    for (const file of this.files.values()) file.failWaiters(Number.MAX_SAFE_INTEGER, new FsError('EIO', `${file.path}: the mount is closing before the upload finished; it stays in the journal`));
    // Files still open (the kernel sends no release once unmounted) hold descriptors.
    await Promise.all([...this.files.values()].flatMap(stagingFilesOf).map((s) => s.fd.forceClose().catch(() => undefined)));
    await Promise.all([this.staging.close(), this.journal.close()]);
  }

  private mountPath(file: PendingFile): string {
    return this.mountPathOf(file.path);
  }

  private mountPathOf(remotePath: string): string {
    const root = this.attached?.rootPath ?? '';
    const rest = root === '' ? remotePath : remotePath.split('/').slice(root.split('/').length).join('/');
    return '/' + rest;
  }
}

/** Free and total bytes of the filesystem holding the cache dir. */
function cacheDisk(dir: string): CacheDiskStatus | null {
  try {
    const st = statfsSync(dir);
    return { freeBytes: st.bavail * st.bsize, totalBytes: st.blocks * st.bsize };
  } catch {
    return null;
  }
}
