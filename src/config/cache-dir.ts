// The mount's private cache dir: staging files, the upload journal and the
// status socket live here. The default is keyed by site and remote root, not
// by mountpoint, so pending uploads resume even when the mountpoint changes:
//   $XDG_CACHE_HOME/filesfs/<16 hex of sha256(baseUrl + "\n" + remoteRoot)>
// The dir is created 0700, and an existing one is tightened to 0700: it holds
// the content of files not yet uploaded.
import { createHash } from 'node:crypto';
import { chmodSync, mkdirSync, statSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { normalize } from '../path/index.js';
import { ConfigError } from './config-error.js';

export function defaultCacheDir(baseUrl: string, remoteRoot: string, env: NodeJS.ProcessEnv = process.env): string {
  const base = env.XDG_CACHE_HOME && env.XDG_CACHE_HOME.startsWith('/') ? env.XDG_CACHE_HOME : join(homedir(), '.cache');
  const key = createHash('sha256').update(`${baseUrl.replace(/\/+$/, '')}\n${normalize(remoteRoot)}`).digest('hex').slice(0, 16);
  return join(base, 'filesfs', key);
}

/** Creates `dir` (and parents) if needed and makes it private (0700). */
export function preparePrivateDir(dir: string): string {
  try {
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    const st = statSync(dir);
    if (!st.isDirectory()) throw new ConfigError(`--cache-dir ${dir}: not a directory`);
    if (typeof process.getuid === 'function' && st.uid !== process.getuid()) {
      throw new ConfigError(`--cache-dir ${dir}: owned by another user (uid ${st.uid}); use a directory of your own`);
    }
    if ((st.mode & 0o777) !== 0o700) chmodSync(dir, 0o700);
  } catch (err) {
    if (err instanceof ConfigError) throw err;
    throw new ConfigError(`--cache-dir ${dir}: ${(err as Error).message}`);
  }
  return dir;
}
