// Folders only this user may enter (0700): the cache dir with its staging and
// journal folders, and the mount registry. They hold the content of files not
// yet uploaded and the control sockets, so each is created 0700, and one that
// already exists is checked (a folder, owned by this user) and tightened to
// 0700. One helper for every layer: synchronous for option handling at
// startup, asynchronous for the layers that create their folders later.
//
// `symlinks`: 'follow' accepts a link to a folder of ours (a cache dir the
// user moved to another disk); 'refuse' does not (a folder under a shared
// /tmp, where another user could have made the path first).
import { chmodSync, lstatSync, mkdirSync, statSync, type Stats } from 'node:fs';
import { chmod, lstat, mkdir, stat } from 'node:fs/promises';
import { ConfigError } from './config-error.js';

const PRIVATE = 0o700;

export interface PrivateDirOptions {
  symlinks?: 'follow' | 'refuse';
}

/** Why `st` cannot be a private folder of this user, or null when it can. */
function refusal(st: Stats): string | null {
  if (!st.isDirectory()) return st.isSymbolicLink() ? 'a symbolic link, not a folder' : 'not a directory';
  const uid = process.getuid?.();
  if (uid !== undefined && st.uid !== uid) return `owned by another user (uid ${st.uid}); use a directory of your own`;
  return null;
}

/** Creates `dir` (and parents) 0700 if needed and makes it private; rejects a folder that is not ours. */
export async function ensurePrivateDir(dir: string, options: PrivateDirOptions = {}): Promise<string> {
  await mkdir(dir, { recursive: true, mode: PRIVATE });
  const st = options.symlinks === 'refuse' ? await lstat(dir) : await stat(dir);
  const problem = refusal(st);
  if (problem) throw new Error(`${dir}: ${problem}`);
  if ((st.mode & 0o777) !== PRIVATE) await chmod(dir, PRIVATE);
  return dir;
}

/**
 * ensurePrivateDir at startup, where a problem is the user's to fix: a
 * ConfigError naming the option (e.g. "--cache-dir") that gave the folder.
 */
export function preparePrivateDir(dir: string, option = '--cache-dir', options: PrivateDirOptions = {}): string {
  try {
    mkdirSync(dir, { recursive: true, mode: PRIVATE });
    const st = options.symlinks === 'refuse' ? lstatSync(dir) : statSync(dir);
    const problem = refusal(st);
    if (problem) throw new ConfigError(`${option} ${dir}: ${problem}`);
    if ((st.mode & 0o777) !== PRIVATE) chmodSync(dir, PRIVATE);
  } catch (err) {
    if (err instanceof ConfigError) throw err;
    throw new ConfigError(`${option} ${dir}: ${(err as Error).message}`);
  }
  return dir;
}
