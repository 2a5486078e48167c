// Small HTTP helpers shared by the routes: JSON answers with the headers the
// real API sends, error answers in the API's JSON shape or in S3's XML shape
// (for the presigned transfer URLs), and bounded request-body reading.
import type { IncomingMessage, ServerResponse } from 'node:http';
import { ApiError } from './errors.js';
import { MAX_API_BODY_BYTES } from './params.js';

/** Headers the real API sends on every answer (docs/files-api.md §1). */
const API_HEADERS = {
  'Cache-Control': 'no-cache, no-store, max-age=0, must-revalidate',
  Expires: 'Fri, 01 Jan 1990 00:00:00 GMT',
  Pragma: 'no-cache',
};

export function sendJson(res: ServerResponse, status: number, body: unknown, requestId: string, headers: Record<string, string> = {}): void {
  const text = JSON.stringify(body);
  res.writeHead(status, {
    ...API_HEADERS,
    'Content-Type': 'application/json',
    'Content-Length': Buffer.byteLength(text),
    'X-Request-Id': requestId,
    ...headers,
  });
  res.end(text);
}

export function sendNoContent(res: ServerResponse, requestId: string): void {
  res.writeHead(204, { ...API_HEADERS, 'X-Request-Id': requestId });
  res.end();
}

export function sendApiError(res: ServerResponse, err: ApiError, requestId: string): void {
  sendJson(res, err.status, err.body(requestId), requestId, { 'X-Files-Error-Class': err.type, ...err.headers });
}

function xmlEscape(text: string): string {
  return text.replace(/[<>&'"]/g, (c) => ({ '<': '&lt;', '>': '&gt;', '&': '&amp;', "'": '&apos;', '"': '&quot;' })[c]!);
}

/** An S3-style error (transfer URLs): XML body, `x-amz-request-id`. */
export function sendS3Error(res: ServerResponse, status: number, code: string, message: string, requestId: string, headers: Record<string, string> = {}): void {
  const body = `<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>${xmlEscape(code)}</Code><Message>${xmlEscape(message)}</Message><RequestId>${requestId}</RequestId></Error>`;
  res.writeHead(status, {
    'Content-Type': 'application/xml',
    'Content-Length': Buffer.byteLength(body),
    'x-amz-request-id': requestId,
    ...headers,
  });
  res.end(body);
}

/** Reads a whole (small) API request body. */
export async function readBody(req: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > MAX_API_BODY_BYTES) throw new ApiError('bad-request/invalid-body', 'The request body is too large.');
    chunks.push(chunk);
  }
  return Buffer.concat(chunks);
}

/** Waits for 'drain' unless the response closes first (then resolves false). */
export function drained(res: ServerResponse): Promise<boolean> {
  return new Promise((resolve) => {
    const done = (ok: boolean) => {
      res.off('drain', onDrain);
      res.off('close', onClose);
      resolve(ok);
    };
    const onDrain = () => done(true);
    const onClose = () => done(false);
    res.on('drain', onDrain);
    res.on('close', onClose);
  });
}
