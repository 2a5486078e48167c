// /api/rest/v1/file_actions/...:
//   metadata/{path}       GET → the entry (files and folders; '' is the root)
//   begin_upload/{path}   POST → a JSON array of part slots (`part`, `parts`, `ref`)
//   move/{path}, copy/{path}  POST {destination, overwrite} → 201 FileAction:
//       a file completes at once ({"status":"completed"}); a folder answers
//       {"status":"pending","file_migration_id":n} and is done asynchronously
import { normalize } from '../../path/index.js';
import type { Handler } from '../context.js';
import { entryJson } from '../entry-json.js';
import { ApiError } from '../errors.js';
import { sendJson } from '../http-util.js';
import { openUpload, partJson } from '../upload-flow.js';
import { MAX_PARTS } from '../uploads.js';

export const metadata: Handler = async (ctx, call) => {
  const node = ctx.store.get(call.path);
  sendJson(call.res, 200, entryJson(node, ctx.store.pathOf(node)), call.requestId);
};

export const beginUpload: Handler = async (ctx, call) => {
  const first = call.params.int('part', { min: 1 }) ?? 1;
  if (first > MAX_PARTS) throw new ApiError('bad-request/part-number-too-large', `Part numbers run from 1 to ${MAX_PARTS}.`);
  const count = Math.min(call.params.int('parts', { min: 1 }) ?? 1, MAX_PARTS - first + 1);
  const upload = await openUpload(ctx, call.path, { ref: call.params.string('ref'), mkdirParents: call.params.bool('mkdir_parents') });
  const parts = Array.from({ length: count }, (_, i) => partJson(ctx, call.origin, upload, first + i));
  sendJson(call.res, 200, parts, call.requestId);
};

function transfer(op: 'move' | 'copy'): Handler {
  return async (ctx, call) => {
    const destination = call.params.string('destination');
    if (destination === undefined) throw new ApiError('bad-request/request-params-required', 'destination is required.');
    const overwrite = call.params.bool('overwrite');
    const plan = ctx.store.planTransfer(op, call.path, destination, overwrite);
    if (plan.source.type === 'file') {
      if (op === 'move') ctx.store.move(plan);
      else ctx.store.copy(plan);
      await ctx.store.sync();
      sendJson(call.res, 201, { status: 'completed' }, call.requestId);
      return;
    }
    const sourcePath = ctx.store.pathOf(plan.source);
    const migration = ctx.migrations.start(op, sourcePath, normalize(destination), ctx.store.countFiles(plan.source), async () => {
      const now = ctx.store.planTransfer(op, sourcePath, destination, overwrite);
      const files = ctx.store.countFiles(now.source);
      if (op === 'move') ctx.store.move(now);
      else ctx.store.copy(now);
      await ctx.store.sync();
      return files;
    });
    sendJson(call.res, 201, { status: 'pending', file_migration_id: migration.id }, call.requestId);
  };
}

export const move = transfer('move');
export const copy = transfer('copy');
