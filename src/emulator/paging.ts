// Folder listing order and cursors (docs/files-api.md §2). Folders come before
// files whatever the sort; within each group entries are ordered by the sort
// field, then by name (the PathUtil comparison key, unique within a folder).
//
// A cursor is the sort key of the last entry sent (`c2:next:`) or of the
// first (`c2:prev:`), not an offset: a page resumes after that key, so
// entries added or removed elsewhere in the folder meanwhile never make an
// entry that exists throughout appear twice or go missing.
import { ApiError } from './errors.js';
import type { Params } from './params.js';
import type { Node } from './store.js';

export const SORT_FIELDS = ['path', 'size', 'modified_at_datetime', 'provided_modified_at'] as const;
export type SortField = (typeof SORT_FIELDS)[number];
export interface SortSpec {
  field: SortField;
  desc: boolean;
}

/** [0 folder | 1 file, field value, name key] */
export type SortKey = [number, number | string, string];

/** Default page size when `per_page` is absent (no source states the real one). */
export const DEFAULT_PER_PAGE = 1000;
/** The API's documented maximum rows per page. */
export const MAX_PER_PAGE = 10_000;
/** Sorts a missing provided_mtime before every real one. */
const NO_TIME = -1e15;

export function parseSort(params: Params): SortSpec {
  const sortBy = params.object('sort_by');
  if (!sortBy) return { field: 'path', desc: false };
  const fields = Object.keys(sortBy);
  if (fields.length > 1) throw new ApiError('bad-request/multiple-sort-params-not-allowed', 'Only one sort field is allowed.');
  const field = fields[0]!;
  if (!(SORT_FIELDS as readonly string[]).includes(field)) {
    throw new ApiError('bad-request/invalid-sort-field', `Cannot sort by ${JSON.stringify(field)}; use one of ${SORT_FIELDS.join(', ')}.`);
  }
  const dir = String(sortBy[field]).toLowerCase();
  if (dir !== 'asc' && dir !== 'desc') throw new ApiError('bad-request/invalid-sort-field', `Sort direction must be asc or desc, got ${JSON.stringify(dir)}.`);
  return { field: field as SortField, desc: dir === 'desc' };
}

export function sortKey(node: Node, spec: SortSpec): SortKey {
  const rank = node.type === 'directory' ? 0 : 1;
  switch (spec.field) {
    case 'path':
      return [rank, '', node.key];
    case 'size':
      return [rank, node.type === 'directory' ? 0 : node.size, node.key];
    case 'modified_at_datetime':
      return [rank, node.mtime, node.key];
    case 'provided_modified_at':
      return [rank, node.provided ?? NO_TIME, node.key];
  }
}

function cmp(a: number | string, b: number | string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

export function compareKeys(a: SortKey, b: SortKey, desc: boolean): number {
  if (a[0] !== b[0]) return a[0] - b[0];
  const d = cmp(a[1], b[1]) || cmp(a[2], b[2]);
  return desc ? -d : d;
}

const specId = (spec: SortSpec): string => `${spec.field}:${spec.desc ? 'desc' : 'asc'}`;

/** The folder's children in listing order (cached until a child changes). */
export function sortedChildren(dir: Node, spec: SortSpec): Node[] {
  const id = specId(spec);
  const cached = dir.sortCache?.get(id);
  if (cached) return cached;
  const keyed = [...dir.children!.values()].map((n) => ({ n, k: sortKey(n, spec) }));
  keyed.sort((a, b) => compareKeys(a.k, b.k, spec.desc));
  const list = keyed.map((x) => x.n);
  (dir.sortCache ??= new Map()).set(id, list);
  return list;
}

export interface Cursor {
  direction: 'next' | 'prev';
  key: SortKey;
}

export function encodeCursor(direction: 'next' | 'prev', spec: SortSpec, key: SortKey): string {
  const payload = Buffer.from(JSON.stringify({ s: specId(spec), k: key }), 'utf8').toString('base64url');
  return `c2:${direction}:${payload}`;
}

export function decodeCursor(raw: string, spec: SortSpec): Cursor {
  const invalid = (): never => {
    throw new ApiError('bad-request/invalid-cursor', 'Invalid cursor.');
  };
  const m = /^c2:(next|prev):([A-Za-z0-9_-]+)$/.exec(raw.trim());
  if (!m) return invalid();
  let value: { s?: unknown; k?: unknown };
  try {
    value = JSON.parse(Buffer.from(m[2]!, 'base64url').toString('utf8')) as { s?: unknown; k?: unknown };
  } catch {
    return invalid();
  }
  const k = value.k;
  if (!Array.isArray(k) || k.length !== 3 || (k[0] !== 0 && k[0] !== 1) || !['number', 'string'].includes(typeof k[1]) || typeof k[2] !== 'string') {
    return invalid();
  }
  if (value.s !== specId(spec)) {
    throw new ApiError('bad-request/invalid-cursor-type-for-sort', 'The cursor was made for a different sort order.');
  }
  return { direction: m[1] as 'next' | 'prev', key: k as SortKey };
}

export interface Page {
  entries: Node[];
  next: string | null;
  prev: string | null;
}

/** First index whose key is after `key` (strictly when `strict`). */
function lowerBound(list: Node[], spec: SortSpec, key: SortKey, strict: boolean): number {
  let lo = 0;
  let hi = list.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    const c = compareKeys(sortKey(list[mid]!, spec), key, spec.desc);
    if (c < 0 || (strict && c === 0)) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** One page of `dir` from `cursor` (or the start), keeping entries that pass `filter`. */
export function listPage(dir: Node, spec: SortSpec, perPage: number, cursor: Cursor | null, filter: (n: Node) => boolean): Page {
  const list = sortedChildren(dir, spec);
  let entries: Node[] = [];
  let moreAfter = false;
  let moreBefore = false;
  if (!cursor || cursor.direction === 'next') {
    let i = cursor ? lowerBound(list, spec, cursor.key, true) : 0;
    if (cursor) for (let j = i - 1; j >= 0 && !moreBefore; j--) moreBefore = filter(list[j]!);
    for (; i < list.length; i++) {
      if (!filter(list[i]!)) continue;
      if (entries.length === perPage) {
        moreAfter = true;
        break;
      }
      entries.push(list[i]!);
    }
  } else {
    let i = lowerBound(list, spec, cursor.key, false) - 1;
    for (let j = i + 1; j < list.length && !moreAfter; j++) moreAfter = filter(list[j]!);
    for (; i >= 0; i--) {
      if (!filter(list[i]!)) continue;
      if (entries.length === perPage) {
        moreBefore = true;
        break;
      }
      entries.push(list[i]!);
    }
    entries = entries.reverse();
  }
  const first = entries[0];
  const last = entries[entries.length - 1];
  return {
    entries,
    next: moreAfter && last ? encodeCursor('next', spec, sortKey(last, spec)) : null,
    prev: moreBefore && first ? encodeCursor('prev', spec, sortKey(first, spec)) : null,
  };
}
