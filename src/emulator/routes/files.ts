// /api/rest/v1/files/{path}:
//   GET     download (action "" / "stat" / "redirect"): the entry, plus a
//           presigned `download_uri` unless "stat"; "redirect" answers 302
//   POST    action "put" (the JS SDK's way to open an upload and to get each
//           part's URL: one object, not an array) and action "end" (complete)
//   PATCH   provided_mtime, custom_metadata (replaces the whole object)
//   DELETE  (recursive) → 204
// Changes are refused on paths locked by someone else (locks.ts).
import type { Handler } from '../context.js';
import { parseCustomMetadata } from '../custom-metadata.js';
import { downloadUri } from '../downloads.js';
import { entryFor } from '../entry-json.js';
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
    sendJson(call.res, 200, entryFor(ctx, node, path), call.requestId);
    return;
  }
  const uri = downloadUri(ctx, call.origin, node);
  if (action === 'redirect') {
    call.res.writeHead(302, { Location: uri, 'Content-Length': 0, 'X-Request-Id': call.requestId, 'Cache-Control': 'no-cache, no-store, max-age=0, must-revalidate' });
    call.res.end();
    return;
  }
  sendJson(call.res, 200, entryFor(ctx, node, path, { download_uri: uri }), call.requestId);
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
      who: call.who!,
    };
    const again = completedFile(ctx, ref, call.path);
    if (again) {
      sendJson(call.res, 201, entryFor(ctx, again), call.requestId);
      return;
    }
    const upload = ctx.uploads.get(ref);
    if (!call.params.has('mkdir_parents')) options.mkdirParents = upload.mkdirParents;
    const node = await completeUpload(ctx, upload, call.path, options);
    sendJson(call.res, 201, entryFor(ctx, node), call.requestId);
    return;
  }
  if (action !== 'put') throw new ApiError('bad-request/request-params-invalid', `Unknown action ${JSON.stringify(action)}; use put or end.`);
  const part = call.params.int('part', { min: 1 }) ?? 1;
  const upload = await openUpload(ctx, call.path, { ref: call.params.string('ref'), mkdirParents, who: call.who! });
  sendJson(call.res, 200, partJson(ctx, call.origin, upload, part), call.requestId);
};

export const patchFile: Handler = async (ctx, call) => {
  const node = ctx.store.get(call.path);
  const path = ctx.store.pathOf(node);
  const rawTime = call.params.raw('provided_mtime');
  const provided = rawTime === undefined ? undefined : (parseClientTime(rawTime) ?? null);
  const rawMeta = call.params.raw('custom_metadata');
  const meta = rawMeta === undefined ? undefined : parseCustomMetadata(rawMeta);
  if (provided !== undefined || meta !== undefined) {
    ctx.locks.assertWritable(path, call.who!, { folder: node.type === 'directory' });
    if (provided !== undefined) ctx.store.setProvidedMtime(node, provided);
    if (meta !== undefined) ctx.store.setCustomMetadata(node, meta);
    await ctx.store.sync();
  }
  sendJson(call.res, 200, entryFor(ctx, node, path), call.requestId);
};

export const deleteFile: Handler = async (ctx, call) => {
  const node = ctx.store.get(call.path);
  // The root is refused by remove() as an invalid path, whatever the locks.
  if (node.parent) ctx.locks.assertWritable(ctx.store.pathOf(node), call.who!, { folder: node.type === 'directory', subtree: true });
  ctx.store.remove(call.path, call.params.bool('recursive'));
  await ctx.store.sync();
  sendNoContent(call.res, call.requestId);
};
