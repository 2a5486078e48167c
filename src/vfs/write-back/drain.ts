// Graceful shutdown: upload everything pending before the mount goes away.
// Every pending file (open ones included: their current content is journaled
// first) starts at once, ignoring the upload delay; progress (files and
// bytes left, bytes done, rate) goes to the caller's reporter about once a
// second. Transient failures keep being retried (backoff) until the queue is
// empty or the caller forces an end (signal: a second SIGINT); a refusal
// during the drain ends that file's part (it stays in the journal, failed).
// Whatever is left when the drain ends stays in the journal and resumes at the
// next mount on the same cache dir. Pending folders are created first (files
// inside one wait for it); a folder the server refuses ends the part of
// everything inside it too.
import { setTimeout as sleep } from 'node:timers/promises';
import type { PendingFile } from './pending-file.js';
import type { PendingFolder } from './pending-folder.js';
import type { WriteBackLayer } from './write-layer.js';

export interface DrainProgress {
  /** Files not on the server yet, and their bytes (minus what is acknowledged in flight). */
  filesLeft: number;
  bytesLeft: number;
  /** Uploaded since the drain began. */
  filesDone: number;
  bytesDone: number;
  /** bytesDone per second since the drain began. */
  bytesPerSecond: number;
  uploading: number;
  /** Files waiting for another attempt after a transient failure, and the last error. */
  retrying: number;
  lastError: string | null;
  /** Files the server refused during the drain (kept in the journal). */
  refused: number;
  elapsedMs: number;
}

export interface DrainOptions {
  /** Called about every `progressIntervalMs` while files are left, and once at the end. */
  onProgress?: (progress: DrainProgress) => void;
  progressIntervalMs?: number;
  /** Aborting ends the drain at once (forced shutdown); what is left stays in the journal. */
  signal?: AbortSignal;
}

export interface DrainResult {
  /** True when nothing is left to upload. */
  complete: boolean;
  /** True when the signal ended the drain. */
  forced: boolean;
  filesDone: number;
  bytesDone: number;
  /** Files left in the journal, and their bytes. */
  filesLeft: number;
  bytesLeft: number;
  /** Left because the server refused them: path in the mount, why, and where the content is kept. */
  refused: Array<{ path: string; error: string; stagingFile: string }>;
  elapsedMs: number;
}

const POLL_MS = 100;
const DEFAULT_PROGRESS_MS = 1_000;

export async function drain(layer: WriteBackLayer, mountPath: (path: string) => string, options: DrainOptions = {}): Promise<DrainResult> {
  const started = Date.now();
  const startFiles = layer.totals.uploadedFiles + layer.totals.createdFolders;
  const startBytes = layer.totals.uploadedBytes;
  const interval = options.progressIntervalMs ?? DEFAULT_PROGRESS_MS;
  const pendingFiles = (): PendingFile[] => [...layer.files.values()].filter((f) => f.needsUpload);
  const pendingFolders = (): PendingFolder[] => [...layer.files.folders()].filter((f) => f.blocks);
  const pending = (): Array<PendingFile | PendingFolder> => [...pendingFolders(), ...pendingFiles()];
  // A failure that happened before this instant does not end a file's part in the drain.
  const refusedNow = (f: PendingFile | PendingFolder): boolean => f.phase === 'failed' && f.failure!.at.getTime() >= started;
  // Refused during the drain, or waiting for a folder that was.
  const stuck = (f: PendingFile | PendingFolder): boolean => {
    if (refusedNow(f)) return true;
    const folder = layer.files.blockingFolder(f.path);
    return folder !== undefined && stuck(folder);
  };

  // Open files first become durable as they are now.
  await Promise.all([...layer.files.values()].filter((f) => f.needsCommit).map((f) => layer.commit(f).catch(() => undefined)));
  layer.folderUploads.startDraining(pendingFolders());
  layer.uploads.startDraining(pendingFiles());

  const sizeOf = (f: PendingFile | PendingFolder): number => ('size' in f ? f.size : 0);
  const progress = (): DrainProgress => {
    const left = pending();
    const inFlight = left.filter((f) => f.attempt);
    const acknowledged = pendingFiles().reduce((n, f) => n + (f.attempt?.uploadedBytes ?? 0), 0);
    const bytesDone = layer.totals.uploadedBytes - startBytes + acknowledged;
    const elapsedMs = Date.now() - started;
    const retrying = left.filter((f) => f.phase === 'retrying');
    return {
      filesLeft: left.length,
      bytesLeft: Math.max(0, left.reduce((n, f) => n + sizeOf(f), 0) - acknowledged),
      filesDone: layer.totals.uploadedFiles + layer.totals.createdFolders - startFiles,
      bytesDone,
      bytesPerSecond: elapsedMs > 0 ? Math.round((bytesDone * 1000) / elapsedMs) : 0,
      uploading: inFlight.length,
      retrying: retrying.length,
      lastError: retrying[0]?.failure?.message ?? null,
      refused: left.filter(refusedNow).length,
      elapsedMs,
    };
  };

  let forced = false;
  let lastReport = started;
  try {
    for (;;) {
      const left = pending();
      if (left.every(stuck)) break;
      if (options.signal?.aborted) {
        forced = true;
        break;
      }
      if (options.onProgress && Date.now() - lastReport >= interval) {
        lastReport = Date.now();
        options.onProgress(progress());
      }
      await sleep(POLL_MS, undefined, { ref: true });
    }
  } finally {
    layer.uploads.stopDraining();
    layer.folderUploads.stopDraining();
  }
  const end = progress();
  options.onProgress?.(end);
  const left = pending();
  return {
    complete: left.length === 0,
    forced,
    filesDone: end.filesDone,
    bytesDone: layer.totals.uploadedBytes - startBytes,
    filesLeft: left.length,
    bytesLeft: left.reduce((n, f) => n + sizeOf(f), 0),
    refused: left.filter((f) => f.phase === 'failed').map((f) => ({ path: mountPath(f.path), error: f.failure!.message, stagingFile: 'stagingPath' in f ? f.stagingPath : '' })),
    elapsedMs: Date.now() - started,
  };
}
