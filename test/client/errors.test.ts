import { describe, expect, it } from 'vitest';
import {
  BadRequestError, DestinationExistsError, FolderNotEmptyError, NotAuthenticatedError, NotAuthorizedError, NotFoundError,
  ParentMissingError, ProcessingFailureError, RateLimitedError, ServerError, ServiceUnavailableError, errorFromResponse, hasType,
} from '../../src/client/errors.js';

describe('errorFromResponse', () => {
  it.each([
    [422, 'processing-failure/destination-exists', DestinationExistsError],
    [422, 'processing-failure/folder-not-empty', FolderNotEmptyError],
    [409, 'processing-failure/destination-parent-does-not-exist', ParentMissingError],
    [422, 'processing-failure/filename-too-long', ProcessingFailureError],
    [404, 'not-found', NotFoundError],
    [404, 'not-found/file-not-found', NotFoundError],
    [401, 'not-authenticated/invalid-credentials', NotAuthenticatedError],
    [403, 'not-authorized/write-permission-required', NotAuthorizedError],
    [400, 'bad-request/cannot-download-directory', BadRequestError],
    [429, 'rate-limited/too-many-requests', RateLimitedError],
    [503, 'service-unavailable/uploads-unavailable', ServiceUnavailableError],
  ])('%d %s → %o', (status, type, Class) => {
    const err = errorFromResponse(status, { error: 'msg', 'http-code': status, instance: 'req-1', title: 'T', type });
    expect(err).toBeInstanceOf(Class);
    expect(err).toMatchObject({ status, type, title: 'T', message: 'msg', instance: 'req-1' });
  });

  it('falls back to the X-Files-Error-Class header, then to the status', () => {
    expect(errorFromResponse(422, undefined, { errorClassHeader: 'processing-failure/folder-not-empty' })).toBeInstanceOf(FolderNotEmptyError);
    expect(errorFromResponse(500, 'not json')).toBeInstanceOf(ServerError);
    expect(errorFromResponse(502, undefined).transient).toBe(true);
    expect(errorFromResponse(404, undefined, { statusText: 'Not Found' }).message).toBe('Not Found');
  });

  it('takes the first element of an array body', () => {
    expect(errorFromResponse(404, [{ type: 'not-found', error: 'gone' }]).message).toBe('gone');
  });

  it('says which are transient and serialises only safe fields', () => {
    const e = errorFromResponse(429, { type: 'rate-limited' }, { retryAfterMs: 2000, operation: 'GET /folders/x' });
    expect(e.transient).toBe(true);
    expect(e.retryAfterMs).toBe(2000);
    expect(errorFromResponse(404, {}).transient).toBe(false);
    expect(JSON.parse(JSON.stringify(e))).toEqual({ name: 'RateLimitedError', kind: 'rate-limited', message: 'HTTP 429', status: 429, type: 'rate-limited', operation: 'GET /folders/x' });
    expect(hasType(errorFromResponse(422, { type: 'processing-failure/path-too-long' }), 'processing-failure')).toBe(true);
  });
});
