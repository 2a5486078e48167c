// What `filesfs status` shows about write-back: totals first (the fields
// scripts rely on: pendingUploads, pendingBytes, uploading, failedUploads),
// then one entry per pending file with its state and progress, and the
// write-size histogram (big_writes at work or not). Plain JSON, built from the
// layer's state at one instant; the control channel sends it as is.
import type { PendingFile, UploadFailure } from './pending-file.js';
import type { PendingFolder } from './pending-folder.js';
import type { WriteSizeCounts } from './write-histogram.js';

export type UploadState =
  /** Closed, waiting for the upload delay or a free upload slot. */
  | 'pending'
  /** Still open for writing; uploads after the last close. */
  | 'open'
  | 'uploading'
  /** A transient failure; the next attempt is scheduled. */
  | 'retrying'
  /** Refused by the server; retried rarely; the content is kept in the cache dir. */
  | 'failed';

export interface UploadStatusEntry {
  /** A file's content (or time), or a folder made here (mkdir) to create on the server. */
  kind: 'file' | 'folder';
  /** Path inside the mount, e.g. "/docs/a.txt". */
  path: string;
  /** Path on the server. */
  remotePath: string;
  size: number;
  mtime: string;
  state: UploadState;
  /** Bytes the server acknowledged in the attempt in flight (0 otherwise). */
  uploadedBytes: number;
  /** The last failure, if the last attempt failed. */
  error: string | null;
  /** Failed attempts in a row. */
  attempts: number;
  /** When the next attempt is due (ISO time), for retrying and failed files. */
  nextAttemptAt: string | null;
  /** The local copy of the content (private to the mount's user); "" for a folder. */
  stagingFile: string;
  /** The pending folder (path inside the mount) this waits for: it is created on the server first. */
  waitingFor: string | null;
}

/** A version that could not be kept because writing it or recording it failed. */
export interface WriteProblemEntry {
  /** Path inside the mount. */
  path: string;
  error: string;
  /** What the file is now, e.g. "it keeps the version last closed". */
  outcome: string;
  at: string;
}

/** A local change that met a newer server version. */
export interface ConflictEntry {
  /** Path inside the mount. */
  path: string;
  /** Where this mount's version went (a conflict copy), or null when it was dropped. */
  copy: string | null;
  reason: string;
  at: string;
}

/** The cache dir's filesystem, as seen when status was asked. */
export interface CacheDiskStatus {
  freeBytes: number;
  totalBytes: number;
}

/** The server as the client sees it (added by the mount; src/mount/server-status.ts). */
export interface ServerStatus {
  state: 'reachable' | 'unreachable';
  /** When the failures that made it unreachable began (ISO), while unreachable. */
  since: string | null;
  /** The last failure without an answer (never a secret). */
  lastError: string | null;
  /** The last time any request got an answer (ISO). */
  lastAnswer: string | null;
  consecutiveFailures: number;
  /** HTTP requests sent since the mount started (each attempt and hedge). */
  requests: number;
  /** Attempts after a failed one. */
  retries: number;
  /** Duplicates sent for slow reads, and how many answered first. */
  hedges: { sent: number; won: number };
  /** Requests stopped by their deadline or stall timer. */
  stalls: number;
  bytes: { up: number; down: number };
  /** Requests by kind (list, stat, download, upload_part, ...) and outcome (ok, http-error, network, timeout, cancelled). */
  byKind: Readonly<Record<string, Readonly<Record<string, number>>>>;
}

export interface WriteBackStatus {
  /** Files whose latest content is not on the server yet (including uploading and failed ones). */
  pendingUploads: number;
  /** Their bytes. */
  pendingBytes: number;
  /** Uploads in flight now. */
  uploading: number;
  /** Files the server refused (kept; retried rarely). */
  failedUploads: number;
  /** Files waiting for another attempt after a transient failure. */
  retryingUploads: number;
  /** Uploads the server confirmed since the mount started, and their bytes (uploads cancelled here are not counted). */
  uploadedFiles: number;
  uploadedBytes: number;
  /** Pending folders created on the server since the mount started. */
  createdFolders: number;
  cacheDir: string;
  uploadDelayMs: number;
  uploadConcurrency: number;
  /** Write requests received since the mount started, by size bucket (bytes → count). */
  writeSizes: WriteSizeCounts;
  /** Write requests that succeeded. */
  writes: number;
  /** Bytes written and kept (their version was closed); writes to a version that was dropped are not counted. */
  writtenBytes: number;
  files: UploadStatusEntry[];
  /** Files not listed in `files` (the list is capped). */
  filesNotListed: number;
  /** Changes dropped since the mount started because a write or its record failed (a full disk, an I/O error). */
  writeProblems: number;
  /** The newest of them (at most 100). */
  problems: WriteProblemEntry[];
  /** Free space where staging files and the journal live (null when it cannot be read). */
  cacheDisk: CacheDiskStatus | null;
  /** Conflicts since the mount started: local changes that met a newer server version. */
  conflictCount: number;
  /** The newest of them (at most 100). */
  conflicts: ConflictEntry[];
  /** Every file not uploaded yet (listed or not), counted and summed by state. */
  byState: Record<UploadState, { files: number; bytes: number }>;
  /** The server's health and the client's counters (a mount adds them; null when the client has none). */
  server?: ServerStatus | null;
}

/** Files and bytes by state. */
export function countByState(entries: readonly UploadStatusEntry[]): WriteBackStatus['byState'] {
  const out: WriteBackStatus['byState'] = { pending: { files: 0, bytes: 0 }, open: { files: 0, bytes: 0 }, uploading: { files: 0, bytes: 0 }, retrying: { files: 0, bytes: 0 }, failed: { files: 0, bytes: 0 } };
  for (const e of entries) {
    out[e.state].files++;
    out[e.state].bytes += e.size;
  }
  return out;
}

/** Entries listed at most; the totals always count every file. */
export const MAX_LISTED_FILES = 10_000;

const ORDER: Record<UploadState, number> = { uploading: 0, failed: 1, retrying: 2, pending: 3, open: 4 };

/** The one state status shows for a file, from its phase. */
export function stateOf(file: PendingFile): UploadState {
  switch (file.phase) {
    case 'uploading':
    case 'failed':
    case 'retrying':
    case 'open':
      return file.phase;
    default:
      // delayed, queued, held, staging: waiting for something before uploading.
      return file.writers > 0 ? 'open' : 'pending';
  }
}

/** The one state status shows for a pending folder. */
export function folderStateOf(folder: PendingFolder): UploadState {
  switch (folder.phase) {
    case 'creating':
      return 'uploading';
    case 'failed':
    case 'retrying':
      return folder.phase;
    default:
      return 'pending';
  }
}

export function folderEntryOf(folder: PendingFolder, mountPath: string, waitingFor: string | null): UploadStatusEntry {
  const state = folderStateOf(folder);
  return {
    kind: 'folder',
    path: mountPath,
    remotePath: folder.path,
    size: 0,
    mtime: folder.mtime.toISOString(),
    state,
    uploadedBytes: 0,
    ...failureFields(state, folder.failure),
    stagingFile: '',
    waitingFor,
  };
}

/** A file's state in a few words, for its user.filesfs.upload attribute: "pending", "uploading 42%", "retrying: <why>", ... */
export function describeState(file: PendingFile): string {
  const state = stateOf(file);
  const why = file.failure?.message;
  switch (state) {
    case 'uploading': {
      const size = file.attempt?.size ?? file.size;
      const done = file.attempt?.uploadedBytes ?? 0;
      return size > 0 ? `uploading ${Math.min(100, Math.floor((done / size) * 100))}%` : 'uploading';
    }
    case 'retrying':
    case 'failed':
      return why ? `${state}: ${why}` : state;
    default:
      return state;
  }
}

export function entryOf(file: PendingFile, mountPath: string, waitingFor: string | null = null): UploadStatusEntry {
  const state = stateOf(file);
  return {
    kind: 'file',
    path: mountPath,
    remotePath: file.path,
    size: file.size,
    mtime: file.mtime.toISOString(),
    state,
    uploadedBytes: file.attempt?.uploadedBytes ?? 0,
    ...failureFields(state, file.failure),
    stagingFile: file.stagingPath,
    waitingFor: state === 'pending' ? waitingFor : null,
  };
}

/** What status says of the last failure: its message, the attempts so far, and when the next one starts (none while uploading). */
function failureFields(state: UploadState, failure: UploadFailure | null): Pick<UploadStatusEntry, 'error' | 'attempts' | 'nextAttemptAt'> {
  return {
    error: failure?.message ?? null,
    attempts: failure?.attempts ?? 0,
    nextAttemptAt: state !== 'uploading' && failure?.nextAttemptAt ? new Date(failure.nextAttemptAt).toISOString() : null,
  };
}

export function sortEntries(entries: UploadStatusEntry[]): UploadStatusEntry[] {
  return entries.sort((a, b) => ORDER[a.state] - ORDER[b.state] || (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
}
