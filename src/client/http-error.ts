// The one way a non-2xx HTTP answer becomes a FilesError, for API calls and
// for the presigned upload/download URLs alike: the body parsed as JSON when
// it is JSON (docs/files-api.md §7), X-Files-Error-Class as the type's fallback,
// and Retry-After in milliseconds.
import type { IncomingHttpHeaders } from 'node:http';
import { errorFromResponse, type FilesError } from './errors.js';
import { parseRetryAfter } from './retry-after.js';
import { header } from './transport.js';

/** Parses `text` as JSON; undefined when it is empty or not JSON. */
export function parseJsonLenient(text: string): unknown {
  if (text.trim() === '') return undefined;
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

export function errorFromHttp(res: { status: number; headers: IncomingHttpHeaders }, text: string, operation: string): FilesError {
  const retryAfter = parseRetryAfter(res.headers['retry-after']);
  return errorFromResponse(res.status, parseJsonLenient(text), {
    errorClassHeader: header(res.headers, 'x-files-error-class'),
    ...(retryAfter !== null ? { retryAfterMs: retryAfter } : {}),
    operation,
  });
}
