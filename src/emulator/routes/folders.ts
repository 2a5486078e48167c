// /api/rest/v1/folders/{path}: GET lists a folder one page at a time (bare
// JSON array, cursor headers exactly as files-api.md §2 describes), POST
// creates a folder (201, or 422 destination-exists).
import type { Handler } from '../context.js';
import { entryJson } from '../entry-json.js';
import { ApiError } from '../errors.js';
import { sendJson } from '../http-util.js';
import { DEFAULT_PER_PAGE, MAX_PER_PAGE, decodeCursor, listPage, parseSort } from '../paging.js';
import { normalizeForComparison } from '../../path/index.js';
import type { Node } from '../store.js';
import { parseClientTime } from '../times.js';

export const listFolder: Handler = async (ctx, call) => {
  const dir = ctx.store.get(call.path);
  if (dir.type !== 'directory') throw new ApiError('bad-request/folder-must-not-be-a-file', 'The path is a file, not a folder.');
  const spec = parseSort(call.params);
  const requested = call.params.int('per_page');
  const perPage = requested === undefined || requested < 1 ? DEFAULT_PER_PAGE : Math.min(requested, MAX_PER_PAGE);
  const rawCursor = call.params.string('cursor');
  const cursor = rawCursor ? decodeCursor(rawCursor, spec) : null;

  const type = call.params.string('type');
  const search = call.params.string('search');
  const needle = search ? normalizeForComparison(search) : '';
  const wantType = type === 'folder' || type === 'directory' ? 'directory' : type === 'file' ? 'file' : null;
  const filter = (n: Node): boolean => (!wantType || n.type === wantType) && (!needle || n.key.includes(needle));

  const page = listPage(dir, spec, perPage, cursor, filter);
  const base = ctx.store.pathOf(dir);
  const body = page.entries.map((n) => entryJson(n, base ? `${base}/${n.name}` : n.name));
  const headers: Record<string, string> = {};
  if (page.next) {
    headers['X-Files-Cursor'] = page.next;
    headers['X-Files-Cursor-Next'] = page.next;
  }
  if (page.prev) headers['X-Files-Cursor-Prev'] = page.prev;
  sendJson(call.res, 200, body, call.requestId, headers);
};

export const createFolder: Handler = async (ctx, call) => {
  const provided = parseClientTime(call.params.raw('provided_mtime'));
  const node = ctx.store.mkdir(call.path, { parents: call.params.bool('mkdir_parents'), provided });
  await ctx.store.sync();
  sendJson(call.res, 201, entryJson(node, ctx.store.pathOf(node)), call.requestId);
};
