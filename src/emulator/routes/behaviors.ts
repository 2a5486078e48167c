// /api/rest/v1/behaviors (behaviors.ts has the rules; the SDKs' Behavior model):
//   POST   /behaviors {path, behavior, value, name, description, recursive,
//          disable_parent_folder_behavior} → 201 the behavior
//   GET    /behaviors (filter[behavior], per_page, cursor) → the behaviors
//   GET    /behaviors/{id} → one;  PATCH /behaviors/{id} → 200 updated;  DELETE → 204
//   GET    /behaviors/folders/{path} (ancestor_behaviors) → those on a folder
import type { Call, Handler } from '../context.js';
import type { BehaviorInput } from '../behaviors.js';
import { ApiError } from '../errors.js';
import { sendJson, sendNoContent } from '../http-util.js';
import { pageRows } from '../list-paging.js';

function optionalBool(call: Call, name: string): boolean | undefined {
  const raw = call.params.raw(name);
  return raw === undefined || raw === null || raw === '' ? undefined : call.params.bool(name);
}

function input(call: Call): BehaviorInput {
  return {
    value: call.params.raw('value'),
    name: call.params.string('name'),
    description: call.params.string('description'),
    recursive: optionalBool(call, 'recursive'),
    disableParent: optionalBool(call, 'disable_parent_folder_behavior'),
  };
}

function behaviorId(call: Call): number {
  if (!/^\d+$/.test(call.id)) throw new ApiError('not-found', 'Not Found.  This may be related to your permissions.');
  return Number(call.id);
}

const byId = (id: number): string => String(id).padStart(12, '0');

export const createBehavior: Handler = async (ctx, call) => {
  const path = call.params.string('path');
  const type = call.params.string('behavior');
  if (path === undefined) throw new ApiError('bad-request/request-params-required', 'path is required.');
  if (!type) throw new ApiError('bad-request/request-params-required', 'behavior is required.');
  const folder = ctx.store.get(path);
  const b = ctx.behaviors.create(folder, type, input(call));
  await ctx.store.sync();
  sendJson(call.res, 201, ctx.behaviors.json(b), call.requestId);
};

export const listBehaviors: Handler = async (ctx, call) => {
  const filter = call.params.object('filter');
  const type = filter && typeof filter.behavior === 'string' ? filter.behavior : undefined;
  const page = pageRows(ctx.behaviors.all(type), (b) => byId(b.id), call.params);
  sendJson(call.res, 200, page.rows.map((b) => ctx.behaviors.json(b)), call.requestId, page.headers);
};

export const getBehavior: Handler = async (ctx, call) => {
  sendJson(call.res, 200, ctx.behaviors.json(ctx.behaviors.get(behaviorId(call))), call.requestId);
};

export const updateBehavior: Handler = async (ctx, call) => {
  const b = ctx.behaviors.update(behaviorId(call), input(call));
  await ctx.store.sync();
  sendJson(call.res, 200, ctx.behaviors.json(b), call.requestId);
};

export const deleteBehavior: Handler = async (ctx, call) => {
  ctx.behaviors.delete(behaviorId(call));
  await ctx.store.sync();
  sendNoContent(call.res, call.requestId);
};

export const listFolderBehaviors: Handler = async (ctx, call) => {
  const folder = ctx.store.get(call.path);
  if (folder.type !== 'directory') throw new ApiError('bad-request/folder-must-not-be-a-file', 'The path is a file, not a folder.');
  const list = ctx.behaviors.on(folder, call.params.bool('ancestor_behaviors'));
  const order = new Map(list.map((b, i) => [b.id, String(i).padStart(12, '0')]));
  const page = pageRows(list, (b) => order.get(b.id)!, call.params);
  sendJson(call.res, 200, page.rows.map((b) => ctx.behaviors.json(b)), call.requestId, page.headers);
};
