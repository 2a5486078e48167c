// Downloads (docs/files-api.md §4): the `download_uri` handed out by GET /files is
// a presigned URL on the emulator itself, bound to the content version (blob)
// current when it was issued and valid for `downloadTtlSeconds`. It answers
// like S3: `Accept-Ranges: bytes`, an ETag, a single `Range` → 206 with
// `Content-Range`, unsatisfiable → 416 with `Content-Range: bytes */total`,
// several ranges → the whole object (S3 does not do multipart ranges).
import type { EmulatorContext } from './context.js';
import { Signer } from './signing.js';
import type { Node } from './store.js';
import { mimeTypeOf } from './entry-json.js';

export const DOWNLOAD_PATH_PREFIX = '/s3/files-emulator/blobs/';

export type RangeRequest = { kind: 'none' } | { kind: 'range'; start: number; end: number } | { kind: 'unsatisfiable' };

/** Parses a Range header against an object of `total` bytes (RFC 9110 §14). */
export function parseRange(header: string | undefined, total: number): RangeRequest {
  if (!header) return { kind: 'none' };
  const m = /^\s*bytes\s*=\s*(\d*)\s*-\s*(\d*)\s*$/i.exec(header);
  if (!m) return { kind: 'none' }; // malformed or several ranges: ignore it, send everything
  const [, a, b] = m;
  if (a === '' && b === '') return { kind: 'none' };
  if (a === '') {
    const n = Number(b);
    if (n === 0 || total === 0) return { kind: 'unsatisfiable' };
    return { kind: 'range', start: Math.max(0, total - n), end: total - 1 };
  }
  const start = Number(a);
  const end = b === '' ? total - 1 : Number(b);
  if (b !== '' && end < start) return { kind: 'none' };
  if (start >= total) return { kind: 'unsatisfiable' };
  return { kind: 'range', start, end: Math.min(end, total - 1) };
}

/** A presigned URL for the file's current content; keeps that content alive until it expires. */
export function downloadUri(ctx: EmulatorContext, origin: string, node: Node): string {
  const ttl = ctx.settings.downloadTtlSeconds;
  const pathname = DOWNLOAD_PATH_PREFIX + node.blob!;
  const filename = node.name.replace(/[^\x20-\x7e]|["\\]/g, '_'); // header-safe ASCII; filename* has the real name
  const query = ctx.signer.sign('GET', pathname, {
    'response-cache-control': 'no-cache, no-store',
    'response-content-disposition': `attachment; filename="${filename}"; filename*=UTF-8''${encodeURIComponent(node.name)}`,
    'response-content-type': mimeTypeOf(node.name),
  }, ttl);
  ctx.blobs.retain(node.blob!, Signer.expiryOf(new URLSearchParams(query)));
  return `${origin}${pathname}?${query}`;
}
