// /api/rest/v1/file_actions/...:
//   metadata/{path}       GET → the entry (files and folders; '' is the root)
//   begin_upload/{path}   POST → a JSON array of part slots (`part`, `parts`, `ref`)
//   move/{path}, copy/{path}  POST {destination, overwrite, copy_behaviors} → 201 FileAction:
//       a file completes at once ({"status":"completed"}); a folder answers
//       {"status":"pending","file_migration_id":n} and is done asynchronously
// Moves and copies are refused where locks held by others cover the source
// (move) or the destination, and where the destination folder's name limits
// refuse the entry (upload-behaviors.ts); both are checked again when a
// folder migration runs.
import { normalize } from '../../path/index.js';
import type { Identity } from '../auth.js';
import type { EmulatorContext, Handler } from '../context.js';
import { entryFor } from '../entry-json.js';
import { ApiError } from '../errors.js';
import { sendJson } from '../http-util.js';
import type { TransferPlan } from '../store.js';
import { checkArrival } from '../upload-behaviors.js';
import { openUpload, partJson } from '../upload-flow.js';
import { MAX_PARTS } from '../uploads.js';

export const metadata: Handler = async (ctx, call) => {
  const node = ctx.store.get(call.path);
  sendJson(call.res, 200, entryFor(ctx, node), call.requestId);
};

export const beginUpload: Handler = async (ctx, call) => {
  const first = call.params.int('part', { min: 1 }) ?? 1;
  if (first > MAX_PARTS) throw new ApiError('bad-request/part-number-too-large', `Part numbers run from 1 to ${MAX_PARTS}.`);
  const count = Math.min(call.params.int('parts', { min: 1 }) ?? 1, MAX_PARTS - first + 1);
  const upload = await openUpload(ctx, call.path, { ref: call.params.string('ref'), mkdirParents: call.params.bool('mkdir_parents'), who: call.who! });
  const parts = Array.from({ length: count }, (_, i) => partJson(ctx, call.origin, upload, first + i));
  sendJson(call.res, 200, parts, call.requestId);
};

/** Locks and folder limits that stand in the way of `plan` for `who`. */
function checkTransfer(ctx: EmulatorContext, op: 'move' | 'copy', plan: TransferPlan, destination: string, who: Identity): void {
  const folder = plan.source.type === 'directory';
  if (op === 'move') ctx.locks.assertWritable(ctx.store.pathOf(plan.source), who, { folder, subtree: true });
  const existing = plan.existing;
  ctx.locks.assertWritable(destination, who, { folder: existing ? existing.type === 'directory' : folder, subtree: existing?.type === 'directory' });
  const sameFolder = plan.destParent === plan.source.parent;
  if (!folder || !sameFolder) checkArrival(ctx, destination, folder);
}

function transfer(op: 'move' | 'copy'): Handler {
  return async (ctx, call) => {
    const raw = call.params.string('destination');
    if (raw === undefined) throw new ApiError('bad-request/request-params-required', 'destination is required.');
    const destination = normalize(raw);
    const overwrite = call.params.bool('overwrite');
    const copyBehaviors = op === 'copy' && call.params.bool('copy_behaviors');
    const who = call.who!;
    const plan = ctx.store.planTransfer(op, call.path, destination, overwrite);
    checkTransfer(ctx, op, plan, destination, who);
    if (plan.source.type === 'file') {
      if (op === 'move') ctx.store.move(plan);
      else ctx.store.copy(plan);
      await ctx.store.sync();
      sendJson(call.res, 201, { status: 'completed' }, call.requestId);
      return;
    }
    const sourcePath = ctx.store.pathOf(plan.source);
    const migration = ctx.migrations.start(op, sourcePath, destination, ctx.store.countFiles(plan.source), async () => {
      const now = ctx.store.planTransfer(op, sourcePath, destination, overwrite);
      checkTransfer(ctx, op, now, destination, who);
      const files = ctx.store.countFiles(now.source);
      if (op === 'move') ctx.store.move(now);
      else {
        const copy = ctx.store.copy(now);
        if (copyBehaviors) ctx.behaviors.copyInto(now.source, copy);
      }
      await ctx.store.sync();
      return files;
    });
    sendJson(call.res, 201, { status: 'pending', file_migration_id: migration.id }, call.requestId);
  };
}

export const move = transfer('move');
export const copy = transfer('copy');
