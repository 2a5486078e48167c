// The errno table: every error kind the filesystem layer can meet, the errno
// a program then gets, and which ones are worth a warning.
import { constants } from 'node:os';
import { describe, expect, test } from 'vitest';
import {
  BadRequestError, ContentChangedError, DestinationExistsError, FolderNotEmptyError, NetworkError, NotAuthenticatedError,
  NotAuthorizedError, NotFoundError, ParentMissingError, ProcessingFailureError, RateLimitedError, ServerError,
  ServiceUnavailableError, TimeoutError, errorFromResponse,
} from '../../src/client/errors.js';
import { errnoOf } from '../../src/fuse/errno.js';
import { toFsError } from '../../src/vfs/errno.js';
import { FsError } from '../../src/vfs/fs-error.js';

/** What a program sees for a rejection: the FsError the table chooses, encoded as the adapter does. */
function decideErrno(err: unknown): { errno: number; code: string; unexpected: boolean } {
  const failure = toFsError(err);
  return { errno: errnoOf(failure.code), code: failure.code, unexpected: failure.unexpected };
}
const toErrno = (err: unknown): number => decideErrno(err).errno;
const isUnexpectedFailure = (err: unknown): boolean => decideErrno(err).unexpected;

const E = constants.errno;
const d = { message: 'm' };

describe('FilesError kinds', () => {
  test.each([
    ['not-found', new NotFoundError(d), E.ENOENT, false],
    ['destination-exists', new DestinationExistsError(d), E.EEXIST, false],
    ['folder-not-empty', new FolderNotEmptyError(d), E.ENOTEMPTY, false],
    ['parent-missing', new ParentMissingError(d), E.ENOENT, false],
    ['not-authenticated', new NotAuthenticatedError(d), E.EACCES, true],
    ['not-authorized', new NotAuthorizedError(d), E.EACCES, false],
    ['bad-request without a known type', new BadRequestError(d), E.EINVAL, true],
    ['processing-failure without a known type', new ProcessingFailureError(d), E.EIO, true],
    ['rate-limited', new RateLimitedError(d), E.EIO, true],
    ['service-unavailable', new ServiceUnavailableError(d), E.EIO, true],
    ['server-error', new ServerError(d), E.EIO, true],
    ['network', new NetworkError(d), E.EIO, true],
    ['timeout', new TimeoutError(d), E.EIO, true],
    ['content changed (client-side type)', new ContentChangedError(d), E.EIO, true],
  ])('%s', (_name, err, errno, unexpected) => {
    expect(decideErrno(err)).toMatchObject({ errno: -errno!, unexpected });
  });
});

describe('specific server types', () => {
  test.each([
    ['processing-failure/filename-too-long', 422, E.ENAMETOOLONG],
    ['processing-failure/path-too-long', 422, E.ENAMETOOLONG],
    ['bad-request/invalid-path', 400, E.EINVAL],
    ['processing-failure/invalid-filename', 422, E.EINVAL],
    ['bad-request/path-cannot-have-trailing-whitespace', 400, E.EINVAL],
    ['bad-request/folder-must-not-be-a-file', 400, E.ENOTDIR],
    ['processing-failure/destination-parent-conflict', 422, E.ENOTDIR],
    ['bad-request/cannot-download-directory', 400, E.EISDIR],
    ['processing-failure/file-locked', 422, E.EBUSY],
    ['processing-failure/folder-locked', 422, E.EBUSY],
    ['processing-failure/resource-locked', 422, E.EBUSY],
    ['not-authorized/read-only-session', 403, E.EROFS],
    ['not-authorized/write-permission-required', 403, E.EACCES],
    ['processing-failure/destination-exists', 422, E.EEXIST],
    ['processing-failure/folder-not-empty', 422, E.ENOTEMPTY],
    ['processing-failure/destination-parent-does-not-exist', 409, E.ENOENT],
    ['processing-failure/storage-quota-exceeded', 422, E.ENOSPC],
    ['not-found', 404, E.ENOENT],
  ])('%s (HTTP %d)', (type, status, errno) => {
    const err = errorFromResponse(status, { type, error: 'x', 'http-code': status });
    expect(toErrno(err)).toBe(-errno!);
  });

  test('a known specific type is an ordinary outcome, not a warning', () => {
    expect(isUnexpectedFailure(errorFromResponse(400, { type: 'bad-request/invalid-path' }))).toBe(false);
    expect(isUnexpectedFailure(errorFromResponse(400, { type: 'bad-request/something-new' }))).toBe(true);
  });

  test('HTTP 507 Insufficient Storage → ENOSPC', () => {
    expect(toErrno(errorFromResponse(507, undefined))).toBe(-E.ENOSPC!);
  });
});

describe('other rejections', () => {
  test('FsError carries its code; only EIO is a warning', () => {
    for (const code of ['ENOENT', 'EROFS', 'ENAMETOOLONG', 'ENOTSUP', 'ETIMEDOUT', 'ENODATA', 'ECANCELED'] as const) {
      expect(decideErrno(new FsError(code))).toEqual({ errno: -E[code]!, code, unexpected: false });
    }
    expect(decideErrno(new FsError('EIO', 'upload failed'))).toMatchObject({ errno: -E.EIO!, unexpected: true });
  });

  test('Node system errors map by code and are worth a warning', () => {
    const full = Object.assign(new Error('ENOSPC: no space left on device, write'), { code: 'ENOSPC', errno: -28 });
    expect(decideErrno(full)).toEqual({ errno: -E.ENOSPC!, code: 'ENOSPC', unexpected: true });
    const denied = Object.assign(new Error('EACCES: permission denied'), { code: 'EACCES' });
    expect(toErrno(denied)).toBe(-E.EACCES!);
  });

  test('codes that are not errno names, plain errors and non-errors → EIO, unexpected', () => {
    const nodeCode = Object.assign(new Error('bad arg'), { code: 'ERR_INVALID_ARG_TYPE' });
    for (const err of [nodeCode, new TypeError('x is undefined'), 'a string', undefined, { kind: 'not-found' }]) {
      expect(decideErrno(err)).toEqual({ errno: -E.EIO!, code: 'EIO', unexpected: true });
    }
  });

  test('an aborted operation → EINTR', () => {
    const abort = new Error('aborted');
    abort.name = 'AbortError';
    expect(toErrno(abort)).toBe(-E.EINTR!);
  });

  test('errnoOf uses the platform numbers', () => {
    expect(errnoOf('ENOENT')).toBe(-2);
    expect(errnoOf('ENOTSUP')).toBe(-E.ENOTSUP!);
    expect(errnoOf('NOT_A_CODE')).toBe(-E.EIO!);
  });
});
