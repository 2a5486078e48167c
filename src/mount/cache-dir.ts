// The mount's private cache dir: staging files, the upload journal and the
// status socket live here. The default is keyed by site and remote root, not
// by mountpoint, so pending uploads resume even when the mountpoint changes:
//   $XDG_CACHE_HOME/filesfs/<16 hex of sha256(baseUrl + "\n" + remoteRoot)>
// The dir is made private (0700) by options/private-dir.ts when a mount starts:
// it holds the content of files not yet uploaded.
import { createHash } from 'node:crypto';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { normalize } from '../path/index.js';

export function defaultCacheDir(baseUrl: string, remoteRoot: string, env: NodeJS.ProcessEnv = process.env): string {
  const base = env.XDG_CACHE_HOME && env.XDG_CACHE_HOME.startsWith('/') ? env.XDG_CACHE_HOME : join(homedir(), '.cache');
  const key = createHash('sha256').update(`${baseUrl.replace(/\/+$/, '')}\n${normalize(remoteRoot)}`).digest('hex').slice(0, 16);
  return join(base, 'filesfs', key);
}
