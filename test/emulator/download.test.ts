// Downloads (docs/files-api.md §4): GET /files actions, the presigned URL (no API
// key, expiring, bound to one content version), Range requests and 416.
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { request } from 'undici';
import { describe, expect, it } from 'vitest';
import { useEmulator } from '../support/emulator.js';
import { API, call, upload } from './helpers.js';

async function get(uri: string, headers: Record<string, string> = {}, method: 'GET' | 'HEAD' = 'GET') {
  const r = await request(uri, { method, headers });
  return { status: r.statusCode, headers: r.headers, body: Buffer.from(await r.body.arrayBuffer()) };
}

describe('download', () => {
  const emu = useEmulator({ apiKey: 'download-test-key-1' });
  const auth = { 'X-FilesAPI-Key': 'download-test-key-1' };
  const data = randomBytes(100_000);
  let uri = '';

  it('gives the entry plus a download_uri; stat without; redirect as 302; 400 for a folder', async () => {
    expect((await upload(emu(), 'd/file.bin', data, { headers: auth })).status).toBe(201);
    const r = await call(emu(), 'GET', `${API}/files/d/file.bin`, { headers: auth });
    expect(r.status).toBe(200);
    expect(r.json).toMatchObject({ path: 'd/file.bin', size: 100_000, type: 'file' });
    uri = r.json.download_uri;
    const u = new URL(uri);
    expect(u.searchParams.get('X-Amz-Expires')).toBe('60');
    expect(u.searchParams.get('X-Amz-Date')).toMatch(/^\d{8}T\d{6}Z$/);
    expect(r.headers['x-files-cursor']).toBeUndefined();
    const stat = await call(emu(), 'GET', `${API}/files/d/file.bin`, { headers: auth, query: { action: 'stat' } });
    expect(stat.json).not.toHaveProperty('download_uri');
    const redirect = await call(emu(), 'GET', `${API}/files/d/file.bin`, { headers: auth, query: { action: 'redirect' } });
    expect(redirect.status).toBe(302);
    expect(String(redirect.headers.location)).toContain('/s3/files-emulator/blobs/');
    const dir = await call(emu(), 'GET', `${API}/files/d`, { headers: auth });
    expect(dir.status).toBe(400);
    expect(dir.json).toMatchObject({ type: 'bad-request/cannot-download-directory', error: 'cannot download folder' });
    expect((await call(emu(), 'GET', `${API}/files/d/none`, { headers: auth })).status).toBe(404);
  });

  it('serves the whole body (no API key needed) and byte ranges', async () => {
    const whole = await get(uri);
    expect(whole.status).toBe(200);
    expect(whole.body.equals(data)).toBe(true);
    expect(whole.headers['accept-ranges']).toBe('bytes');
    expect(whole.headers['content-length']).toBe('100000');
    expect(whole.headers.etag).toMatch(/^"[0-9a-f]{32}-1"$/);
    expect(whole.headers['content-disposition']).toContain('attachment; filename="file.bin"');
    const cases: Array<[string, number, number]> = [
      ['bytes=0-0', 0, 0], // first byte
      ['bytes=99999-99999', 99_999, 99_999], // last byte
      ['bytes=10-19', 10, 19],
      ['bytes=99990-200000', 99_990, 99_999], // end past the end is clamped
      ['bytes=-10', 99_990, 99_999], // suffix
      ['bytes=-200000', 0, 99_999], // suffix longer than the file
      ['bytes=50000-', 50_000, 99_999], // open-ended
    ];
    for (const [range, a, b] of cases) {
      const r = await get(uri, { Range: range });
      expect(r.status, range).toBe(206);
      expect(r.headers['content-range'], range).toBe(`bytes ${a}-${b}/100000`);
      expect(r.headers['content-length'], range).toBe(String(b - a + 1));
      expect(r.body.equals(data.subarray(a, b + 1)), range).toBe(true);
    }
    for (const range of ['bytes=100000-', 'bytes=100000-100005', 'bytes=-0']) {
      const r = await get(uri, { Range: range });
      expect(r.status, range).toBe(416);
      expect(r.headers['content-range'], range).toBe('bytes */100000');
    }
    // Malformed or multiple ranges are ignored (the whole object, like S3).
    for (const range of ['bytes=5-1', 'items=0-1', 'bytes=0-1,5-6']) {
      const r = await get(uri, { Range: range });
      expect(r.status, range).toBe(200);
      expect(r.body.length).toBe(100_000);
    }
    const head = await get(uri, {}, 'HEAD');
    expect(head.status).toBe(200);
    expect(head.headers['content-length']).toBe('100000');
    expect(head.body.length).toBe(0);
  });

  it('answers ranges on an empty file with 416 and the whole (empty) body without', async () => {
    await upload(emu(), 'd/empty', Buffer.alloc(0), { headers: auth });
    const u = (await call(emu(), 'GET', `${API}/files/d/empty`, { headers: auth })).json.download_uri;
    expect((await get(u)).status).toBe(200);
    const r = await get(u, { Range: 'bytes=0-' });
    expect(r.status).toBe(416);
    expect(r.headers['content-range']).toBe('bytes */0');
  });
});

describe('download URL lifetime', () => {
  const emu = useEmulator({ downloadTtlSeconds: 3, apiKey: 'download-test-key-2' });
  const auth = { 'X-FilesAPI-Key': 'download-test-key-2' };
  const data = randomBytes(1000);

  it('binds a URL to the content it was issued for, and expires it (403)', async () => {
    await upload(emu(), 'd/file.bin', data, { headers: auth });
    const before = (await call(emu(), 'GET', `${API}/files/d/file.bin`, { headers: auth })).json.download_uri;
    const newer = randomBytes(5000);
    await upload(emu(), 'd/file.bin', newer, { headers: auth });
    // The old URL still serves the old bytes until it expires…
    const old = await get(before);
    expect(old.status).toBe(200);
    expect(old.body.equals(data)).toBe(true);
    await new Promise((r) => setTimeout(r, 3100));
    const expired = await get(before);
    expect(expired.status).toBe(403);
    expect(expired.body.toString()).toContain('Request has expired');
    const tampered = await get(before.replace(/X-Amz-Signature=[0-9a-f]{4}/, 'X-Amz-Signature=0000'));
    expect(tampered.status).toBe(403);
    const fresh = (await call(emu(), 'GET', `${API}/files/d/file.bin`, { headers: auth })).json.download_uri;
    expect((await get(fresh)).body.equals(newer)).toBe(true);
    // The replaced content is deleted once no URL for it is valid any more.
    const oldBlob = new URL(before).pathname.split('/').pop()!;
    await new Promise((r) => setTimeout(r, 300));
    expect(existsSync(emu().internals.blobs.dirOf(oldBlob))).toBe(false);
    expect(existsSync(emu().internals.blobs.dirOf(new URL(fresh).pathname.split('/').pop()!))).toBe(true);
  });
});
