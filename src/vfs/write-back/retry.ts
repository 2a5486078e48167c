// `filesfs retry`: try failed and retrying uploads now instead of at their
// next attempt (a refused upload waits 10 minutes; one after a transient
// failure up to a minute), after the user fixed what stood in the way (a
// file where a folder should be, a permission, a key). Every failed or
// retrying file and folder, or the one at a path; each is made due at once
// (a file inside a pending folder brings the folder along), then this waits,
// up to a bound, for each attempt's outcome, and reports it.
import { setTimeout as sleep } from 'node:timers/promises';
import { FsError } from '../fs-error.js';
import type { PendingFile } from './pending-file.js';
import type { PendingFolder } from './pending-folder.js';
import type { WriteBackLayer } from './write-layer.js';

export interface RetryOutcome {
  /** Path inside the mount. */
  path: string;
  kind: 'file' | 'folder';
  /** uploaded (a folder: created), failed (refused again), retrying (a transient failure again), waiting (no outcome within the time given). */
  outcome: 'uploaded' | 'failed' | 'retrying' | 'waiting';
  /** The last failure, for failed and retrying. */
  error: string | null;
}

const POLL_MS = 50;

/**
 * Makes the targets due now and waits up to `timeoutMs` for their outcomes.
 * `path` (remote): that file or folder only (ENOENT when nothing is pending
 * there); without it, every failed or retrying file and folder.
 */
export async function retryNow(layer: WriteBackLayer, path: string | undefined, options: { timeoutMs: number; mountPath: (remotePath: string) => string }): Promise<RetryOutcome[]> {
  const targets: Array<PendingFile | PendingFolder> = [];
  if (path !== undefined) {
    const one = layer.files.get(path) ?? layer.files.getFolder(path);
    if (!one || ('needsUpload' in one ? !one.needsUpload && !one.attempt : !one.blocks)) throw new FsError('ENOENT', `${options.mountPath(path)}: nothing is waiting to upload there`);
    targets.push(one);
  } else {
    for (const folder of layer.files.folders()) if (folder.phase === 'failed' || folder.phase === 'retrying') targets.push(folder);
    for (const file of layer.files.values()) if (file.phase === 'failed' || file.phase === 'retrying') targets.push(file);
  }
  const started = Date.now();
  for (const target of targets) {
    if ('needsUpload' in target) layer.uploads.now(target);
    else layer.folderUploads.retry(target);
  }
  const outcome = (t: PendingFile | PendingFolder): RetryOutcome['outcome'] | null => {
    if ('needsUpload' in t) {
      if (t.removed || !t.needsUpload) return 'uploaded';
    } else if (!t.blocks) {
      return 'uploaded';
    }
    if ((t.phase === 'failed' || t.phase === 'retrying') && t.failure && t.failure.at.getTime() >= started) return t.phase;
    return null;
  };
  const deadline = started + options.timeoutMs;
  while (Date.now() < deadline && targets.some((t) => outcome(t) === null)) await sleep(POLL_MS);
  return targets.map((t) => {
    const result = outcome(t) ?? 'waiting';
    return {
      path: options.mountPath(t.path),
      kind: 'needsUpload' in t ? 'file' : 'folder',
      outcome: result,
      error: result === 'uploaded' ? null : t.failure?.message ?? null,
    };
  });
}
