// RemoteEntry → FileAttributes: what `stat` shows. Ownership and permission
// bits come from the mount's options (docs/semantics.md, "Metadata"),
// since Files.com has no POSIX owners or modes; size and mtime come from the
// server (mtime = provided_mtime when set).
import type { RemoteEntry } from '../client/index.js';
import type { FileAttributes } from './filesystem-api.js';
import type { ResolvedOptions } from './options.js';

export type AttributeOptions = Pick<ResolvedOptions, 'fileMode' | 'dirMode' | 'uid' | 'gid'>;

export function toAttributes(entry: RemoteEntry, options: AttributeOptions): FileAttributes {
  const directory = entry.type === 'directory';
  return {
    kind: directory ? 'directory' : 'file',
    size: directory ? 0 : entry.size,
    mtime: entry.mtime,
    permissions: directory ? options.dirMode : options.fileMode,
    uid: options.uid,
    gid: options.gid,
  };
}
