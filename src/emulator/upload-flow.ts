// The API side of an upload (docs/files-api.md §5), shared by begin_upload, the JS
// SDK's `POST /files/{path}` action "put", action "end", and the demo seed:
// opening an upload, describing part slots with their presigned PUT URLs, and
// completing it, which makes the new content visible in one step. Opening and
// completing check the target against locks (locks.ts) and the folder's
// behaviors (upload-behaviors.ts), which may also rename the file at `end`.
import { isSame, normalize } from '../path/index.js';
import type { Identity } from './auth.js';
import type { EmulatorContext } from './context.js';
import { ApiError, uploadNotFound } from './errors.js';
import type { Node } from './store.js';
import { formatTime, type EpochSeconds } from './times.js';
import { checkUploadName, finalUploadPath } from './upload-behaviors.js';
import { MAX_PARTS, PART_SIZE, type Upload } from './uploads.js';

export const UPLOAD_PATH_PREFIX = '/s3/files-emulator/uploads/';

export interface OpenOptions {
  ref?: string | undefined;
  mkdirParents: boolean;
  who: Identity;
}

/** Opens a new upload for `path`, or continues `ref` (which must be for the same path). */
export async function openUpload(ctx: EmulatorContext, path: string, options: OpenOptions): Promise<Upload> {
  if (options.ref) {
    const upload = ctx.uploads.get(options.ref);
    if (!isSame(upload.path, path)) throw uploadNotFound();
    return upload;
  }
  ctx.store.checkNewFile(path, options.mkdirParents);
  checkUploadName(ctx, path);
  ctx.locks.assertWritable(path, options.who, { folder: false });
  return ctx.uploads.create(normalize(path), options.mkdirParents);
}

/** One part slot as begin_upload describes it (the 2024 recording's fields). */
export function partJson(ctx: EmulatorContext, origin: string, upload: Upload, part: number): Record<string, unknown> {
  if (part < 1 || part > MAX_PARTS) throw new ApiError('bad-request/part-number-too-large', `Part numbers run from 1 to ${MAX_PARTS}.`);
  const ttl = ctx.settings.uploadTtlSeconds;
  const pathname = UPLOAD_PATH_PREFIX + upload.ref;
  const query = ctx.signer.sign('PUT', pathname, { partNumber: String(part), uploadId: upload.ref }, ttl);
  const exists = ctx.store.resolve(upload.path)?.type === 'file';
  return {
    send: { partsize: 'required-header Content-Length', partdata: 'body' },
    action: 'put/write',
    ask_about_overwrites: exists,
    available_parts: MAX_PARTS,
    expires: formatTime(Math.floor(Date.now() / 1000) + ttl),
    headers: {},
    http_method: 'PUT',
    next_partsize: PART_SIZE,
    parallel_parts: true,
    retry_parts: true,
    parameters: {},
    part_number: part,
    partsize: PART_SIZE,
    path: upload.path,
    ref: upload.ref,
    upload_uri: `${origin}${pathname}?${query}`,
  };
}

export interface EndOptions {
  etags: Array<{ part: number; etag: string }> | null;
  size: number | undefined;
  provided: EpochSeconds | undefined;
  mkdirParents: boolean;
  who: Identity;
}

/** `etags` in any shape the SDKs send: quoted or bare, part as string or number. */
export function parseEtags(list: unknown[] | undefined): Array<{ part: number; etag: string }> | null {
  if (!list) return null;
  return list.map((item) => {
    const o = (item ?? {}) as Record<string, unknown>;
    const part = Number(typeof o.part === 'string' ? o.part.trim() : o.part);
    if (!Number.isInteger(part) || part < 1 || part > MAX_PARTS) {
      throw new ApiError('bad-request/invalid-etags', `Invalid part number in etags: ${JSON.stringify(o.part)}.`);
    }
    const etag = String(o.etag ?? '').trim().replace(/^"(.*)"$/, '$1').toLowerCase();
    return { part, etag };
  });
}

/**
 * Completes `upload` as the file at `path` (or where the folder's behaviors
 * rename it to): picks and checks the parts, turns them into a blob without
 * copying, and swaps the file's content in one step.
 */
export async function completeUpload(ctx: EmulatorContext, upload: Upload, requested: string, options: EndOptions): Promise<Node> {
  if (!isSame(upload.path, requested)) throw uploadNotFound();
  const path = finalUploadPath(ctx, normalize(requested), new Date());
  ctx.store.checkNewFile(path, options.mkdirParents);
  ctx.locks.assertWritable(path, options.who, { folder: false });
  const parts = await ctx.uploads.beginCompletion(upload, options.etags, options.size);
  const uploadDir = ctx.uploads.dirOf(upload.ref);
  let adopted: { id: string; size: number; etag: string };
  try {
    const { id, manifest } = await ctx.blobs.adopt(uploadDir, parts.map((p) => ({ file: p.file, size: p.size })), parts.map((p) => p.md5));
    adopted = { id, size: manifest.size, etag: manifest.etag };
  } catch (err) {
    ctx.uploads.reopen(upload);
    throw err;
  }
  let node: Node;
  try {
    node = ctx.store.putFile(path, { blob: adopted.id, size: adopted.size, etag: adopted.etag }, { parents: options.mkdirParents, provided: options.provided }).node;
  } catch (err) {
    await ctx.blobs.revert(adopted.id, uploadDir).catch(() => undefined);
    ctx.uploads.reopen(upload);
    throw err;
  }
  ctx.uploads.finish(upload);
  ctx.completed.set(upload.ref, { nodeId: node.id, path: normalize(requested), at: Date.now() });
  await ctx.store.sync();
  // What the upload's directory held besides the parts used: its upload.json and parts `end` left out.
  const leftovers = ['upload.json', ...[...upload.parts.values()].map((p) => p.file)];
  void ctx.blobs.finishAdoption(adopted.id, leftovers).catch(() => undefined);
  // A one-part file's hashes are its part's, known since the PUT: nothing to read again.
  const only = parts.length === 1 ? parts[0]! : undefined;
  const known = only && only.crc32 !== undefined ? { md5: only.md5, crc32: only.crc32 } : undefined;
  ctx.hasher.enqueue(node.id, adopted.id, known);
  return node;
}

/** Completed refs are remembered this long, so a retried `end` gets the file again. */
const COMPLETED_MEMORY_MS = 10 * 60 * 1000;

/** The file an already completed `ref` produced, if it is recent and still there. */
export function completedFile(ctx: EmulatorContext, ref: string, path: string): Node | undefined {
  const now = Date.now();
  // Oldest first (insertion order): stop at the first one still remembered.
  for (const [r, c] of ctx.completed) {
    if (now - c.at <= COMPLETED_MEMORY_MS) break;
    ctx.completed.delete(r);
  }
  const done = ctx.completed.get(ref);
  const node = done && isSame(done.path, path) ? ctx.store.byId(done.nodeId) : undefined;
  return node;
}
