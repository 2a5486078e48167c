// Paging for the small lists other than folder listings (locks, behaviors):
// the same conventions as folders (docs/files-api.md §2) — `per_page` (default
// 1,000, at most 10,000), `cursor` from the previous page's `X-Files-Cursor`
// (also sent as `X-Files-Cursor-Next`), no cursor header on the last page.
// The cursor names the sort key of the last row sent, so rows added or
// removed meanwhile never shift a page.
import { ApiError } from './errors.js';
import { DEFAULT_PER_PAGE, MAX_PER_PAGE } from './paging.js';
import type { Params } from './params.js';

export interface KeyedPage<T> {
  rows: T[];
  headers: Record<string, string>;
}

/** One page of `rows` (already in order; `keyOf` strictly increasing along it). */
export function pageRows<T>(rows: T[], keyOf: (row: T) => string, params: Params): KeyedPage<T> {
  const requested = params.int('per_page');
  const perPage = requested === undefined || requested < 1 ? DEFAULT_PER_PAGE : Math.min(requested, MAX_PER_PAGE);
  const raw = params.string('cursor');
  let start = 0;
  if (raw) {
    const m = /^c2:next:([A-Za-z0-9_-]+)$/.exec(raw.trim());
    const after = m ? Buffer.from(m[1]!, 'base64url').toString('utf8') : null;
    if (after === null || after === '') throw new ApiError('bad-request/invalid-cursor', 'Invalid cursor.');
    while (start < rows.length && keyOf(rows[start]!) <= after) start++;
  }
  const page = rows.slice(start, start + perPage);
  const headers: Record<string, string> = {};
  if (start + perPage < rows.length && page.length > 0) {
    const next = `c2:next:${Buffer.from(keyOf(page.at(-1)!), 'utf8').toString('base64url')}`;
    headers['X-Files-Cursor'] = next;
    headers['X-Files-Cursor-Next'] = next;
  }
  return { rows: page, headers };
}
