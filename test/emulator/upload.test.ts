// Upload protocol (docs/files-api.md §5): begin_upload and the JS SDK's action
// "put", parts in any order and concurrently, re-issued URLs, ETags, every
// `end` variant, atomic visibility, and the errors.
import { createHash, randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';
import { request } from 'undici';
import { describe, expect, it } from 'vitest';
import { useEmulator } from '../support/emulator.js';
import { API, MiB, call, download, enc, upload } from './helpers.js';

const md5 = (b: Buffer) => createHash('md5').update(b).digest('hex');

async function put(uri: string, body: Buffer, headers: Record<string, string> = {}) {
  const r = await request(uri, { method: 'PUT', body, headers: { 'content-length': String(body.length), ...headers } });
  return { status: r.statusCode, etag: r.headers.etag as string | undefined, text: await r.body.text() };
}

async function begin(emu: Parameters<typeof call>[0], path: string, body: Record<string, unknown>) {
  const r = await call(emu, 'POST', `${API}/file_actions/begin_upload/${enc(path)}`, { json: body });
  return r;
}

describe('upload', () => {
  const emu = useEmulator();

  it('describes part slots like the real service', async () => {
    const r = await begin(emu(), 'shape/x.bin', { size: 9, mkdir_parents: true, parts: 3 });
    expect(r.status).toBe(200);
    expect(r.json).toHaveLength(3);
    expect(r.json[0]).toMatchObject({
      send: { partsize: 'required-header Content-Length', partdata: 'body' }, action: 'put/write', ask_about_overwrites: false,
      available_parts: 10000, headers: {}, http_method: 'PUT', parallel_parts: true, retry_parts: true, parameters: {},
      part_number: 1, partsize: 5 * MiB, path: 'shape/x.bin',
    });
    expect(r.json.map((p: { part_number: number }) => p.part_number)).toEqual([1, 2, 3]);
    expect(r.json[0].ref).toMatch(/^put-\d+$/);
    expect(r.json[0].expires).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
    const uri = new URL(r.json[0].upload_uri);
    expect(uri.origin).toBe(emu().url);
    expect(uri.searchParams.get('partNumber')).toBe('1');
    expect(uri.searchParams.get('uploadId')).toBe(r.json[0].ref);
    for (const k of ['X-Amz-Algorithm', 'X-Amz-Date', 'X-Amz-Expires', 'X-Amz-Signature']) expect(uri.searchParams.get(k)).toBeTruthy();
    // Asking again with ref + part gives that part's slot of the same upload.
    const again = await begin(emu(), 'shape/x.bin', { ref: r.json[0].ref, part: 7 });
    expect(again.json).toHaveLength(1);
    expect(again.json[0]).toMatchObject({ part_number: 7, ref: r.json[0].ref });
    expect((await begin(emu(), 'shape/x.bin', { ref: 'put-1', part: 2 })).json.type).toBe('not-found/file-upload-not-found');
    expect((await begin(emu(), 'shape/x.bin', { ref: r.json[0].ref, part: 10_001 })).json.type).toBe('bad-request/part-number-too-large');
  });

  it('takes parts out of order and concurrently, ETag = quoted MD5, content exact', async () => {
    const data = randomBytes(3 * 5 * MiB + 12345);
    const slots = (await begin(emu(), 'multi/big.bin', { size: data.length, parts: 4, mkdir_parents: true })).json;
    const chunks = [0, 1, 2, 3].map((i) => data.subarray(i * 5 * MiB, (i + 1) * 5 * MiB));
    const results = await Promise.all([3, 1, 0, 2].map((i) => put(slots[i].upload_uri, chunks[i]!)));
    for (const [k, i] of [3, 1, 0, 2].entries()) {
      expect(results[k]!.status).toBe(200);
      expect(results[k]!.etag).toBe(`"${md5(chunks[i]!)}"`);
    }
    const end = await call(emu(), 'POST', `${API}/files/multi/big.bin`, {
      json: { action: 'end', ref: slots[0].ref, size: data.length, etags: [3, 1, 0, 2].map((i, k) => ({ etag: results[k]!.etag, part: String(i + 1) })) },
    });
    expect(end.status).toBe(201);
    expect(end.json).toMatchObject({ path: 'multi/big.bin', size: data.length, md5: null, crc32: null });
    const d = await download(emu(), 'multi/big.bin');
    expect(d.body.equals(data)).toBe(true);
    expect(d.headers.etag).toMatch(/^"[0-9a-f]{32}-4"$/);
    await emu().idle();
    expect((await call(emu(), 'GET', `${API}/file_actions/metadata/multi/big.bin`)).json.md5).toBe(md5(data));
  });

  it('accepts every end variant: bare/quoted etags, part as number or string, no etags, no size', async () => {
    for (const variant of ['bare', 'quoted', 'none', 'form'] as const) {
      const data = Buffer.from(`variant ${variant}`);
      const [slot] = (await begin(emu(), `variants/${variant}`, { mkdir_parents: true })).json;
      const { etag } = await put(slot.upload_uri, data);
      const bare = etag!.replace(/"/g, '');
      const req = variant === 'form'
        ? call(emu(), 'POST', `${API}/files/variants/${variant}`, { form: `action=end&ref=${slot.ref}&etags[][etag]=${encodeURIComponent(etag!)}&etags[][part]=1&size=${data.length}` })
        : call(emu(), 'POST', `${API}/files/variants/${variant}`, {
          json: { action: 'end', ref: slot.ref, ...(variant === 'none' ? {} : { etags: [{ etag: variant === 'bare' ? bare : etag, part: variant === 'bare' ? 1 : '1' }] }) },
        });
      const r = await req;
      expect(r.status, variant).toBe(201);
      expect((await download(emu(), `variants/${variant}`)).body.toString()).toBe(`variant ${variant}`);
    }
    // The Go SDK of 2021 sent bracketed keys inside JSON.
    const [slot] = (await begin(emu(), 'variants/go2021', { mkdir_parents: true })).json;
    const { etag } = await put(slot.upload_uri, Buffer.from('go'));
    const r = await call(emu(), 'POST', `${API}/files/variants/go2021`, { json: { action: 'end', ref: slot.ref, 'etags[0][etag]': etag, 'etags[0][part]': '1', size: '2', provided_mtime: '2021-03-29T12:47:14-07:00' } });
    expect(r.json).toMatchObject({ size: 2, provided_mtime: '2021-03-29T19:47:14Z' });
  });

  it('uploads 0-byte files: one empty part, or no part at all (the JS SDK on an empty stream)', async () => {
    const a = await upload(emu(), 'zero/one-part', Buffer.alloc(0));
    expect(a.status).toBe(201);
    expect(a.json.size).toBe(0);
    const open = await call(emu(), 'POST', `${API}/files/zero/no-part`, { json: { action: 'put', mkdir_parents: true } });
    expect(open.json.part_number).toBe(1);
    const end = await call(emu(), 'POST', `${API}/files/${enc(open.json.path)}`, { json: { action: 'end', ref: open.json.ref } });
    expect(end.status).toBe(201);
    expect(end.json.size).toBe(0);
    const d = await download(emu(), 'zero/no-part');
    expect(d.status).toBe(200);
    expect(d.body.length).toBe(0);
  });

  it('follows the JS SDK flow: action put opens, put+part gives each URL, end with ref only', async () => {
    const data = randomBytes(5 * MiB + 10);
    const first = await call(emu(), 'POST', `${API}/files/${enc('js/flow.bin')}`, { json: { action: 'put', mkdir_parents: true } });
    expect(Array.isArray(first.json)).toBe(false);
    expect(first.json).toMatchObject({ partsize: 5 * MiB, parallel_parts: true, path: 'js/flow.bin' });
    const parts = await Promise.all([1, 2].map((n) => call(emu(), 'POST', `${API}/files/${enc('js/flow.bin')}`, { json: { action: 'put', part: n, ref: first.json.ref } })));
    await Promise.all(parts.map((p, i) => put(p.json.upload_uri, data.subarray(i * 5 * MiB, (i + 1) * 5 * MiB))));
    const end = await call(emu(), 'POST', `${API}/files/${enc(first.json.path)}`, { json: { action: 'end', ref: first.json.ref } });
    expect(end.status).toBe(201);
    expect((await download(emu(), 'js/flow.bin')).body.equals(data)).toBe(true);
  });

  it('re-issued part URLs replace the part; the last PUT wins', async () => {
    const slots = (await begin(emu(), 'reissue/f', { mkdir_parents: true })).json;
    await put(slots[0].upload_uri, Buffer.from('first try'));
    const again = (await begin(emu(), 'reissue/f', { ref: slots[0].ref, part: 1 })).json[0];
    await put(again.upload_uri, Buffer.from('second'));
    expect((await call(emu(), 'POST', `${API}/files/reissue/f`, { json: { action: 'end', ref: slots[0].ref } })).status).toBe(201);
    expect((await download(emu(), 'reissue/f')).body.toString()).toBe('second');
  });

  it('makes new content visible only at end, atomically; an upload never completed never appears', async () => {
    await upload(emu(), 'atomic/f.txt', Buffer.from('old'));
    const [slot] = (await begin(emu(), 'atomic/f.txt', {})).json;
    expect(slot.ask_about_overwrites).toBe(true);
    await put(slot.upload_uri, Buffer.from('new content'));
    expect((await download(emu(), 'atomic/f.txt')).body.toString()).toBe('old');
    expect((await call(emu(), 'GET', `${API}/file_actions/metadata/atomic/f.txt`)).json.size).toBe(3);
    const [ghost] = (await begin(emu(), 'atomic/ghost.txt', {})).json;
    await put(ghost.upload_uri, Buffer.from('never finished'));
    expect((await call(emu(), 'GET', `${API}/file_actions/metadata/atomic/ghost.txt`)).status).toBe(404);
    expect((await call(emu(), 'GET', `${API}/folders/atomic`)).json.map((e: { path: string }) => e.path)).toEqual(['atomic/f.txt']);
    await call(emu(), 'POST', `${API}/files/atomic/f.txt`, { json: { action: 'end', ref: slot.ref } });
    expect((await download(emu(), 'atomic/f.txt')).body.toString()).toBe('new content');
  });

  it('answers a retried end again instead of 404, and 404 for an unknown ref', async () => {
    const [slot] = (await begin(emu(), 'retry/f', { mkdir_parents: true })).json;
    await put(slot.upload_uri, Buffer.from('x'));
    const a = await call(emu(), 'POST', `${API}/files/retry/f`, { json: { action: 'end', ref: slot.ref } });
    const b = await call(emu(), 'POST', `${API}/files/retry/f`, { json: { action: 'end', ref: slot.ref } });
    expect(a.status).toBe(201);
    expect(b.status).toBe(201);
    expect(b.json.path).toBe('retry/f');
    const late = await put(slot.upload_uri, Buffer.from('late'));
    expect(late.status).toBe(404);
    expect(late.text).toContain('<Code>NoSuchUpload</Code>');
    const unknown = await call(emu(), 'POST', `${API}/files/retry/f`, { json: { action: 'end', ref: 'put-42' } });
    expect(unknown.status).toBe(404);
    expect(unknown.json.type).toBe('not-found/file-upload-not-found');
  });

  it('rejects bad completions with 400s and keeps the upload open', async () => {
    const [s1, s2, s3] = (await begin(emu(), 'bad/f', { mkdir_parents: true, parts: 3 })).json;
    const small = await put(s1.upload_uri, Buffer.from('tiny'));
    await put(s3.upload_uri, Buffer.from('three'));
    const end = (body: Record<string, unknown>) => call(emu(), 'POST', `${API}/files/bad/f`, { json: { action: 'end', ref: s1.ref, ...body } });
    expect((await end({})).json.type).toBe('bad-request/invalid-upload-part-gap');
    expect((await end({ etags: [{ etag: 'ffff', part: 1 }] })).json.type).toBe('bad-request/invalid-etags');
    expect((await end({ etags: [{ etag: small.etag, part: 2 }] })).json.type).toBe('bad-request/invalid-etags');
    await put(s2.upload_uri, Buffer.from('two'));
    // Every part but the last must have at least 5 MiB (S3's rule).
    expect((await end({})).json.type).toBe('bad-request/invalid-upload-part-size');
    // Only part 1: fine, but the size must match when given.
    const wrongSize = await end({ etags: [{ etag: small.etag, part: 1 }], size: 99 });
    expect(wrongSize.status).toBe(400);
    expect(wrongSize.json.type).toBe('bad-request/invalid-upload-part-size');
    expect((await end({ etags: [{ etag: small.etag, part: 1 }], provided_mtime: 'soon' })).json.type).toBe('bad-request/datetime-parse');
    const ok = await end({ etags: [{ etag: small.etag, part: 1 }], size: 4 });
    expect(ok.status).toBe(201);
    expect((await download(emu(), 'bad/f')).body.toString()).toBe('tiny');
  });

  it('checks the target: missing parent 409 without mkdir_parents, folder 422, parent file 422', async () => {
    const missing = await begin(emu(), 'no/such/parent.txt', {});
    expect(missing.status).toBe(409);
    expect(missing.json.type).toBe('processing-failure/destination-parent-does-not-exist');
    await call(emu(), 'POST', `${API}/folders/target-dir`);
    expect((await begin(emu(), 'target-dir', {})).json.type).toBe('processing-failure/destination-exists');
    await upload(emu(), 'plain.txt', Buffer.from('p'));
    const under = await begin(emu(), 'plain.txt/child', { mkdir_parents: true });
    expect(under.status).toBe(422);
    expect(under.json.type).toBe('processing-failure/destination-parent-conflict');
    // The parent may vanish between begin and end: end then answers 409.
    await call(emu(), 'POST', `${API}/folders/vanish`);
    const [slot] = (await begin(emu(), 'vanish/f', {})).json;
    await put(slot.upload_uri, Buffer.from('v'));
    await call(emu(), 'DELETE', `${API}/files/vanish`);
    const end = await call(emu(), 'POST', `${API}/files/vanish/f`, { json: { action: 'end', ref: slot.ref } });
    expect(end.status).toBe(409);
    // …and succeeds once asked to create it.
    const end2 = await call(emu(), 'POST', `${API}/files/vanish/f`, { json: { action: 'end', ref: slot.ref, mkdir_parents: true } });
    expect(end2.status).toBe(201);
  });

  it('survives many small uploads at once', async () => {
    const names = Array.from({ length: 200 }, (_, i) => `many/f${i}`);
    const results = await Promise.all(names.map((n) => upload(emu(), n, Buffer.from(n))));
    expect(results.every((r) => r.status === 201)).toBe(true);
    const list = await call(emu(), 'GET', `${API}/folders/many`);
    expect(list.json.length).toBe(200);
  });
});

describe('upload URLs', () => {
  const emu = useEmulator({ uploadTtlSeconds: 1 });

  it('refuses part PUTs without Content-Length, with a bad signature, or after the URL expired', async () => {
    const [slot] = (await begin(emu(), 'expiry/f', { mkdir_parents: true })).json;
    const chunked = await request(slot.upload_uri, { method: 'PUT', body: Readable.from((async function* () { yield Buffer.from('x'); })()) });
    expect(chunked.statusCode).toBe(411);
    await chunked.body.text();
    const tampered = slot.upload_uri.replace('partNumber=1', 'partNumber=2');
    const bad = await put(tampered, Buffer.from('x'));
    expect(bad.status).toBe(403);
    expect(bad.text).toContain('<Code>SignatureDoesNotMatch</Code>');
    await new Promise((r) => setTimeout(r, 2100)); // uploadTtlSeconds: 1
    const expired = await put(slot.upload_uri, Buffer.from('x'));
    expect(expired.status).toBe(403);
    expect(expired.text).toContain('<Code>AccessDenied</Code>');
    expect(expired.text).toContain('Request has expired');
    // A fresh URL for the same upload works.
    const fresh = (await begin(emu(), 'expiry/f', { ref: slot.ref, part: 1 })).json[0];
    expect((await put(fresh.upload_uri, Buffer.from('x'))).status).toBe(200);
  });
});
