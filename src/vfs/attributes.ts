// RemoteEntry → FileAttributes: what `stat` shows. Size and mtime come from
// the server (mtime = provided_mtime when set). Owner, group, permission bits
// and the file type come from the entry's POSIX metadata in custom_metadata
// where it has some (posix/posix-metadata.ts), else from the mount's options
// (--uid, --gid, --umask; docs/semantics.md, "Permissions and metadata").
// With posix metadata turned off (--no-posix-metadata) every entry shows the
// mount's options, as Files.com has no owners or modes.
import type { RemoteEntry } from '../client/index.js';
import type { FileAttributes } from './filesystem-api.js';
import type { ResolvedOptions } from './options.js';
import { decodePosix, type PosixDefaults, type PosixFacts } from './posix/posix-metadata.js';

export type AttributeOptions = Pick<ResolvedOptions, 'fileMode' | 'dirMode' | 'uid' | 'gid'> & Partial<Pick<ResolvedOptions, 'posixMetadata' | 'readOnly'>>;

/** The bits a read-only mount never shows. */
const WRITE_BITS = 0o222;

export function posixDefaults(options: AttributeOptions): PosixDefaults {
  return { fileMode: options.fileMode, dirMode: options.dirMode, uid: options.uid, gid: options.gid };
}

/** The entry's POSIX facts as the mount shows them (its metadata, or the mount's defaults). */
export function posixFacts(entry: RemoteEntry, options: AttributeOptions): PosixFacts {
  const defaults = posixDefaults(options);
  if (options.posixMetadata === false) {
    const directory = entry.type === 'directory';
    return { kind: directory ? 'directory' : 'file', permissions: directory ? defaults.dirMode : defaults.fileMode, uid: defaults.uid, gid: defaults.gid, rdev: 0, target: null };
  }
  return decodePosix(entry, defaults);
}

export function toAttributes(entry: RemoteEntry, options: AttributeOptions): FileAttributes {
  const facts = posixFacts(entry, options);
  const directory = facts.kind === 'directory';
  return {
    kind: facts.kind,
    size: directory ? 0 : entry.size,
    mtime: entry.mtime,
    // A read-only mount shows no write bits (symbolic links keep theirs, as everywhere).
    permissions: options.readOnly && facts.kind !== 'symlink' ? facts.permissions & ~WRITE_BITS : facts.permissions,
    uid: facts.uid,
    gid: facts.gid,
    ...(facts.rdev !== 0 ? { rdev: facts.rdev } : {}),
  };
}
