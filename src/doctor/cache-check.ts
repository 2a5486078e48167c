// The doctor's cache dir check: the folder a mount of this site and root
// would use (mount/cache-dir.ts), the free space of its filesystem (writes
// land there before they upload, so a full disk fails writes), and uploads
// waiting in its journal (files written through an earlier mount that are not
// on the server yet), read without changing anything.
import { existsSync, readdirSync, readFileSync, statfsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { controlRequest, controlSocketPath, type MountInfo } from '../control/index.js';
import { formatBytes } from '../vfs/index.js';
import { fail, ok, warn, type CheckResult } from './check.js';

/** Less free space than this fails writes soon; less than the warning level is worth a look. */
const FREE_FAIL_BYTES = 100 * 1024 * 1024;
const FREE_WARN_BYTES = 1024 * 1024 * 1024;

/** The journal's folder inside a cache dir (vfs/upload/journal.ts). */
const JOURNAL_DIR = 'journal';

export interface PendingInJournal {
  files: number;
  bytes: number;
}

/** Records in <cacheDir>/journal, counted and summed (unreadable ones count as files of unknown size). */
export function pendingInJournal(cacheDir: string): PendingInJournal {
  const dir = join(cacheDir, JOURNAL_DIR);
  let names: string[];
  try {
    names = readdirSync(dir).filter((n) => n.endsWith('.json'));
  } catch {
    return { files: 0, bytes: 0 };
  }
  let bytes = 0;
  for (const name of names) {
    try {
      const size = (JSON.parse(readFileSync(join(dir, name), 'utf8')) as { size?: unknown }).size;
      if (typeof size === 'number' && size > 0) bytes += size;
    } catch {
      // Counted as a file; the mount renames unreadable records to *.bad.
    }
  }
  return { files: names.length, bytes };
}

/** The nearest folder that exists at or above `path`. */
function existingAncestor(path: string): string {
  let p = path;
  while (!existsSync(p) && dirname(p) !== p) p = dirname(p);
  return p;
}

/** The mount that holds the cache dir now, if one answers on its control socket. */
async function liveMount(cacheDir: string): Promise<MountInfo | undefined> {
  const socket = controlSocketPath(cacheDir);
  if (!existsSync(socket)) return undefined;
  try {
    return await controlRequest(socket, 'info', { timeoutMs: 3_000 }) as MountInfo;
  } catch {
    return undefined;
  }
}

export async function checkCacheDir(cacheDir: string): Promise<CheckResult[]> {
  const results: CheckResult[] = [];
  const exists = existsSync(cacheDir);
  const where = existingAncestor(cacheDir);
  let free: number;
  try {
    const st = statfsSync(where);
    free = st.bavail * st.bsize;
  } catch (err) {
    return [fail('cache dir', `${cacheDir}: cannot read its filesystem's free space: ${(err as Error).message}`, 'give the mount a cache dir on a local disk with --cache-dir (-o cache_dir=)')];
  }
  const place = exists ? cacheDir : `${cacheDir} (not created yet; made at the first mount)`;
  const space = `${formatBytes(free)} free${where !== cacheDir ? ` on ${where}` : ''}`;
  if (free < FREE_FAIL_BYTES) results.push(fail('cache dir', `${place}: only ${space}`, 'free space there, or give the mount another cache dir with --cache-dir (-o cache_dir=): everything written waits there until it is uploaded'));
  else if (free < FREE_WARN_BYTES) results.push(warn('cache dir', `${place}: ${space}`, 'writes larger than that will fail with ENOSPC; free space, or use another --cache-dir'));
  else results.push(ok('cache dir', `${place}: ${space}`));

  const pending = pendingInJournal(cacheDir);
  const mount = exists ? await liveMount(cacheDir) : undefined;
  const what = `${pending.files} file${pending.files === 1 ? '' : 's'} (${formatBytes(pending.bytes)})`;
  if (mount) {
    results.push(ok('pending uploads', `${pending.files === 0 ? 'none' : what}; the cache dir is in use by the mount at ${mount.mountpoint} (pid ${mount.pid}): filesfs status ${mount.mountpoint} shows more`));
  } else if (pending.files > 0) {
    results.push(warn('pending uploads', `${what} written through an earlier mount are not on the server yet`, 'mount the same site and root again (with this cache dir): they upload in the background; do not delete the cache dir'));
  } else {
    results.push(ok('pending uploads', 'none'));
  }
  return results;
}
