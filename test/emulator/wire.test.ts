// Wire format contract: path encodings, parameter sources, entry JSON, error
// JSON + X-Files-Error-Class, timestamps (docs/files-api.md §1–3, §7, §12).
import { describe, expect, it } from 'vitest';
import { useEmulator } from '../support/emulator.js';
import { API, call, enc, upload } from './helpers.js';

describe('wire format', () => {
  const emu = useEmulator();

  it('decodes both path encodings and every root spelling the same', async () => {
    expect((await call(emu(), 'POST', `${API}/folders/${enc('a/b')}`, { json: { mkdir_parents: true } })).status).toBe(201);
    expect((await upload(emu(), 'a/b/c.txt', Buffer.from('x'))).status).toBe(201);
    await emu().idle(); // md5/crc32 arrive in the background; compare settled entries
    const byEncoded = await call(emu(), 'GET', `${API}/file_actions/metadata/${enc('a/b/c.txt')}`);
    const bySlashes = await call(emu(), 'GET', `${API}/file_actions/metadata/a/b/c.txt`);
    expect(byEncoded.json.path).toBe('a/b/c.txt');
    expect(bySlashes.json).toEqual(byEncoded.json);
    const roots = await Promise.all([`${API}/folders/%2F`, `${API}/folders/`, `${API}/folders`].map((p) => call(emu(), 'GET', p)));
    for (const r of roots) expect(r.json.map((e: { path: string }) => e.path)).toContain('a');
    // `+` is literal in the path, a space in the query.
    expect((await call(emu(), 'POST', `${API}/folders/x+y`)).json.path).toBe('x+y');
    const search = await call(emu(), 'GET', `${API}/folders/?search=x+y`);
    expect(search.json).toEqual([]);
    const search2 = await call(emu(), 'GET', `${API}/folders/?search=x%2By`);
    expect(search2.json.map((e: { path: string }) => e.path)).toEqual(['x+y']);
  });

  it('reads parameters from the query, a JSON body and a form body alike', async () => {
    expect((await call(emu(), 'POST', `${API}/folders/p1/q`, { query: { mkdir_parents: true } })).status).toBe(201);
    expect((await call(emu(), 'POST', `${API}/folders/p2/q`, { json: { mkdir_parents: true } })).status).toBe(201);
    expect((await call(emu(), 'POST', `${API}/folders/p3/q`, { form: 'mkdir_parents=true&provided_mtime=2020-01-02T03%3A04%3A05Z' })).json)
      .toMatchObject({ path: 'p3/q', provided_mtime: '2020-01-02T03:04:05Z' });
    expect((await call(emu(), 'POST', `${API}/folders/p4/q`)).status).toBe(409);
    // Nested keys: sort_by[path]=desc in a query and as JSON.
    const q = await call(emu(), 'GET', `${API}/folders/`, { query: { 'sort_by[path]': 'desc', type: 'folder' } });
    const j = await call(emu(), 'GET', `${API}/folders/`, { json: { sort_by: { path: 'desc' }, type: 'folder' } });
    expect(q.json.map((e: { path: string }) => e.path)).toEqual(j.json.map((e: { path: string }) => e.path));
    expect(q.json[0].path).toBe('x+y');
  });

  it('shows entries with every field of the real API', async () => {
    await upload(emu(), 'fields/File.TXT', Buffer.from('hello'), { providedMtime: '2010-11-17T20:34:58.651387237Z' });
    await emu().idle();
    const list = await call(emu(), 'GET', `${API}/folders/fields`);
    expect(Array.isArray(list.json)).toBe(true);
    const file = list.json[0];
    expect(file).toMatchObject({
      path: 'fields/File.TXT', display_name: 'File.TXT', type: 'file', size: 5, provided_mtime: '2010-11-17T20:34:58Z',
      crc32: '3610a686', md5: '5d41402abc4b2a76b9719d911017c592', mime_type: 'text/plain', region: 'us-east-1', permissions: 'lrwd', is_locked: false,
    });
    expect(file.mtime).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
    expect(file.created_at).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
    expect(file).not.toHaveProperty('subfolders_locked?');
    expect(file).not.toHaveProperty('download_uri');
    const dir = (await call(emu(), 'GET', `${API}/file_actions/metadata/fields`)).json;
    expect(dir).toMatchObject({ path: 'fields', type: 'directory', size: null, 'subfolders_locked?': false, crc32: null, md5: null, provided_mtime: null });
    expect(dir).not.toHaveProperty('mime_type');
    // crc32 is not zero-padded: an empty file's is "0".
    await upload(emu(), 'fields/empty', Buffer.alloc(0));
    await emu().idle();
    expect((await call(emu(), 'GET', `${API}/file_actions/metadata/fields/empty`)).json).toMatchObject({ crc32: '0', md5: 'd41d8cd98f00b204e9800998ecf8427e', size: 0 });
    const root = await call(emu(), 'GET', `${API}/file_actions/metadata/`);
    expect(root.json).toMatchObject({ path: '', type: 'directory' });
  });

  it('accepts provided_mtime in every shape clients send, stored in whole seconds UTC', async () => {
    await upload(emu(), 'times/t', Buffer.from('t'));
    const cases: Array<[string, string]> = [
      ['2024-05-30T15:30:59Z', '2024-05-30T15:30:59Z'],
      ['2024-05-30T15:30:59.999999999Z', '2024-05-30T15:30:59Z'],
      ['2021-03-29T12:47:14-07:00', '2021-03-29T19:47:14Z'],
      ['2026-11-23T12:34:56.123456', '2026-11-23T12:34:56Z'],
      ['2024-05-30 15:30:59', '2024-05-30T15:30:59Z'],
      ['2024-05-30T17:30:59+0200', '2024-05-30T15:30:59Z'],
      ['1969-07-20T20:17:40Z', '1969-07-20T20:17:40Z'],
    ];
    for (const [given, stored] of cases) {
      const r = await call(emu(), 'PATCH', `${API}/files/times/t`, { json: { provided_mtime: given } });
      expect(r.status, given).toBe(200);
      expect(r.json.provided_mtime, given).toBe(stored);
    }
    for (const bad of ['0001-01-01T00:00:00Z', 'yesterday', '2024-02-30T00:00:00Z', '2024-13-01T00:00:00Z']) {
      const r = await call(emu(), 'PATCH', `${API}/files/times/t`, { json: { provided_mtime: bad } });
      expect(r.status, bad).toBe(400);
      expect(r.json.type).toBe('bad-request/datetime-parse');
      expect(r.headers['x-files-error-class']).toBe('bad-request/datetime-parse');
    }
  });

  it('answers errors as JSON with the error class header, never a cursor header', async () => {
    const r = await call(emu(), 'GET', `${API}/file_actions/metadata/nope/missing.txt`);
    expect(r.status).toBe(404);
    expect(r.headers['content-type']).toBe('application/json');
    expect(r.json).toEqual({ error: 'Not Found.  This may be related to your permissions.', 'http-code': 404, instance: r.headers['x-request-id'], title: 'Not Found', type: 'not-found' });
    expect(r.headers['x-files-error-class']).toBe('not-found');
    expect(r.headers['x-files-cursor']).toBeUndefined();
    const exists = await call(emu(), 'POST', `${API}/folders/a`);
    expect(exists.status).toBe(422);
    expect(exists.json).toMatchObject({ type: 'processing-failure/destination-exists', title: 'Destination Exists', error: 'The destination exists.', 'http-code': 422 });
    expect((await call(emu(), 'GET', `${API}/no_such_route`)).status).toBe(404);
    expect((await call(emu(), 'PUT', `${API}/folders/a`)).json.type).toBe('bad-request/method-not-allowed');
    const badJson = await call(emu(), 'POST', `${API}/folders/zz`, { body: '{nope', headers: { 'content-type': 'application/json' } });
    expect(badJson.json.type).toBe('bad-request/invalid-body');
    const badPath = await call(emu(), 'GET', `${API}/file_actions/metadata/%E0%A4%A`);
    expect(badPath.json.type).toBe('bad-request/invalid-path');
  });

  it('refuses names the server refuses', async () => {
    expect((await call(emu(), 'POST', `${API}/folders/${enc('trailing ')}`)).json.type).toBe('bad-request/path-cannot-have-trailing-whitespace');
    expect((await call(emu(), 'POST', `${API}/folders/${'n'.repeat(513)}`)).json.type).toBe('processing-failure/filename-too-long');
    // `.`/`..` segments are dropped, not resolved; backslash is a separator.
    expect((await call(emu(), 'POST', `${API}/folders/${enc('dots/../x\\y')}`, { json: { mkdir_parents: true } })).json.path).toBe('dots/x/y');
  });

  it('answers a list with the no-cache headers and a bare array', async () => {
    const r = await call(emu(), 'GET', `${API}/folders/a`);
    expect(r.headers['cache-control']).toBe('no-cache, no-store, max-age=0, must-revalidate');
    expect(r.text.startsWith('[')).toBe(true);
    expect((await call(emu(), 'GET', `${API}/folders/a/b/c.txt`)).json.type).toBe('bad-request/folder-must-not-be-a-file');
    expect((await call(emu(), 'GET', `${API}/folders/missing`)).status).toBe(404);
  });
});
