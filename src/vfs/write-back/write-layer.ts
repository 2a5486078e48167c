// The write layer that makes the mount read-write (the WriteLayer of
// src/vfs/writes.ts), and the operations behind the handles it gives out
// (StagingOps). Every content change lands in a private staging file and is
// uploaded in the background; until then the file shows its local size and
// mtime and is read from staging by everyone.
//
// What it owns: opening (a new file, or a remote file staged for writing:
// empty with O_TRUNC, else its bytes fetched), the handles' writes, truncates,
// flushes, fsyncs and closes, and the namespace while files are pending
// (editors save by write-temp-then-rename).
//
// Only closed versions are published (docs/semantics.md, "Writing files"):
//   - close(2) commits the working version (records.ts); uploads send the
//     closed version only, and a newer commit aborts the upload of an older
//     one (the newest uploads after it);
//   - a change below the closed version's size first copies the working
//     content to a staging file of its own, so the closed bytes stay intact
//     until the next commit, whatever happens (a crash, a full disk);
//   - a write or commit that fails damages the working version: flush and
//     fsync report the error, and the last close drops it, so the file is its
//     last closed version again (or, never closed, the server's or nothing).
//
// Namespace while files are pending:
//   - rename of a file that exists only locally retargets it (no server
//     call, no upload of the temporary name); the record is rewritten before
//     rename returns, so a crash cannot resurrect the old name;
//   - rename of a file with a version on the server, or of a folder: the
//     server moves it, then pending files at or below it are retargeted; their
//     uploads are aborted and held during the move (registry.ts), so none
//     lands under the old name afterwards;
//   - a rename onto a pending file replaces it (its upload is cancelled);
//   - unlink cancels: upload aborted, record and staging removed.
//
// Folders are written back too (pending-folder.ts): mkdir makes a pending
// folder, journaled before it returns, created on the server in the
// background and before anything inside it uploads (folder-uploads.ts);
// renaming or removing one that is not on the server yet is local. A server
// move into one first creates it (and the pending folders above it).
//
// When the server answers again after an outage (the client's health), every
// upload and folder waiting to retry goes at once.
// What it delegates: the lifecycle of each file to PendingFile (of each
// folder to PendingFolder), the index and rename holds to the registry, the
// journal to Records, when and how uploads run to Uploads (FolderUploads).
import { constants } from 'node:fs';
import { copyFile, link, stat, truncate } from 'node:fs/promises';
import { join } from 'node:path';
import { ensurePrivateDir } from '../../options/private-dir.js';
import { NotFoundError, type PartialUpload, type RemoteEntry } from '../../client/index.js';
import type { Logger } from '../../log/logger.js';
import { baseName, isSame, joinPath, parentPath } from '../../path/index.js';
import type { FileAttributes } from '../filesystem-api.js';
import type { VfsContext } from '../filesystem.js';
import { FsError } from '../fs-error.js';
import type { FileHandle } from '../handles/file-handle.js';
import { keyOf } from '../path-mapper.js';
import type { WriteLayer } from '../writes.js';
import { fetchInto } from './content-fetch.js';
import { conflictPath, RemoteChangedError } from './conflict.js';
import { crashPoint } from './crash-points.js';
import { EarlyUpload } from './early-upload.js';
import { describeFailure } from './failure-policy.js';
import type { Journal } from './journal.js';
import type { ResolvedWriteBackOptions } from './options.js';
import { FolderUploads } from './folder-uploads.js';
import { baseOf, isBase, PendingFile, type BaseVersion, type StagingFile, type UploadAttempt } from './pending-file.js';
import { PendingFolder } from './pending-folder.js';
import type { PendingFiles } from './registry.js';
import { Records } from './records.js';
import { SharedFd } from './shared-fd.js';
import { StagingArea } from './staging.js';
import { Uploads } from './uploads.js';
import { StagingHandle, type StagingOps } from './write-handle.js';
import { describeState } from './status.js';
import type { MetadataMap } from '../posix/posix-metadata.js';
import { WriteHistogram } from './write-histogram.js';

export interface WriteBackTotals {
  /** Uploads (and mtime updates) the server confirmed since the mount started (not those we cancelled). */
  uploadedFiles: number;
  uploadedBytes: number;
  /** Pending folders the server now has. */
  createdFolders: number;
  /** Bytes written and kept: their version was closed (writes to a version that was dropped do not count). */
  writtenBytes: number;
}

/** A version that could not be kept: a write or a commit failed (a full disk, an I/O error). */
export interface WriteProblem {
  path: string;
  /** The error, e.g. "ENOSPC: no space left on device, write". */
  error: string;
  /** What happened to the file: which version it is now. */
  outcome: string;
  at: Date;
}

/** The base of a file that did not exist on the server. */
const ABSENT: BaseVersion = { exists: false };

/** A local change that met a newer server version (docs/semantics.md, "A shared site"). */
export interface ConflictRecord {
  /** The file's remote path. */
  path: string;
  /** Where the local version went (keep-both), or null when it was dropped (remote-wins, or only a new time). */
  copy: string | null;
  /** What the server had instead. */
  reason: string;
  at: Date;
}

/** What `filesfs discard` dropped. */
export interface DiscardResult {
  /** Remote path (the caller turns it into a path in the mount). */
  path: string;
  kind: 'file' | 'folder';
  /** Bytes of the version that was waiting to upload (0 for a folder). */
  size: number;
  /** The server has a version of the file (it shows again); false: the file is gone from the mount. */
  serverVersion: boolean;
  /** Where its content was moved (inside the cache dir), or null for a folder. */
  keptAt: string | null;
}

/** Where `filesfs discard` moves the content of what it drops, inside the cache dir. */
export const DISCARDED_DIR = 'discarded';

/** Commits at the last close before changes that keep arriving are left for the next one. */
const MAX_COMMIT_ROUNDS = 3;

/** Problems kept for status (the newest); the count covers all. */
const MAX_PROBLEMS = 100;

export class WriteBackLayer implements WriteLayer, StagingOps {
  readonly uploads: Uploads;
  private publishLockSeq = 0;
  /** Files being uploaded while they are written (early-upload.ts). */
  private readonly early = new Map<PendingFile, EarlyUpload>();
  readonly records: Records;
  /** Sizes of every write request this mount received. */
  readonly writeSizes = new WriteHistogram();
  readonly totals: WriteBackTotals = { uploadedFiles: 0, uploadedBytes: 0, createdFolders: 0, writtenBytes: 0 };
  readonly folderUploads: FolderUploads;
  /** Bytes written to a file's working version since its last commit (counted as written once it is kept). */
  private readonly uncommittedBytes = new WeakMap<PendingFile, number>();
  /** Implied folders show the time the mount started. */
  private readonly startedAt: Date;
  private readonly unsubscribeHealth: (() => void) | undefined;
  /** Versions dropped because a write or a commit failed, newest last; and how many in all. */
  readonly problems: WriteProblem[] = [];
  problemCount = 0;
  /** Conflicts met since the mount started, newest last (at most MAX_PROBLEMS kept), and how many in all. */
  readonly conflicts: ConflictRecord[] = [];
  conflictCount = 0;
  /** For a conflict copy whose own upload met something again: the original path and the copy's number. */
  private readonly conflictCopies = new WeakMap<PendingFile, { original: string; n: number }>();
  readonly log: Logger;
  /** Staging copies made (their names' sequence). */
  private copies = 0;
  /** Files whose damaged working version was already logged. */
  private readonly reported = new WeakSet<PendingFile>();

  constructor(
    private readonly ctx: VfsContext,
    readonly files: PendingFiles,
    private readonly staging: StagingArea,
    journal: Journal,
    readonly options: ResolvedWriteBackOptions,
    logger: Logger,
  ) {
    this.log = logger;
    this.records = new Records(journal, staging);
    this.uploads = new Uploads({
      client: ctx.client,
      records: this.records,
      log: logger,
      landed: (file, attempt, entry) => this.landed(file, attempt, entry),
      conflicted: (file, attempt, conflict) => this.conflicted(file, attempt, conflict),
      isConflictCopy: (file) => this.conflictCopies.has(file),
      idle: (file) => this.idle(file),
      blocked: (file) => this.blocked(file),
      ...(ctx.locks && ctx.options.lockOnWrite ? { holdForPublish: (path: string) => this.holdForPublish(path) } : {}),
      partialUpload: (file, attempt) => this.takeEarly(file, attempt),
      uploadsAtOnce: (file) => this.early.get(file)?.active === true,
    }, options);
    this.folderUploads = new FolderUploads({
      client: ctx.client,
      records: this.records,
      registry: files,
      log: logger,
      created: (folder, entry, existed) => this.folderCreated(folder, entry, existed),
      refused: (folder) => {
        const why = new FsError('EIO', `the server refused to create the folder ${folder.path}: ${folder.failure?.message ?? 'refused'}`);
        for (const file of this.files.atOrBelow(folder.path)) file.failWaiters(file.generation, why);
      },
    }, options);
    this.startedAt = new Date(Math.floor(ctx.options.clock() / 1000) * 1000);
    this.unsubscribeHealth = ctx.client.onHealthChange?.((health) => {
      if (health.state === 'reachable') this.serverBack();
    });
  }

  /** Stops uploads and folder creations (what is left stays in the journal). */
  async close(): Promise<void> {
    this.unsubscribeHealth?.();
    await Promise.all([this.uploads.close(), this.folderUploads.close()]);
  }

  /** The server answers again: everything waiting to retry after a transient failure goes now. */
  private serverBack(): void {
    const folders = this.folderUploads.retryNow(this.files.folders());
    const files = this.uploads.retryNow(this.files.values());
    if (folders + files > 0) this.log.info('the server answers again: retrying %d upload%s now', folders + files, folders + files === 1 ? '' : 's');
  }

  /** The remote folder shown as the mount's root ('' = the site root). */
  get rootPath(): string {
    return this.ctx.paths.root;
  }

  /** --lock-on-write: an upload publishes under an exclusive server lock, never over someone else's. */
  private async holdForPublish(path: string): Promise<() => Promise<void>> {
    const locks = this.ctx.locks!;
    const owner = `u:${++this.publishLockSeq}`;
    try {
      await locks.set(path, { owner, pid: 0, type: 'write', start: 0, end: Infinity, wait: false });
    } catch (err) {
      if (err instanceof FsError && err.code === 'EAGAIN') throw new FsError('EBUSY', `${path}: locked by another client; the upload waits until the lock is gone (${err.message})`);
      throw err;
    }
    return () => locks.releaseOwner(path, owner);
  }

  /** A new file (or one truncated at open) written from its first byte may upload while it is written. */
  private startEarly(file: PendingFile): void {
    const client = this.ctx.client;
    if (!client.beginPartialUpload || this.early.has(file) || file.closedVersion !== null || file.size !== 0 || file.removed) return;
    const begin = client.beginPartialUpload.bind(client);
    // Inside a pending folder, the folder is created first (now), and only then the upload begun.
    const beginAfterFolders: typeof begin = async (path, staging, options) => {
      await this.publishFolders(parentPath(path));
      return begin(path, staging, options);
    };
    this.early.set(file, new EarlyUpload({ beginPartialUpload: beginAfterFolders }, file.path, file.working.path, this.log));
  }

  /** The early upload an attempt may finish (once; undefined: upload the ordinary way). */
  private takeEarly(file: PendingFile, attempt: UploadAttempt): Promise<PartialUpload | undefined> {
    const early = this.early.get(file);
    if (!early || attempt.kind !== 'content') return Promise.resolve(undefined);
    this.early.delete(file);
    return early.take(attempt.path, attempt.stagingPath);
  }

  private stopEarly(file: PendingFile, reason: string): void {
    this.early.get(file)?.abandon(reason);
    this.early.delete(file);
  }

  /** Every early upload stops (the mount is closing). */
  stopEarlyUploads(): void {
    for (const file of [...this.early.keys()]) this.stopEarly(file, 'the mount is closing');
  }

  // ---- lookup overlay ---------------------------------------------------------------

  localEntry(remotePath: string): RemoteEntry | undefined {
    const file = this.files.get(remotePath);
    if (file) return file.entry();
    // A landed folder is the server's now (its entry is cached): only its record is left to remove.
    const folder = this.files.getFolder(remotePath);
    return folder && !folder.landed ? folder.entry() : undefined;
  }

  localChildren(dirPath: string): readonly RemoteEntry[] {
    const files = this.files.childrenOf(dirPath);
    const folders = this.pendingFoldersIn(dirPath);
    if (folders.length === 0) return files.map((f) => f.entry());
    return [...folders.map((f) => f.entry()), ...files.map((f) => f.entry())];
  }

  localFoldersIn(dirPath: string): readonly RemoteEntry[] {
    return this.pendingFoldersIn(dirPath).map((f) => f.entry());
  }

  /** The folders made here directly inside a folder that the server does not have yet. */
  private pendingFoldersIn(dirPath: string): PendingFolder[] {
    return this.files.foldersIn(dirPath).filter((f) => !f.landed);
  }

  unpublishedFolder(dirPath: string): boolean {
    return this.files.getFolder(dirPath)?.blocks === true;
  }

  impliedFolder(path: string): RemoteEntry | undefined {
    const spelled = this.files.pendingBelow(path);
    return spelled === undefined ? undefined : this.impliedEntry(spelled);
  }

  impliedChildren(dirPath: string): readonly RemoteEntry[] {
    return this.files.foldersWithPendingIn(dirPath).map((p) => this.impliedEntry(p));
  }

  private impliedEntry(path: string): RemoteEntry {
    return { path, name: baseName(path), type: 'directory', size: 0, mtime: this.startedAt, serverMtime: null, providedMtime: null, createdAt: null, md5: null, crc32: null, permissions: null };
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
    if (truncate && !existing) this.startEarly(file);
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

  async create(remotePath: string, existing: RemoteEntry | null, _mode: number, flags: number, metadata?: MetadataMap): Promise<FileHandle> {
    if (existing) return this.openWrite(existing, flags);
    const raced = this.files.get(remotePath);
    if (raced) {
      if (flags & constants.O_EXCL) throw new FsError('EEXIST', `${remotePath}: already exists`);
      return this.openWrite(raced.entry(), flags);
    }
    // A new file's metadata is all it has: {} when it has none, so an upload over a stray server file clears that one's.
    const file = this.newFile(remotePath, { onServer: false, generation: 1, landed: -1, size: 0, mtime: this.now(), metadata: metadata ?? {}, createdAt: this.now(), base: ABSENT }, 'create');
    const handle = await this.openHandle(file, flags, true);
    this.startEarly(file);
    return handle;
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

  async mkdir(remotePath: string, metadata?: MetadataMap): Promise<RemoteEntry> {
    if (this.files.get(remotePath) || this.files.getFolder(remotePath)) throw new FsError('EEXIST', `${remotePath}: already exists`);
    const folder = new PendingFolder({ id: StagingArea.newId(), path: remotePath, mtime: this.now(), timeSet: false, ...(metadata ? { metadata } : {}), phase: 'delayed', journaled: false });
    this.files.addFolder(folder);
    try {
      await this.records.folder(folder);
    } catch (err) {
      this.files.deleteFolder(folder);
      folder.remove('its journal record could not be written');
      throw err;
    }
    this.folderUploads.after(folder);
    return folder.entry();
  }

  async rmdir(entry: RemoteEntry): Promise<boolean> {
    const folder = this.files.getFolder(entry.path);
    if (!folder || !folder.blocks) return false;
    folder.hold();
    try {
      await this.folderUploads.abort(folder, 'the folder was removed');
      if (folder.landed) return false; // its creation landed while it was aborted: the server has it
      if (this.files.childrenOf(folder.path).length > 0 || this.files.foldersIn(folder.path).length > 0) throw new FsError('ENOTEMPTY', `${folder.path}: folder not empty`);
      this.files.deleteFolder(folder);
      folder.remove('removed');
      await this.records.folderGone(folder);
      return true;
    } finally {
      folder.unhold();
      this.folderUploads.after(folder);
    }
  }

  async unlink(entry: RemoteEntry): Promise<boolean> {
    const file = await this.readyFile(entry.path);
    if (!file) return false;
    if (!file.onServer) await this.removeReplaced(file.path, file.base);
    await this.hold([file], 'the file was deleted');
    try {
      await this.discard(file, 'deleted');
    } finally {
      this.releaseHeld([file]);
    }
    return !file.onServer;
  }

  async rename(from: RemoteEntry, to: string, replacing: RemoteEntry | null): Promise<boolean> {
    if (from.type === 'directory') return this.renameFolder(from, to);
    const file = await this.readyFile(from.path);
    const target = this.files.get(to);
    const replaced = target && target !== file ? target : undefined;
    const held = [file, replaced].filter((f): f is PendingFile => f !== undefined);
    if (!file || file.onServer) await this.publishFolders(parentPath(to));
    await this.hold(held, 'renamed');
    if (!file || file.onServer) {
      // The server moves the file; renamed() (or renameFailed()) retargets and releases.
      this.files.rememberHold(from.path, to, held);
      return false;
    }
    try {
      // A server version this file replaces at its old name (it was renamed over it here) goes with the name.
      if (keyOf(to) !== file.key) await this.removeReplaced(file.path, file.base);
      // Crash-safe order: the moved file's record names the target before the
      // replaced file's record goes (after a crash in between, two records
      // name the target and the newer one, the moved file's, wins).
      // The server version the file now replaces at `to` (its own, for a change of case only).
      const base = keyOf(to) === file.key ? undefined : replaced ? replaced.base ?? undefined : replacing ? baseOf(replacing) : ABSENT;
      if (replaced) await this.forget(replaced, `replaced by ${file.path}`);
      this.files.move(file, to, base);
      crashPoint('rename-moved');
      await this.records.rewrite(file);
      crashPoint('rename-recorded');
      if (replaced) await this.erase(replaced);
    } finally {
      this.releaseHeld(held);
    }
    return true;
  }

  /**
   * A folder: one that is not on the server yet moves here, with everything
   * pending below it (nothing below it is on the server either), and the
   * server is not asked; otherwise the server moves it, and what is pending
   * below it is held until then.
   */
  private async renameFolder(from: RemoteEntry, to: string): Promise<boolean> {
    const folder = this.files.getFolder(from.path);
    const below = [...new Set([...this.files.atOrBelow(from.path), ...this.files.atOrBelow(to)])];
    const folders = [...new Set([...this.files.foldersAtOrBelow(from.path), ...this.files.foldersAtOrBelow(to)])];
    if (!folder?.blocks) await this.publishFolders(parentPath(to));
    await this.hold(below, 'renamed');
    for (const f of folders) f.hold();
    await Promise.all(folders.map((f) => this.folderUploads.abort(f, 'renamed')));
    if (!folder?.blocks) {
      this.files.rememberHold(from.path, to, [...below, ...folders]);
      return false;
    }
    try {
      // Everything below a folder that is not on the server is pending too: all of it moves here.
      // What a pending folder at the target held (it is empty: rename checked) is replaced.
      const replaced = this.files.getFolder(to);
      if (replaced && replaced !== folder) {
        this.files.deleteFolder(replaced);
        replaced.remove(`replaced by ${from.path}`);
        await this.records.folderGone(replaced);
      }
      await this.retargetBelow(from.path, to);
      return true;
    } finally {
      this.releaseHeld([...below, ...folders]);
    }
  }

  /** Pending files and folders at or below `from` now live below `to` (records rewritten, folders last). */
  private async retargetBelow(from: string, to: string): Promise<PendingFile[]> {
    const depth = from.split('/').length;
    const moved = (path: string): string => {
      const rest = path.split('/').slice(depth);
      return rest.length ? joinPath(to, rest.join('/')) : to;
    };
    const moving = this.files.atOrBelow(from);
    // Outermost first, so a folder never lands below one that has not moved yet.
    const folders = this.files.foldersAtOrBelow(from).sort((a, b) => a.path.length - b.path.length);
    for (const file of moving) {
      this.files.move(file, moved(file.path));
      await this.records.rewrite(file);
    }
    for (const folder of folders) {
      this.files.moveFolder(folder, moved(folder.path));
      await this.records.folder(folder);
    }
    return moving;
  }

  /**
   * Before a server move into `dirPath`: the pending folders at or above it
   * are created now, and this waits until the server has them (EIO when
   * it refuses one, or after fsyncTimeoutMs).
   */
  private async publishFolders(dirPath: string): Promise<void> {
    const waiting: PendingFolder[] = [];
    for (let up: PendingFolder | undefined = this.files.getFolder(dirPath); up; up = this.files.blockingFolder(up.path)) if (up.blocks) waiting.push(up);
    if (waiting.length === 0) return;
    this.folderUploads.now(waiting[0]!);
    const seconds = Math.round(this.options.fsyncTimeoutMs / 1000);
    try {
      await Promise.all(waiting.map((f) => f.waitForLanding(this.options.fsyncTimeoutMs, () => new Error(`not created on the server after ${seconds} s${f.failure ? ` (last error: ${f.failure.message})` : ''}`))));
    } catch (err) {
      throw new FsError('EIO', `${dirPath}: the folder must be on the server first, and it is not: ${(err as Error).message}`);
    }
  }

  /**
   * A file not uploaded yet that replaces a server version at `path` (a file
   * renamed over it here, whose upload would have replaced it) leaves that
   * name: the server's version must go too, or it would show again. Deleted
   * only while it is still that version; a version someone else made since
   * is theirs, and stays (logged).
   */
  private async removeReplaced(path: string, base: BaseVersion | null): Promise<void> {
    if (!base?.exists) return;
    let now: RemoteEntry;
    try {
      now = await this.ctx.client.stat(path);
    } catch (err) {
      if (err instanceof NotFoundError) return;
      throw err;
    }
    if (this.options.onConflict !== 'local-wins' && !isBase(now, base)) {
      this.log.warn('%s changed on the server since this mount replaced it here; the server\'s version stays', path);
      return;
    }
    try {
      await this.ctx.client.delete(path);
    } catch (err) {
      if (!(err instanceof NotFoundError)) throw err;
    }
  }

  pendingVersion(remotePath: string): object | undefined {
    return this.files.get(remotePath);
  }

  async replacedElsewhere(to: string, replacing: RemoteEntry): Promise<string | null | undefined> {
    // A version pending here is this mount's to replace; local-wins never checks.
    if (this.options.onConflict === 'local-wins' || this.files.get(to)) return undefined;
    let now: RemoteEntry;
    try {
      now = await this.ctx.client.stat(to);
    } catch (err) {
      if (err instanceof NotFoundError) return undefined;
      throw err;
    }
    if (isBase(now, baseOf(replacing))) return undefined;
    const conflict = new RemoteChangedError(to, now);
    if (this.options.onConflict !== 'keep-both') {
      this.recordConflict(to, null, conflict.message);
      this.log.warn('%s changed on the server since this mount showed it (%s); the file renamed over it here is dropped (--on-conflict remote-wins)', to, conflict.message);
      return null;
    }
    const copy = await this.freeConflictPath(to);
    this.recordConflict(to, copy, conflict.message);
    this.log.warn('%s changed on the server since this mount showed it (%s); both are kept: the server\'s at %s, the file renamed over it here moved to %s', to, conflict.message, to, copy);
    return copy;
  }

  /** A conflict copy name beside `path` that nothing here or on the server has (another mount may have made one in the same second). */
  private async freeConflictPath(path: string): Promise<string> {
    const when = this.now();
    for (let n = 1; ; n++) {
      const copy = conflictPath(path, when, this.options.hostName, n);
      if (this.files.get(copy)) continue;
      try {
        await this.ctx.client.stat(copy);
      } catch (err) {
        if (err instanceof NotFoundError) return copy;
        throw err;
      }
    }
  }

  private recordConflict(path: string, copy: string | null, reason: string): void {
    this.conflictCount++;
    this.conflicts.push({ path, copy, reason, at: new Date() });
    if (this.conflicts.length > MAX_PROBLEMS) this.conflicts.shift();
  }

  async renamed(from: string, to: string): Promise<void> {
    const held = this.files.takeHold(from, to);
    try {
      const fromKey = keyOf(from);
      const movingSet = new Set(this.files.atOrBelow(from));
      // What was at the target was replaced by the move (POSIX rename). As in
      // rename(): the moved records name their new paths before the replaced
      // ones go.
      const replaced = keyOf(to) === fromKey ? [] : this.files.atOrBelow(to).filter((f) => !movingSet.has(f));
      for (const file of replaced) await this.forget(file, `replaced by ${from}`);
      const moving = await this.retargetBelow(from, to);
      for (const file of replaced) await this.erase(file);
      // The server's versions moved with them: their bases are what the server shows now.
      await Promise.all(moving.filter((f) => f.base?.exists).map((f) => this.rebase(f)));
    } finally {
      this.releaseHeld(held);
    }
  }

  renameFailed(from: string, to: string): void {
    this.releaseHeld(this.files.takeHold(from, to));
  }

  async setMtime(entry: RemoteEntry, mtime: Date): Promise<boolean> {
    if (entry.type === 'directory') return this.changePendingFolder(entry.path, 'its time changed', (folder) => folder.retimed(mtime));
    const file = await this.readyFile(entry.path);
    if (!file) return false;
    file.changedMtime(mtime);
    if (file.writers === 0) {
      await this.commit(file);
      this.uploads.schedule(file);
    }
    return true;
  }

  /**
   * A change a pending folder's creation carries (its time, its metadata):
   * an attempt in flight is aborted first, and the record rewritten. False
   * when the folder is on the server already (the caller changes it there).
   */
  private async changePendingFolder(path: string, why: string, change: (folder: PendingFolder) => void): Promise<boolean> {
    const folder = this.files.getFolder(path);
    if (!folder?.blocks) return false;
    folder.hold();
    try {
      await this.folderUploads.abort(folder, why);
      if (!folder.blocks) return false;
      change(folder);
      await this.records.folder(folder);
      return true;
    } finally {
      folder.unhold();
      this.folderUploads.after(folder);
    }
  }

  async setMetadata(entry: RemoteEntry, metadata: MetadataMap): Promise<boolean> {
    // A pending folder's metadata travels with its creation.
    if (entry.type === 'directory') return this.changePendingFolder(entry.path, 'its metadata changed', (folder) => folder.changedMetadata(metadata));
    const file = await this.readyFile(entry.path);
    if (!file) return false;
    file.changedMetadata(metadata);
    if (file.writers === 0) {
      await this.commit(file);
      this.uploads.schedule(file);
    }
    return true;
  }

  uploadState(remotePath: string): string | undefined {
    const file = this.files.get(remotePath);
    return file && file.hasChanges ? describeState(file) : undefined;
  }

  // ---- handles (StagingOps) ---------------------------------------------------------

  attributes(file: PendingFile): FileAttributes {
    return this.ctx.attributes(file.entry());
  }

  write(handle: StagingHandle, buffer: Buffer, position: number): Promise<number> {
    const file = handle.file;
    return file.mutations.run(async () => {
      const at = handle.append ? file.size : position;
      await this.changing(file, at);
      try {
        // The kernel's buffer is only valid until this promise settles: written, not kept.
        const { bytesWritten } = await (await handle.current()).write(buffer, 0, buffer.length, at);
        crashPoint('write');
        file.changedContent(Math.max(file.size, at + bytesWritten), this.now());
        this.early.get(file)?.wrote(at, at + bytesWritten);
        handle.writeSizes.record(bytesWritten);
        this.writeSizes.record(bytesWritten);
        this.uncommittedBytes.set(file, (this.uncommittedBytes.get(file) ?? 0) + bytesWritten);
        return bytesWritten;
      } catch (err) {
        file.damaged(err as Error);
        throw err;
      }
    });
  }

  async resize(handle: StagingHandle, size: number): Promise<void> {
    // Not open for writing (the kernel normally refuses ftruncate then): as truncate by path.
    if (!handle.writable) return this.truncate(handle.file.entry(), size);
    const file = handle.file;
    await file.mutations.run(async () => {
      await this.changing(file, Math.min(size, file.size), size);
      try {
        // Sparse: extending writes no zeros.
        await (await handle.current()).truncate(size);
        file.changedContent(size, this.now());
        this.early.get(file)?.resized(size);
      } catch (err) {
        file.damaged(err as Error);
        throw err;
      }
    });
  }

  async flush(handle: StagingHandle): Promise<void> {
    await this.commit(handle.file);
  }

  async fsync(handle: StagingHandle): Promise<void> {
    const file = handle.file;
    if (file.removed) {
      await (await handle.current()).datasync();
      return;
    }
    await this.commit(file);
    const closed = file.closedVersion;
    if (closed) await this.waitForServer(file, closed.generation);
  }

  async release(handle: StagingHandle): Promise<void> {
    const file = handle.file;
    const lastWriter = file.closed(handle.writable);
    let failed = false;
    try {
      if (handle.writeSizes.totalWrites > 0 && this.log.enabled('debug')) {
        this.log.debug('closed %s: %d bytes in %d writes (sizes %s)', file.path, handle.writeSizes.totalBytes, handle.writeSizes.totalWrites, handle.writeSizes.describe());
      }
      // Changes after the last flush (a write through mmap, or a dup'd descriptor),
      // and a change that came while committing (the kernel sends release after
      // close(2) has returned: a chmod or utimens right after close races it).
      for (let round = 0; round < MAX_COMMIT_ROUNDS && lastWriter && file.needsCommit && !file.removed; round++) await this.commit(file);
    } catch {
      // The version is damaged (commit() says why once): the rollback below drops it.
      failed = true;
    } finally {
      await handle.releaseDescriptor().catch((err: unknown) => this.log.warn('%s: closing its staging file failed: %s', file.path, describeFailure(err)));
      // (A change still arriving now, with no writer left, commits itself: setMtime, setMetadata.)
      if (lastWriter && failed && file.needsCommit && !file.removed) await this.dropWorking(file);
      // The last close starts the upload delay again; any close may leave the file idle.
      if (lastWriter) this.uploads.schedule(file);
      else this.uploads.after(file);
    }
  }

  // ---- for filesfs retry and discard ---------------------------------------------------

  /** The remote path of a path inside the mount ("/dir/a.txt"). */
  remotePathOf(mountPath: string): string {
    const rest = mountPath.split('/').filter(Boolean).join('/');
    return this.ctx.paths.root === '' ? rest : rest === '' ? this.ctx.paths.root : joinPath(this.ctx.paths.root, rest);
  }

  /**
   * Drops the pending upload of the file at `path` on purpose (or a pending
   * folder with nothing pending inside it). The closed version's bytes are
   * first linked (or copied) to <cache dir>/discarded/, then its record and
   * staging files go: a crash in between leaves it pending, never lost. The
   * mount then shows the server's version again, if there is one.
   */
  async discardPending(path: string): Promise<DiscardResult> {
    const folder = this.files.getFolder(path);
    if (folder?.blocks) return this.discardFolder(folder);
    const file = await this.readyFile(path);
    if (!file || (!file.needsUpload && !file.attempt)) throw new FsError('ENOENT', `${path}: nothing is waiting to upload there`);
    if (file.writers > 0) throw new FsError('EBUSY', `${path}: it is open for writing; close it first`);
    await this.hold([file], 'discarded');
    try {
      const closed = file.closedVersion;
      if (!file.needsUpload || !closed) throw new FsError('ENOENT', `${path}: it was uploaded meanwhile; nothing to discard`);
      const keptAt = await this.keepAside(file, closed);
      await this.forget(file, 'discarded');
      await this.erase(file);
      this.ctx.lookup.invalidate(path);
      this.ctx.contents.removed(path);
      this.log.warn('%s: its pending upload (%d bytes) was discarded on request; the content is kept at %s', path, closed.size, keptAt);
      return { path, kind: 'file', size: closed.size, serverVersion: file.onServer, keptAt };
    } finally {
      this.releaseHeld([file]);
    }
  }

  private async discardFolder(folder: PendingFolder): Promise<DiscardResult> {
    const inside = this.files.atOrBelow(folder.path).length + this.files.foldersAtOrBelow(folder.path).length - 1;
    if (inside > 0) throw new FsError('ENOTEMPTY', `${folder.path}: ${inside} pending ${inside === 1 ? 'entry waits' : 'entries wait'} inside it; discard ${inside === 1 ? 'it' : 'them'} first`);
    if (!(await this.rmdir(folder.entry()))) throw new FsError('ENOENT', `${folder.path}: it was created on the server meanwhile; nothing to discard`);
    this.ctx.lookup.appliedRemoval(folder.path);
    this.log.warn('%s: its pending creation was discarded on request', folder.path);
    return { path: folder.path, kind: 'folder', size: 0, serverVersion: false, keptAt: null };
  }

  /** A link to (or a copy of) the closed version's bytes in the discarded dir; its path. */
  private async keepAside(file: PendingFile, closed: NonNullable<PendingFile['closedVersion']>): Promise<string> {
    const dir = join(this.options.cacheDir, DISCARDED_DIR);
    await ensurePrivateDir(dir);
    const stamp = new Date().toISOString().replace(/[-:]/g, '').replace(/\..*$/, '');
    const target = join(dir, `${stamp}-${file.id}-${baseName(file.path)}`);
    try {
      await link(closed.staging.path, target);
    } catch {
      await copyFile(closed.staging.path, target);
    }
    // The staging file may hold bytes past the closed version (appended, never closed).
    if ((await stat(target)).size > closed.size) await truncate(target, closed.size);
    return target;
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
    // fsync tries again what the file waits for too: a pending folder above it, even one that failed.
    const folder = this.files.blockingFolder(file.path);
    if (folder) this.folderUploads.now(folder);
    this.uploads.now(file);
    return waiting;
  }

  /**
   * Commits the file's working version (close, fsync, utimens, a drain); a
   * newer closed content aborts the upload of an older one, and the staging
   * file of a replaced closed version goes once no upload reads it. A failure
   * is logged once and recorded for status; the caller gets it.
   */
  async commit(file: PendingFile): Promise<void> {
    let replaced: StagingFile | null;
    try {
      replaced = await this.records.commit(file);
    } catch (err) {
      if (err === file.damage && !this.reported.has(file)) {
        this.reported.add(file);
        this.log.error('%s: %s; this version is not kept (the file stays as it was last closed), and %s', file.path, describeFailure(err), this.dropOutcome(file));
      }
      throw err;
    }
    // What was written to this version is kept now.
    this.totals.writtenBytes += this.uncommittedBytes.get(file) ?? 0;
    this.uncommittedBytes.delete(file);
    const closed = file.closedVersion;
    const attempt = file.attempt;
    // Bytes newer than those in flight make that upload obsolete (a new time alone follows it).
    if (closed && attempt && attempt.contentGeneration < closed.contentGeneration) await this.uploads.abort(file, 'a newer version was closed');
    if (replaced) await this.removeStaging(replaced);
  }

  /**
   * Before a change of the working version from byte `offset` on (to `size`
   * bytes, for a truncate): when that would alter the closed version's bytes
   * in place, the working content first moves to a copy of its own (the
   * caller holds `mutations`).
   */
  private async changing(file: PendingFile, offset: number, size?: number): Promise<void> {
    if (file.damage) throw file.damage;
    if (file.removed || !file.mustCopyBeforeChangeAt(offset)) return;
    const from = file.working;
    const bytes = size === undefined ? file.size : Math.min(size, file.size);
    const name = this.staging.nameFor(file.id, ++this.copies);
    let handle;
    try {
      handle = await this.staging.copy(from.path, name, bytes);
    } catch (err) {
      file.damaged(err as Error);
      throw err;
    }
    const fd = new SharedFd(() => this.staging.openExisting(name));
    fd.adopt(handle);
    crashPoint('copy');
    file.copied({ name, path: this.staging.pathOf(name), fd });
    // Nobody holds the new descriptor yet: handles move to it at their next operation.
    void fd.closeIfUnused().catch(() => undefined);
  }

  /**
   * The last writer closed a working version that could not be committed: it
   * is dropped. The file goes back to its closed version, or, never closed,
   * leaves the pending set (the server's version shows again, if there is one).
   */
  private async dropWorking(file: PendingFile): Promise<void> {
    const reason = file.damage ? describeFailure(file.damage) : 'its changes could not be recorded';
    const outcome = this.dropOutcome(file);
    // Its writes were not kept: they do not count as written.
    this.uncommittedBytes.delete(file);
    this.problemCount++;
    this.problems.push({ path: file.path, error: reason, outcome, at: new Date() });
    if (this.problems.length > MAX_PROBLEMS) this.problems.shift();
    this.reported.delete(file);
    this.log.warn('%s: the changes since it was last closed are dropped (%s): %s', file.path, reason, outcome);
    const closed = file.closedVersion;
    if (!closed) {
      await this.discard(file, 'its only version could not be kept');
      return;
    }
    await file.mutations.run(async () => {
      const dropped = file.rolledBack();
      if (dropped) await this.removeStaging(dropped);
      else await closed.staging.fd.with((fd) => fd.truncate(closed.size));
    });
  }

  private dropOutcome(file: PendingFile): string {
    if (file.closedVersion) return 'it keeps the version last closed';
    return file.onServer ? 'the server\'s version stays' : 'it is not created';
  }

  /** After a move on the server: the moved file's base is what the server shows at its new path. */
  private async rebase(file: PendingFile): Promise<void> {
    try {
      const entry = await this.ctx.client.stat(file.path);
      if (entry.type === 'file') file.rebased(baseOf(entry));
    } catch (err) {
      this.log.debug('%s: moved, but its new entry could not be read (%s); its next upload checks against the old one', file.path, describeFailure(err));
    }
  }

  /** Deletes a staging file nothing refers to any more (open descriptors keep working). */
  private async removeStaging(staging: StagingFile): Promise<void> {
    await this.staging.remove(staging.name).catch((err: unknown) => this.log.warn('could not delete staging file %s: %s', staging.path, describeFailure(err)));
  }

  // ---- what the uploads report ---------------------------------------------------------

  /**
   * An upload found the server's file changed by someone else (nothing was
   * published). keep-both: the local version moves to a conflict copy beside
   * it and uploads there at once; remote-wins, or a change that was only a
   * new time: the local change is dropped. Either way the server's version
   * shows again at the path, and the log and status say what happened.
   */
  private async conflicted(file: PendingFile, attempt: UploadAttempt, conflict: RemoteChangedError): Promise<void> {
    const path = file.path;
    const earlier = this.conflictCopies.get(file);
    const original = earlier?.original ?? path;
    const keep = this.options.onConflict === 'keep-both' && attempt.kind === 'content';
    let copy: string | null = null;
    if (keep) {
      let n = earlier ? earlier.n + 1 : 1;
      const when = this.now();
      while (this.files.get(conflictPath(original, when, this.options.hostName, n))) n++;
      copy = conflictPath(original, when, this.options.hostName, n);
      this.conflictCopies.set(file, { original, n });
      this.files.move(file, copy, ABSENT);
      await this.records.rewrite(file);
      this.log.warn('%s changed on the server since this mount\'s version began (%s); both are kept: the server\'s at %s, this mount\'s uploaded as %s', original, conflict.message, conflict.serverPath, copy);
    } else {
      await this.discard(file, 'the server has a newer version');
      this.log.warn('%s changed on the server since this mount\'s version began (%s); %s', path, conflict.message, attempt.kind === 'mtime' ? 'the new time set here is dropped' : 'this mount\'s version is dropped (--on-conflict remote-wins)');
    }
    this.recordConflict(original, copy, conflict.message);
    // The server's version shows at the path again.
    this.ctx.lookup.invalidate(path);
    if (keep) this.uploads.now(file);
  }

  private landed(file: PendingFile, attempt: UploadAttempt, entry: RemoteEntry): void {
    // An attempt we cancelled (a delete, a rename) that completed anyway is not an upload anybody wanted.
    if (attempt.controller.signal.aborted) {
      this.log.debug('upload of %s completed although it was cancelled (%s)', attempt.path, describeFailure(attempt.controller.signal.reason));
    } else {
      this.totals.uploadedFiles++;
      if (attempt.kind === 'content') this.totals.uploadedBytes += attempt.size;
    }
    if (!isSame(entry.path, attempt.path)) this.storedElsewhere(file, attempt, entry);
    this.ctx.remoteChanged(entry, attempt.kind === 'content');
  }

  /**
   * The server stored the upload under another name (a folder behaviour that
   * renames uploads: a timestamp appended, a name shortened). The mount shows
   * the final name from now on, and the log says so.
   */
  private storedElsewhere(file: PendingFile, attempt: UploadAttempt, entry: RemoteEntry): void {
    this.log.info('the server stored %s as %s (a folder setting renames uploads there); the mount shows it under that name', attempt.path, entry.path);
    if (!file.removed && isSame(file.path, attempt.path) && !this.files.get(entry.path)) {
      this.files.move(file, entry.path, baseOf(entry));
      void this.records.rewrite(file).catch((err: unknown) => this.log.warn('%s: its journal record could not name %s: %s', attempt.path, entry.path, describeFailure(err)));
    }
    this.ctx.lookup.invalidate(attempt.path);
  }

  /** The file waits for a pending folder above it; when the file must go now, so must that folder. */
  private blocked(file: PendingFile): boolean {
    const folder = this.files.blockingFolder(file.path);
    if (!folder) return false;
    if (file.forced || file.hasWaiters || this.uploads.isDraining) this.folderUploads.now(folder, { retryFailed: false });
    return true;
  }

  /**
   * The server has a pending folder now: caches show the server's entry (a
   * folder that was there already may hold what others put there: its
   * listing is asked again), its record goes, and what waited below it goes.
   */
  private folderCreated(folder: PendingFolder, entry: RemoteEntry, existed: boolean): void {
    this.totals.createdFolders++;
    if (existed) this.ctx.lookup.appliedExistingFolder(entry);
    else {
      this.ctx.lookup.appliedEntry(entry);
      this.ctx.lookup.appliedNewFolder(entry.path);
      // Made with the server's clock: it keeps showing the time of its mkdir (a time set by utimens went with it).
      if (!folder.timeSet) this.ctx.times.folderMade(entry.path, folder.mtime, entry.mtime);
    }
    void this.records.folderGone(folder)
      .catch((err: unknown) => this.log.warn('folder %s: its journal record could not be removed (%s); the next mount finds the folder there', folder.path, describeFailure(err)))
      .finally(() => {
        if (folder.landed && this.files.getFolder(folder.path) === folder) this.files.deleteFolder(folder);
      });
    for (const below of this.files.foldersAtOrBelow(folder.path)) if (below !== folder) this.folderUploads.after(below);
    for (const file of this.files.atOrBelow(folder.path)) this.uploads.after(file);
  }

  /** Nothing to upload and nobody uses the file: it leaves the pending set, and its staging files go. */
  private idle(file: PendingFile): void {
    if (!file.idle || !this.files.delete(file)) return;
    this.stopEarly(file, 'uploaded');
    file.remove('uploaded');
    for (const staging of stagingFilesOf(file)) void this.removeStaging(staging);
  }

  // ---- helpers ---------------------------------------------------------------------------

  private now(): Date {
    return new Date(this.ctx.options.clock());
  }

  /** A new pending file, indexed at once (concurrent opens find it); `ready` once staged. */
  private newFile(
    path: string,
    init: { onServer: boolean; generation: number; landed: number; size: number; mtime: Date; metadata: MetadataMap | null; createdAt: Date | null; base: BaseVersion },
    stage: 'create' | { fetch: string },
  ): PendingFile {
    const id = StagingArea.newId();
    const stagingName = this.staging.nameFor(id);
    const fd = new SharedFd(() => this.staging.openExisting(stagingName));
    const staging = { name: stagingName, path: this.staging.pathOf(stagingName), fd };
    const staged = (async (): Promise<number | undefined> => {
      fd.adopt(await this.staging.create(stagingName));
      return stage === 'create' ? undefined : fd.with((handle) => fetchInto(this.ctx.client, stage.fetch, handle));
    })();
    let file!: PendingFile;
    const ready = staged.then((size) => {
      file.staged(size);
      this.uploads.after(file);
    });
    file = new PendingFile({ id, path, staging, journaled: -1, phase: 'staging', ready, ...init });
    ready.catch(async (err: unknown) => {
      // Never pending: forget it (the opener reports the error).
      this.log.debug('staging %s failed: %s', path, describeFailure(err));
      this.stopEarly(file, 'its staging failed');
      file.remove('its staging failed');
      this.files.delete(file);
      await fd.closeIfUnused().catch(() => undefined);
      await this.staging.remove(stagingName).catch(() => undefined);
    });
    this.files.add(file);
    return file;
  }

  /** An existing remote file staged for writing: empty with O_TRUNC, else its content fetched. */
  private stageRemote(entry: RemoteEntry, truncate: boolean): PendingFile {
    // Its metadata stays what the server has; it is set again after the upload only if the server dropped it.
    const common = { onServer: true, size: truncate ? 0 : entry.size, metadata: entry.customMetadata ?? null, createdAt: entry.createdAt, base: baseOf(entry) };
    // Truncated: generation 1 differs from what the server has (0); fetched: the same.
    return truncate
      ? this.newFile(entry.path, { ...common, generation: 1, landed: 0, mtime: this.now() }, 'create')
      : this.newFile(entry.path, { ...common, generation: 0, landed: 0, mtime: entry.mtime }, { fetch: entry.path });
  }

  /** Counts the handle on the file at once (so it is not dropped meanwhile), then waits until it is staged. */
  private async openHandle(file: PendingFile, flags: number, writable: boolean): Promise<StagingHandle> {
    file.opened(writable);
    if (writable) this.uploads.reopened(file);
    try {
      await file.ready;
      const source = file.working.fd;
      const fd = await source.acquire();
      return new StagingHandle(this, file, source, fd, writable, writable && (flags & constants.O_APPEND) !== 0);
    } catch (err) {
      file.closed(writable);
      this.uploads.after(file);
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
    await this.forget(file, why);
    await this.erase(file);
  }

  /** The first half of discard: the file leaves the pending set and its upload stops (nothing on disk changes). */
  private async forget(file: PendingFile, why: string): Promise<void> {
    this.files.delete(file);
    this.stopEarly(file, why);
    file.remove(why);
    await this.uploads.abort(file, why);
    this.uploads.after(file);
    this.log.debug('%s: pending upload cancelled (%s)', file.path, why);
  }

  /** The second half: its record, then its staging files, go. */
  private async erase(file: PendingFile): Promise<void> {
    await this.records.discard(file);
    for (const staging of stagingFilesOf(file)) await this.staging.remove(staging.name);
  }

  /** Holds files (no upload starts) and aborts their uploads in flight. */
  private async hold(files: PendingFile[], why: string): Promise<void> {
    for (const file of files) file.hold();
    await Promise.all(files.map((f) => this.uploads.abort(f, why)));
  }

  /** Ends a hold: each file or folder takes its next step. */
  private releaseHeld(entries: Array<PendingFile | PendingFolder>): void {
    for (const entry of entries) {
      entry.unhold();
      if (entry instanceof PendingFolder) this.folderUploads.after(entry);
      else this.uploads.after(entry);
    }
  }
}

/** The staging files a pending file uses: its working version's and, when it differs, its closed version's. */
export function stagingFilesOf(file: PendingFile): StagingFile[] {
  const closed = file.closedVersion?.staging;
  return closed && closed !== file.working ? [file.working, closed] : [file.working];
}
