// Conflicts: a local change whose upload would replace a server version it
// did not start from (someone else changed, created or replaced the file
// meanwhile). The upload checks right before it publishes (`end`): the
// server's entry must still be the file's base version (PendingFile.base);
// a file that did not exist must still not exist. When it is not, the upload
// is abandoned (nothing published) with RemoteChangedError, and the write
// layer resolves it by the mount's --on-conflict:
//   keep-both (default)  the server's version stays where it is; the local
//                        one lands beside it as `name (conflict YYYY-MM-DD
//                        HHMMSS host).ext`, the convention of Dropbox and
//                        Nextcloud;
//   local-wins           no check: the last upload to land wins (filesfs
//                        before it kept shared sites in mind);
//   remote-wins          the local change is dropped (logged, in status).
import { baseName, joinPath, parentPath } from '../../path/index.js';
import type { RemoteEntry } from '../../client/index.js';

export type ConflictPolicy = 'keep-both' | 'local-wins' | 'remote-wins';
export const CONFLICT_POLICIES: readonly ConflictPolicy[] = ['keep-both', 'local-wins', 'remote-wins'];

/** The server's file is no longer the version a local change started from. */
export class RemoteChangedError extends Error {
  /** `now`: the server's file now; 'exists' for a file created meanwhile; `{ movedTo }` for the base version renamed elsewhere. */
  constructor(readonly path: string, readonly now: RemoteEntry | 'exists' | { movedTo: RemoteEntry }) {
    super(now === 'exists'
      ? `${path} was created on the server by someone else meanwhile`
      : 'movedTo' in now
        ? `${path} was renamed on the server to ${now.movedTo.path} meanwhile`
        : `${path} changed on the server meanwhile (now ${now.size} bytes, modified ${now.serverMtime?.toISOString() ?? 'at an unknown time'})`);
  }

  /** Where the server's version is now. */
  get serverPath(): string {
    return this.now !== 'exists' && 'movedTo' in this.now ? this.now.movedTo.path : this.path;
  }
  override get name(): string {
    return 'RemoteChangedError';
  }
}

/**
 * The conflict copy's path for `path`: the name with ` (conflict <date> <time>
 * <host>)` before its extension (the last dot, unless the name starts with
 * it), and ` <n>` inside the parentheses for the n-th copy of the same second.
 */
export function conflictPath(path: string, when: Date, host: string, n = 1): string {
  const name = baseName(path);
  const dot = name.lastIndexOf('.');
  const [stem, ext] = dot > 0 ? [name.slice(0, dot), name.slice(dot)] : [name, ''];
  const pad = (v: number): string => String(v).padStart(2, '0');
  const stamp = `${when.getFullYear()}-${pad(when.getMonth() + 1)}-${pad(when.getDate())} ${pad(when.getHours())}${pad(when.getMinutes())}${pad(when.getSeconds())}`;
  const label = `conflict ${stamp} ${safeHost(host)}${n > 1 ? ` ${n}` : ''}`;
  return joinPath(parentPath(path), `${stem} (${label})${ext}`);
}

/** A host name as a name part: no separators or characters a server would refuse. */
function safeHost(host: string): string {
  const cleaned = host.split('.')[0]!.replace(/[^A-Za-z0-9_-]/g, '');
  return cleaned === '' ? 'filesfs' : cleaned;
}
