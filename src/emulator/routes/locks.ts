// /api/rest/v1/locks/{path} (locks.ts has the rules):
//   POST    {timeout, exclusive, recursive, allow_access_by_any_user} → 201 the lock
//   GET     {include_children, per_page, cursor} → the locks (paged list)
//   DELETE  {token} (query or JSON body, as the SDKs send it) → 204
import type { Handler } from '../context.js';
import { ApiError } from '../errors.js';
import { sendJson, sendNoContent } from '../http-util.js';
import { pageRows } from '../list-paging.js';
import { Locks } from '../locks.js';
import { checkNewPath } from '../names.js';

export const createLock: Handler = async (ctx, call) => {
  checkNewPath(call.path);
  const lock = ctx.locks.create(call.path, call.who!, {
    timeoutSeconds: call.params.int('timeout', { min: 0 }),
    exclusive: call.params.bool('exclusive'),
    recursive: call.params.bool('recursive'),
    allowAccessByAnyUser: call.params.bool('allow_access_by_any_user'),
  });
  await ctx.store.sync();
  sendJson(call.res, 201, ctx.locks.json(lock), call.requestId);
};

export const listLocks: Handler = async (ctx, call) => {
  const all = ctx.locks.list(call.path, call.params.bool('include_children'));
  const page = pageRows(all, Locks.sortKey, call.params);
  sendJson(call.res, 200, page.rows.map((l) => ctx.locks.json(l)), call.requestId, page.headers);
};

export const deleteLock: Handler = async (ctx, call) => {
  const token = call.params.string('token');
  if (!token) throw new ApiError('bad-request/request-params-required', 'token is required to release a lock.');
  ctx.locks.release(call.path, token, call.who!);
  await ctx.store.sync();
  sendNoContent(call.res, call.requestId);
};
