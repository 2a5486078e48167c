// /api/rest/v1/folders/{path}: GET lists a folder one page at a time (bare
// JSON array, cursor headers exactly as docs/files-api.md §2 describes), POST
// creates a folder (201, or 422 destination-exists; refused where someone
// else's lock covers the path).
//
// Listing filters (docs/files-api.md §2, §13): `type` = `folder` or `file`;
// `modified_at_datetime` keeps entries modified after that time (the server's
// `mtime`, strictly later) and is accepted only together with `type`; `search`
// matches names (text before its last `/` ignored), or with
// `search_custom_metadata_key` custom_metadata values of that key (`*`: any
// key), case-sensitively. Choices: another `type` is 400
// `bad-request/request-params-invalid`; `modified_at_datetime` without `type`
// is 400 `bad-request/request-params-required`; a bad time is 400
// `bad-request/datetime-parse`.
import type { Handler } from '../context.js';
import { metadataMatches } from '../custom-metadata.js';
import { entryFor } from '../entry-json.js';
import { ApiError } from '../errors.js';
import { sendJson } from '../http-util.js';
import { DEFAULT_PER_PAGE, MAX_PER_PAGE, decodeCursor, listPage, parseSort } from '../paging.js';
import { normalizeForComparison } from '../../path/index.js';
import type { Node } from '../store.js';
import { parseClientTime } from '../times.js';

/** The listing's filter from `type`, `modified_at_datetime`, `search`, `search_custom_metadata_key`. */
function listFilter(call: Parameters<Handler>[1]): (n: Node) => boolean {
  const type = call.params.string('type');
  if (type !== undefined && type !== '' && type !== 'folder' && type !== 'file') {
    throw new ApiError('bad-request/request-params-invalid', `type must be folder or file, not ${JSON.stringify(type.slice(0, 40))}.`);
  }
  const wantType = type === 'folder' ? 'directory' : type === 'file' ? 'file' : null;
  const rawSince = call.params.raw('modified_at_datetime');
  const since = parseClientTime(rawSince, 'modified_at_datetime');
  if (since !== undefined && !wantType) {
    throw new ApiError('bad-request/request-params-required', 'modified_at_datetime can be used only together with type (folder or file).');
  }
  const search = call.params.string('search') ?? '';
  const metaKey = call.params.string('search_custom_metadata_key');
  const byMeta = search !== '' && metaKey !== undefined && metaKey !== '';
  const needle = search !== '' && !byMeta ? normalizeForComparison(search.slice(search.lastIndexOf('/') + 1)) : '';
  return (n) =>
    (!wantType || n.type === wantType) &&
    (since === undefined || n.mtime > since) &&
    (!needle || n.key.includes(needle)) &&
    (!byMeta || metadataMatches(n.meta, metaKey ?? '', search));
}

export const listFolder: Handler = async (ctx, call) => {
  const dir = ctx.store.get(call.path);
  if (dir.type !== 'directory') throw new ApiError('bad-request/folder-must-not-be-a-file', 'The path is a file, not a folder.');
  const spec = parseSort(call.params);
  const requested = call.params.int('per_page');
  const perPage = requested === undefined || requested < 1 ? DEFAULT_PER_PAGE : Math.min(requested, MAX_PER_PAGE);
  const rawCursor = call.params.string('cursor');
  const cursor = rawCursor ? decodeCursor(rawCursor, spec) : null;

  const page = listPage(dir, spec, perPage, cursor, listFilter(call));
  const base = ctx.store.pathOf(dir);
  const body = page.entries.map((n) => entryFor(ctx, n, base ? `${base}/${n.name}` : n.name));
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
  if (!ctx.store.resolve(call.path)) ctx.locks.assertWritable(call.path, call.who!, { folder: true });
  const node = ctx.store.mkdir(call.path, { parents: call.params.bool('mkdir_parents'), provided });
  await ctx.store.sync();
  sendJson(call.res, 201, entryFor(ctx, node), call.requestId);
};
