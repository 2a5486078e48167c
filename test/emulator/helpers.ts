// Raw-HTTP helpers for the emulator's contract tests: one API call, one
// complete upload through begin_upload → PUT parts → end, one download.
import { request } from 'undici';
import type { RunningEmulator } from '../../src/emulator/index.js';

export const API = '/api/rest/v1';
export const MiB = 1024 * 1024;

export interface Reply {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  text: string;
  json: any; // eslint-disable-line @typescript-eslint/no-explicit-any
}

export interface CallOptions {
  query?: Record<string, string | number | boolean>;
  json?: unknown;
  form?: string;
  body?: Buffer | string;
  headers?: Record<string, string>;
}

/** Percent-encodes a whole path the way the JS SDK does (slashes included). */
export const enc = (path: string): string => encodeURIComponent(path);

export async function call(emu: RunningEmulator | string, method: string, path: string, options: CallOptions = {}): Promise<Reply> {
  const base = typeof emu === 'string' ? emu : emu.url;
  const qs = options.query ? '?' + new URLSearchParams(Object.entries(options.query).map(([k, v]): [string, string] => [k, String(v)])).toString() : '';
  const headers: Record<string, string> = { ...options.headers };
  let body: Buffer | string | undefined = options.body;
  if (options.json !== undefined) {
    body = JSON.stringify(options.json);
    headers['content-type'] = 'application/json';
  } else if (options.form !== undefined) {
    body = options.form;
    headers['content-type'] = 'application/x-www-form-urlencoded';
  }
  const url = path.startsWith('http') ? path + qs : `${base}${path}${qs}`;
  const res = await request(url, { method: method as 'GET', headers, body });
  const text = await res.body.text();
  let json: unknown;
  try {
    json = text ? JSON.parse(text) : undefined;
  } catch {
    json = undefined;
  }
  return { status: res.statusCode, headers: res.headers, text, json };
}

export async function upload(
  emu: RunningEmulator,
  path: string,
  data: Buffer,
  options: { partSize?: number; mkdirParents?: boolean; providedMtime?: string; headers?: Record<string, string>; etags?: boolean } = {},
): Promise<Reply> {
  const partSize = options.partSize ?? 5 * MiB;
  const count = Math.max(1, Math.ceil(data.length / partSize));
  const begin = await call(emu, 'POST', `${API}/file_actions/begin_upload/${enc(path)}`, {
    json: { size: data.length, parts: count, mkdir_parents: options.mkdirParents ?? true },
    headers: options.headers,
  });
  if (begin.status !== 200) return begin;
  const parts = begin.json as Array<{ upload_uri: string; part_number: number; ref: string }>;
  const etags = await Promise.all(parts.map(async (p) => {
    const chunk = data.subarray((p.part_number - 1) * partSize, p.part_number * partSize);
    const r = await request(p.upload_uri, { method: 'PUT', body: chunk, headers: { 'content-length': String(chunk.length) } });
    await r.body.text();
    if (r.statusCode !== 200) throw new Error(`part ${p.part_number}: ${r.statusCode}`);
    return { etag: String(r.headers.etag), part: p.part_number };
  }));
  return call(emu, 'POST', `${API}/files/${enc(path)}`, {
    json: {
      action: 'end', ref: parts[0]!.ref, ...(options.etags === false ? {} : { etags }), size: data.length,
      ...(options.providedMtime ? { provided_mtime: options.providedMtime } : {}),
    },
    headers: options.headers,
  });
}

export async function download(emu: RunningEmulator, path: string, headers: Record<string, string> = {}): Promise<{ status: number; body: Buffer; headers: Record<string, unknown> }> {
  const meta = await call(emu, 'GET', `${API}/files/${enc(path)}`);
  if (meta.status !== 200) throw new Error(`GET /files: ${meta.status} ${meta.text}`);
  const res = await request(meta.json.download_uri as string, { headers });
  const body = Buffer.from(await res.body.arrayBuffer());
  return { status: res.statusCode, body, headers: res.headers };
}
