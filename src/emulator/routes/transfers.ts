// The presigned transfer URLs, answered like S3 (XML errors, no API headers):
//   PUT  /s3/files-emulator/uploads/<ref>?partNumber=N&uploadId=<ref>&X-Amz-…
//        one part's raw body (Content-Length required) → 200, ETag "<md5>"
//   GET  /s3/files-emulator/blobs/<blob>?X-Amz-…   (HEAD too)
//        the bytes, with Range support
// Expired URL → 403 AccessDenied "Request has expired"; a URL whose signature
// does not match → 403 SignatureDoesNotMatch.
import type { Call, EmulatorContext, Handler } from '../context.js';
import { parseRange } from '../downloads.js';
import { RESET_AFTER_BYTES } from '../faults.js';
import { drained, sendS3Error } from '../http-util.js';
import { MAX_PARTS, MAX_PART_SIZE, PartError } from '../uploads.js';

/** Read chunk size for downloads: large when unthrottled (fewer syscalls), small when throttled (smooth rate). */
const FAST_CHUNK = 1 << 20;
const THROTTLED_CHUNK = 64 * 1024;

class ResetNow extends Error {}

function checkSignature(ctx: EmulatorContext, call: Call, method: string): boolean {
  const verdict = ctx.signer.verify(method, call.pathname, call.query);
  if (verdict === 'ok') return true;
  if (verdict === 'expired') sendS3Error(call.res, 403, 'AccessDenied', 'Request has expired', call.requestId);
  else sendS3Error(call.res, 403, 'SignatureDoesNotMatch', 'The request signature we calculated does not match the signature you provided.', call.requestId);
  return false;
}

export const putPart: Handler = async (ctx, call) => {
  const { req, res } = call;
  const socket = req.socket; // req.socket is gone once the body stream is destroyed
  if (!checkSignature(ctx, call, 'PUT')) return;
  const ref = call.id;
  const partNumber = Number(call.query.get('partNumber'));
  if (call.query.get('uploadId') !== ref || !ctx.uploads.isOpen(ref)) {
    sendS3Error(res, 404, 'NoSuchUpload', 'The specified upload does not exist. The upload ID may be invalid, or the upload may have been aborted or completed.', call.requestId);
    return;
  }
  if (!Number.isInteger(partNumber) || partNumber < 1 || partNumber > MAX_PARTS) {
    sendS3Error(res, 400, 'InvalidArgument', `Part number must be an integer between 1 and ${MAX_PARTS}, inclusive`, call.requestId);
    return;
  }
  const lengthHeader = req.headers['content-length'];
  if (lengthHeader === undefined) {
    sendS3Error(res, 411, 'MissingContentLength', 'You must provide the Content-Length HTTP header.', call.requestId);
    return;
  }
  const length = Number(lengthHeader);
  if (length > MAX_PART_SIZE) {
    sendS3Error(res, 400, 'EntityTooLarge', 'Your proposed upload exceeds the maximum allowed size', call.requestId);
    return;
  }
  const resetAt = call.fault === 'reset' ? Math.min(RESET_AFTER_BYTES, Math.floor(length / 2)) : Infinity;
  if (resetAt === 0) {
    socket.destroy();
    return;
  }
  try {
    const part = await ctx.uploads.receivePart(ref, partNumber, req, ctx.uploadThrottle, (received) => {
      if (received >= resetAt) throw new ResetNow();
    });
    res.writeHead(200, { ETag: `"${part.md5}"`, 'Content-Length': 0, 'x-amz-request-id': call.requestId });
    res.end();
  } catch (err) {
    if (err instanceof ResetNow) {
      socket.destroy();
      return;
    }
    if (err instanceof PartError) {
      sendS3Error(res, err.status, err.code, err.message, call.requestId);
      return;
    }
    // The client went away mid-body: nothing to answer.
    if (req.destroyed || socket.destroyed) return;
    throw err;
  }
};

export const getBlob: Handler = async (ctx, call) => {
  const { req, res } = call;
  if (!checkSignature(ctx, call, 'GET')) return;
  const manifest = await ctx.blobs.manifest(call.id);
  if (!manifest) {
    sendS3Error(res, 404, 'NoSuchKey', 'The specified key does not exist.', call.requestId);
    return;
  }
  const total = manifest.size;
  const range = parseRange(req.headers.range, total);
  const headers: Record<string, string | number> = {
    'Accept-Ranges': 'bytes',
    'Content-Type': call.query.get('response-content-type') ?? 'application/octet-stream',
    ETag: `"${manifest.etag}"`,
    'x-amz-request-id': call.requestId,
  };
  const disposition = call.query.get('response-content-disposition');
  if (disposition) headers['Content-Disposition'] = disposition;
  const cacheControl = call.query.get('response-cache-control');
  if (cacheControl) headers['Cache-Control'] = cacheControl;
  if (range.kind === 'unsatisfiable') {
    sendS3Error(res, 416, 'InvalidRange', 'The requested range is not satisfiable', call.requestId, { 'Content-Range': `bytes */${total}`, 'Accept-Ranges': 'bytes' });
    return;
  }
  const start = range.kind === 'range' ? range.start : 0;
  const end = range.kind === 'range' ? range.end : total - 1;
  const length = end - start + 1;
  headers['Content-Length'] = length;
  if (range.kind === 'range') headers['Content-Range'] = `bytes ${start}-${end}/${total}`;
  res.writeHead(range.kind === 'range' ? 206 : 200, headers);
  if (req.method === 'HEAD' || length === 0) {
    res.end();
    return;
  }
  const throttle = ctx.downloadThrottle;
  const resetAt = call.fault === 'reset' ? Math.max(1, Math.min(RESET_AFTER_BYTES, Math.floor(length / 2))) : Infinity;
  let sent = 0;
  for await (let chunk of ctx.blobs.read(call.id, manifest, start, end, throttle.bytesPerSecond ? THROTTLED_CHUNK : FAST_CHUNK)) {
    if (res.destroyed) break;
    if (sent + chunk.length >= resetAt) chunk = chunk.subarray(0, resetAt - sent);
    if (throttle.bytesPerSecond) await throttle.take(chunk.length);
    sent += chunk.length;
    if (sent >= resetAt) {
      // Let these bytes leave, then drop the connection mid-body.
      res.write(chunk, () => res.socket?.destroy());
      return;
    }
    const ok = res.write(chunk);
    if (!ok && !(await drained(res))) break;
  }
  res.end();
};
