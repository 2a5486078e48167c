// The one table from failures to the errno a program gets (docs/semantics.md,
// "Errors"). Every rejection of the filesystem layer passes through
// `toFsError` on its way out (FilesFilesystem.run), so the layer rejects only
// with FsError and the FUSE adapter merely encodes its code:
//   - FsError (the layer's own refusals) passes unchanged;
//   - FilesError (the client's) maps by its server `type` where one has a
//     precise meaning, else by `kind`;
//   - Node system errors (a full staging disk, a cache dir we may not write)
//     map by their `code`;
//   - anything else is a bug or an unforeseen failure: EIO.
// `unexpected` marks failures whose reason belongs in a warning (EIO-class
// outcomes, unknown types, refused credentials, local disk errors): the user
// sees only "Input/output error" or "Permission denied" from their tool, so
// the log must say why.
//
// Choices where the API facts leave one open:
//   - not-authenticated → EACCES (not EPERM): the user's tools print
//     "Permission denied", which is what a revoked or wrong key means to them;
//     it is also logged as a warning, since no retry will fix it.
//   - file/folder/resource locked → EBUSY (not EAGAIN): EAGAIN invites
//     immediate retry loops in programs written for non-blocking I/O, while a
//     Files.com lock lasts until its owner releases it.
//   - timeout (after the client's retries) → EIO, like every other transport
//     failure: "Input/output error" is what users of network filesystems
//     recognise; ETIMEDOUT would read "Connection timed out" for what may be a
//     slow server. The layer may still reject with FsError 'ETIMEDOUT' where it
//     means that.
//   - read-only-session → EROFS; HTTP 507 and any quota type → ENOSPC.
//   - an AbortError (an operation cancelled, e.g. at unmount) → EINTR.
import { constants } from 'node:os';
import { isFilesError, type FilesError, type FilesErrorKind } from '../client/index.js';
import { FsError, type ErrnoCode } from './fs-error.js';

const ERRNO = constants.errno as Readonly<Record<string, number | undefined>>;

/**
 * Specific server types (the part after the group's slash) with their own
 * errno, whatever group they arrive in (docs/files-api.md §7 lists
 * filename-too-long under processing-failure; a server might move it).
 */
const BY_SPECIFIC_TYPE: Readonly<Record<string, ErrnoCode>> = {
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
  code: ErrnoCode;
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

function fromFilesError(err: FilesError): FsError {
  const specific = err.type?.includes('/') ? err.type.slice(err.type.indexOf('/') + 1) : undefined;
  let rule: KindRule = BY_KIND[err.kind];
  if (specific !== undefined && BY_SPECIFIC_TYPE[specific]) rule = { code: BY_SPECIFIC_TYPE[specific]!, unexpected: false };
  else if (specific?.includes('quota') || err.status === 507) rule = { code: 'ENOSPC', unexpected: true };
  return new FsError(rule.code, err.message, { cause: err, unexpected: rule.unexpected });
}

/** A Node system error: `code` is an errno name such as 'ENOSPC'. */
function systemErrorCode(err: unknown): ErrnoCode | undefined {
  if (!(err instanceof Error)) return undefined;
  const code = (err as { code?: unknown }).code;
  return typeof code === 'string' && /^E[A-Z0-9]+$/.test(code) && ERRNO[code] !== undefined ? (code as ErrnoCode) : undefined;
}

/** The FsError any rejection becomes (the one table). */
export function toFsError(err: unknown): FsError {
  if (err instanceof FsError) return err;
  if (isFilesError(err)) return fromFilesError(err);
  const system = systemErrorCode(err);
  // Local I/O failures (staging disk full, cache dir unwritable) are the
  // user's to fix, so they are always worth a warning.
  if (system) return new FsError(system, (err as Error).message, { cause: err, unexpected: true });
  if (err instanceof Error && err.name === 'AbortError') return new FsError('EINTR', err.message, { cause: err });
  const message = err instanceof Error ? err.message : `non-error rejection: ${String(err)}`;
  return new FsError('EIO', message, { cause: err, unexpected: true });
}
