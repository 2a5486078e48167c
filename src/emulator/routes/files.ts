// /api/rest/v1/files/{path}:
//   GET     download (action "" / "stat" / "redirect"): the entry, plus a
//           presigned `download_uri` unless "stat"; "redirect" answers 302
//   POST    action "put" (the JS SDK's way to open an upload and to get each
//           part's URL: one object, not an array) and action "end" (complete)
//   PATCH   provided_mtime
//   DELETE  (recursive) → 204
import type { Handler } from '../context.js';
import { downloadUri } from '../downloads.js';
import { entryJson } from '../entry-json.js';
import { ApiError } from '../errors.js';
import { sendJson, sendNoContent } from '../http-util.js';
import { parseClientTime } from '../times.js';
import { completeUpload, completedFile, openUpload, parseEtags, partJson } from '../upload-flow.js';

export const downloadFile: Handler = async (ctx, call) => {
  const node = ctx.store.get(call.path);
  if (node.type === 'directory') throw new ApiError('bad-request/cannot-download-directory', 'cannot download folder');
  const action = call.params.string('action') ?? '';
  const path = ctx.store.pathOf(node);
  if (action === 'stat') {
    sendJson(call.res, 200, entryJson(node, path), call.requestId);
    return;
  }
  const uri = downloadUri(ctx, call.origin, node);
  if (action === 'redirect') {
    call.res.writeHead(302, { Location: uri, 'Content-Length': 0, 'X-Request-Id': call.requestId, 'Cache-Control': 'no-cache, no-store, max-age=0, must-revalidate' });
    call.res.end();
    return;
  }
  sendJson(call.res, 200, entryJson(node, path, { download_uri: uri }), call.requestId);
};

export const postFile: Handler = async (ctx, call) => {
  const action = call.params.string('action') ?? 'put';
  const mkdirParents = call.params.bool('mkdir_parents');
  if (action === 'end') {
    const ref = call.params.string('ref');
    if (!ref) throw new ApiError('bad-request/request-params-required', 'ref is required to end an upload.');
    const options = {
      etags: parseEtags(call.params.list('etags')),
      size: call.params.int('size', { min: 0 }),
      provided: parseClientTime(call.params.raw('provided_mtime')),
      mkdirParents,
    };
    const again = completedFile(ctx, ref, call.path);
    if (again) {
      sendJson(call.res, 201, entryJson(again, ctx.store.pathOf(again)), call.requestId);
      return;
    }
    const upload = ctx.uploads.get(ref);
    if (!call.params.has('mkdir_parents')) options.mkdirParents = upload.mkdirParents;
    const node = await completeUpload(ctx, upload, call.path, options);
    sendJson(call.res, 201, entryJson(node, ctx.store.pathOf(node)), call.requestId);
    return;
  }
  if (action !== 'put') throw new ApiError('bad-request/request-params-invalid', `Unknown action ${JSON.stringify(action)}; use put or end.`);
  const part = call.params.int('part', { min: 1 }) ?? 1;
  const upload = await openUpload(ctx, call.path, { ref: call.params.string('ref'), mkdirParents });
  sendJson(call.res, 200, partJson(ctx, call.origin, upload, part), call.requestId);
};

export const patchFile: Handler = async (ctx, call) => {
  const node = ctx.store.get(call.path);
  const raw = call.params.raw('provided_mtime');
  if (raw !== undefined) {
    ctx.store.setProvidedMtime(node, parseClientTime(raw) ?? null);
    await ctx.store.sync();
  }
  sendJson(call.res, 200, entryJson(node, ctx.store.pathOf(node)), call.requestId);
};

export const deleteFile: Handler = async (ctx, call) => {
  ctx.store.remove(call.path, call.params.bool('recursive'));
  await ctx.store.sync();
  sendNoContent(call.res, call.requestId);
};
