// The one table from failures to the errno the kernel gets (design.md,
// "Errors"). Every operation's rejection goes through `decideErrno`:
//   - FsError (the filesystem layer's own refusals) carries its POSIX code;
//   - FilesError (the client's, passed through the filesystem layer) maps by
//     its server `type` where one has a precise meaning, else by `kind`;
//   - Node system errors (a full staging disk, a cache dir we may not write)
//     map by their `code`;
//   - anything else is a bug or an unforeseen failure: EIO.
// Numbers come from os.constants.errno (the platform's), negated as
// fuse-native wants. `unexpected` marks failures whose message belongs in a
// warning (EIO-class outcomes, unknown types, refused credentials): the user
// sees only "Input/output error" or "Permission denied" from their tool, so the
// log must say why.
//
// Choices where the brief left one open:
//   - not-authenticated → EACCES (not EPERM): the user's tools print
//     "Permission denied", which is what a revoked or wrong key means to them;
//     it is also logged as a warning, since no retry will fix it.
//   - file/folder/resource locked → EBUSY (not EAGAIN): EAGAIN invites
//     immediate retry loops in programs written for non-blocking I/O, while a
//     Files.com lock lasts until its owner releases it.
//   - timeout (after the client's retries) → EIO, like every other transport
//     failure: "Input/output error" is what users of network filesystems
//     recognise; ETIMEDOUT would read "Connection timed out" for what may be a
//     slow server. The filesystem layer may still reject with FsError
//     'ETIMEDOUT' where it means that.
//   - read-only-session → EROFS; HTTP 507 and any quota type → ENOSPC.
//   - an AbortError (an operation cancelled, e.g. at unmount) → EINTR.
import { constants } from 'node:os';
import type { FilesErrorKind } from '../client/errors.js';
import { FsError } from '../vfs/fs-error.js';

export interface ErrnoDecision {
  /** Negative errno, as fuse-native callbacks take it. */
  errno: number;
  /** Its name, e.g. 'ENOENT'. */
  code: string;
  /** True when the failure should be logged as a warning with its message. */
  unexpected: boolean;
}

const ERRNO = constants.errno as Readonly<Record<string, number | undefined>>;

/** The negative errno for a code name; EIO for a name this platform lacks. */
export function errnoOf(code: string): number {
  return -(ERRNO[code] ?? ERRNO.EIO ?? 5);
}

function decision(code: string, unexpected = false): ErrnoDecision {
  return { errno: errnoOf(code), code: ERRNO[code] === undefined ? 'EIO' : code, unexpected };
}

/**
 * Specific server types (the part after the group's slash) with their own
 * errno, whatever group they arrive in (files-api.md §7 lists
 * filename-too-long under processing-failure; a server might move it).
 */
const BY_SPECIFIC_TYPE: Readonly<Record<string, string>> = {
  'filename-too-long': 'ENAMETOOLONG',
  'path-too-long': 'ENAMETOOLONG',
  'invalid-path': 'EINVAL',
  'invalid-filename': 'EINVAL',
  'path-cannot-have-trailing-whitespace': 'EINVAL',
  'destination-same': 'EINVAL',
  'datetime-parse': 'EINVAL',
  'folder-must-not-be-a-file': 'ENOTDIR',
  // A component of the destination's parent path is a file.
  'destination-parent-conflict': 'ENOTDIR',
  'cannot-download-directory': 'EISDIR',
  'file-locked': 'EBUSY',
  'folder-locked': 'EBUSY',
  'subfolder-locked': 'EBUSY',
  'resource-locked': 'EBUSY',
  'file-pending-processing': 'EBUSY',
  'read-only-session': 'EROFS',
  'destination-exists': 'EEXIST',
  'folder-not-empty': 'ENOTEMPTY',
  'destination-parent-does-not-exist': 'ENOENT',
};

interface KindRule {
  code: string;
  unexpected: boolean;
}

/** By kind, when the type says nothing more precise. */
const BY_KIND: Readonly<Record<FilesErrorKind, KindRule>> = {
  'not-found': { code: 'ENOENT', unexpected: false },
  'destination-exists': { code: 'EEXIST', unexpected: false },
  'folder-not-empty': { code: 'ENOTEMPTY', unexpected: false },
  'parent-missing': { code: 'ENOENT', unexpected: false },
  'not-authenticated': { code: 'EACCES', unexpected: true },
  'not-authorized': { code: 'EACCES', unexpected: false },
  // A bad request of a type we do not know is most likely our bug.
  'bad-request': { code: 'EINVAL', unexpected: true },
  'processing-failure': { code: 'EIO', unexpected: true },
  'rate-limited': { code: 'EIO', unexpected: true },
  'service-unavailable': { code: 'EIO', unexpected: true },
  'server-error': { code: 'EIO', unexpected: true },
  network: { code: 'EIO', unexpected: true },
  timeout: { code: 'EIO', unexpected: true },
};

/** Matches a FilesError by shape, so this module needs no client code. */
interface FilesErrorLike {
  kind: FilesErrorKind;
  type?: string | undefined;
  status?: number | undefined;
}

export function isFilesErrorLike(err: unknown): err is Error & FilesErrorLike {
  if (!(err instanceof Error)) return false;
  const kind = (err as unknown as { kind?: unknown }).kind;
  return typeof kind === 'string' && Object.hasOwn(BY_KIND, kind);
}

function fromFilesError(err: FilesErrorLike): ErrnoDecision {
  const specific = err.type?.includes('/') ? err.type.slice(err.type.indexOf('/') + 1) : undefined;
  if (specific !== undefined) {
    const code = BY_SPECIFIC_TYPE[specific];
    if (code) return decision(code);
    if (specific.includes('quota')) return decision('ENOSPC', true);
  }
  if (err.status === 507) return decision('ENOSPC', true);
  const rule = BY_KIND[err.kind];
  return decision(rule.code, rule.unexpected);
}

/** A Node system error: `code` is an errno name such as 'ENOSPC'. */
function systemErrorCode(err: unknown): string | undefined {
  if (!(err instanceof Error)) return undefined;
  const code = (err as { code?: unknown }).code;
  return typeof code === 'string' && /^E[A-Z0-9]+$/.test(code) && ERRNO[code] !== undefined ? code : undefined;
}

export function decideErrno(err: unknown): ErrnoDecision {
  if (err instanceof FsError) return decision(err.code, err.code === 'EIO');
  if (isFilesErrorLike(err)) return fromFilesError(err);
  const system = systemErrorCode(err);
  // Local I/O failures (staging disk full, cache dir unwritable) are the
  // user's to fix, so they are always worth a warning.
  if (system) return decision(system, true);
  if (err instanceof Error && err.name === 'AbortError') return decision('EINTR');
  return decision('EIO', true);
}

/** The negative errno for any rejection. */
export function toErrno(err: unknown): number {
  return decideErrno(err).errno;
}

/** Whether a failure deserves a warning with its message rather than a debug line. */
export function isUnexpectedFailure(err: unknown): boolean {
  return decideErrno(err).unexpected;
}
