// custom_metadata over HTTP: PATCH sets, replaces and clears it on files and
// folders; it shows in every answer that shows an entry; it follows moves and
// copies and survives an overwriting upload; the documented limits (32 keys,
// 256 characters per key, 1,024 per value) are enforced; the listing can
// search it (search_custom_metadata_key).
import { describe, expect, it } from 'vitest';
import { useEmulator } from '../support/emulator.js';
import { API, call, enc, upload } from './helpers.js';

describe('custom_metadata', () => {
  const emu = useEmulator({ migrationMs: 30 });
  const patch = (path: string, body: unknown) => call(emu(), 'PATCH', `${API}/files/${enc(path)}`, { json: body });
  const meta = async (path: string) => (await call(emu(), 'GET', `${API}/file_actions/metadata/${enc(path)}`)).json.custom_metadata;

  async function waitForMigration(id: number): Promise<void> {
    for (let i = 0; i < 200; i++) {
      if ((await call(emu(), 'GET', `${API}/file_migrations/${id}`)).json.status === 'completed') return;
      await new Promise((r) => setTimeout(r, 20));
    }
    throw new Error('migration did not complete');
  }

  it('sets it on files and folders and shows it in metadata, listings, downloads and upload answers', async () => {
    await upload(emu(), 'Meta/a.txt', Buffer.from('a'));
    const r = await patch('meta/A.TXT', { custom_metadata: { status: 'draft', owner: 'alice' } });
    expect(r.status).toBe(200);
    expect(r.json).toMatchObject({ path: 'Meta/a.txt', custom_metadata: { status: 'draft', owner: 'alice' } });
    expect((await patch('Meta', { custom_metadata: { team: 'blue' } })).json.custom_metadata).toEqual({ team: 'blue' });
    expect(await meta('Meta/a.txt')).toEqual({ status: 'draft', owner: 'alice' });
    expect(await meta('Meta')).toEqual({ team: 'blue' });
    const listing = (await call(emu(), 'GET', `${API}/folders/`)).json as Array<{ path: string; custom_metadata: unknown }>;
    expect(listing.find((e) => e.path === 'Meta')!.custom_metadata).toEqual({ team: 'blue' });
    expect((await call(emu(), 'GET', `${API}/files/Meta/a.txt`)).json.custom_metadata).toEqual({ status: 'draft', owner: 'alice' });
    // An upload that overwrites the file keeps its metadata (and the `end` answer shows it).
    const again = await upload(emu(), 'Meta/a.txt', Buffer.from('a, version 2'));
    expect(again.json.custom_metadata).toEqual({ status: 'draft', owner: 'alice' });
    // A new entry has an empty object, never null.
    expect((await upload(emu(), 'Meta/b.txt', Buffer.from('b'))).json.custom_metadata).toEqual({});
    // provided_mtime and custom_metadata in one PATCH.
    const both = await patch('Meta/b.txt', { provided_mtime: '2021-02-03T04:05:06Z', custom_metadata: { k: 'v' } });
    expect(both.json).toMatchObject({ provided_mtime: '2021-02-03T04:05:06Z', custom_metadata: { k: 'v' } });
    // Metadata is not content: the entry's mtime (and its folder's) stay as they were.
    const before = (await call(emu(), 'GET', `${API}/file_actions/metadata/Meta/b.txt`)).json;
    const folderBefore = (await call(emu(), 'GET', `${API}/file_actions/metadata/Meta`)).json.mtime;
    await new Promise((r) => setTimeout(r, 1_100));
    expect((await patch('Meta/b.txt', { custom_metadata: { k: 'w' } })).json.mtime).toBe(before.mtime);
    expect((await call(emu(), 'GET', `${API}/file_actions/metadata/Meta`)).json.mtime).toBe(folderBefore);
  });

  it('replaces the whole object on PATCH; null or {} clears it; a null value drops its key; other scalars become text', async () => {
    await upload(emu(), 'Replace/f.txt', Buffer.from('f'));
    await patch('Replace/f.txt', { custom_metadata: { a: '1', b: '2' } });
    expect((await patch('Replace/f.txt', { custom_metadata: { b: '3', c: '4' } })).json.custom_metadata).toEqual({ b: '3', c: '4' });
    expect((await patch('Replace/f.txt', { custom_metadata: { b: null, c: '5' } })).json.custom_metadata).toEqual({ c: '5' });
    expect((await patch('Replace/f.txt', { custom_metadata: { n: 42, yes: false } })).json.custom_metadata).toEqual({ n: '42', yes: 'false' });
    // Leaving custom_metadata out changes nothing.
    expect((await patch('Replace/f.txt', { provided_mtime: '2000-01-01T00:00:00Z' })).json.custom_metadata).toEqual({ n: '42', yes: 'false' });
    expect((await patch('Replace/f.txt', { custom_metadata: {} })).json.custom_metadata).toEqual({});
    await patch('Replace/f.txt', { custom_metadata: { x: 'y' } });
    expect((await patch('Replace/f.txt', { custom_metadata: null })).json.custom_metadata).toEqual({});
    // Keys that look like indexes stay keys (JSON objects are not turned into lists).
    expect((await patch('Replace/f.txt', { custom_metadata: { '0': 'zero', '1': 'one' } })).json.custom_metadata).toEqual({ '0': 'zero', '1': 'one' });
    // Form bodies (the Ruby SDK) with Rails brackets.
    const form = await call(emu(), 'PATCH', `${API}/files/Replace/f.txt`, { form: 'custom_metadata[color]=red&custom_metadata[size]=L' });
    expect(form.json.custom_metadata).toEqual({ color: 'red', size: 'L' });
  });

  it('enforces 32 keys, 256 characters per key, 1,024 per value (counted in characters), and text values', async () => {
    await upload(emu(), 'Limits/f.txt', Buffer.from('f'));
    const keys = (n: number) => Object.fromEntries(Array.from({ length: n }, (_, i) => [`k${i}`, 'v']));
    expect((await patch('Limits/f.txt', { custom_metadata: keys(32) })).status).toBe(200);
    const ok = { ['🔑'.repeat(256)]: 'é'.repeat(1024) };
    expect((await patch('Limits/f.txt', { custom_metadata: ok })).json.custom_metadata).toEqual(ok);
    for (const bad of [keys(33), { ['k'.repeat(257)]: 'v' }, { k: 'v'.repeat(1025) }, { k: { nested: 'no' } }, { k: ['list'] }, { '': 'empty key' }]) {
      const r = await patch('Limits/f.txt', { custom_metadata: bad });
      expect(r.status, JSON.stringify(bad).slice(0, 60)).toBe(400);
      expect(r.json.type).toBe('bad-request/request-params-invalid');
    }
    expect((await patch('Limits/f.txt', { custom_metadata: 'a string' })).json.type).toBe('bad-request/request-params-invalid');
    // A refused PATCH changes nothing.
    expect(await meta('Limits/f.txt')).toEqual(ok);
    expect((await patch('Limits/missing.txt', { custom_metadata: { a: 'b' } })).status).toBe(404);
  });

  it('follows moves and is copied with files and folders (deep)', async () => {
    await upload(emu(), 'Travel/dir/deep/x.txt', Buffer.from('x'));
    await patch('Travel/dir/deep/x.txt', { custom_metadata: { trip: 'yes' } });
    await patch('Travel/dir', { custom_metadata: { folder: 'yes' } });
    expect((await call(emu(), 'POST', `${API}/file_actions/move/Travel/dir/deep/x.txt`, { json: { destination: 'Travel/dir/deep/y.txt' } })).status).toBe(201);
    expect(await meta('Travel/dir/deep/y.txt')).toEqual({ trip: 'yes' });
    expect((await call(emu(), 'POST', `${API}/file_actions/copy/Travel/dir/deep/y.txt`, { json: { destination: 'Travel/z.txt' } })).status).toBe(201);
    expect(await meta('Travel/z.txt')).toEqual({ trip: 'yes' });
    const cp = await call(emu(), 'POST', `${API}/file_actions/copy/Travel/dir`, { json: { destination: 'Travel/dir2' } });
    await waitForMigration(cp.json.file_migration_id);
    expect(await meta('Travel/dir2')).toEqual({ folder: 'yes' });
    expect(await meta('Travel/dir2/deep/y.txt')).toEqual({ trip: 'yes' });
    // The copy is its own: changing it leaves the original alone.
    await patch('Travel/dir2/deep/y.txt', { custom_metadata: { trip: 'copy' } });
    expect(await meta('Travel/dir/deep/y.txt')).toEqual({ trip: 'yes' });
    const mv = await call(emu(), 'POST', `${API}/file_actions/move/Travel/dir2`, { json: { destination: 'Travel/dir3' } });
    await waitForMigration(mv.json.file_migration_id);
    expect(await meta('Travel/dir3/deep/y.txt')).toEqual({ trip: 'copy' });
  });

  it('the listing searches values of one key, or of any key with *, case-sensitively', async () => {
    for (const [name, m] of [['one', { status: 'Approved', team: 'red' }], ['two', { status: 'pending' }], ['three', { team: 'Approved' }], ['four', {}]] as const) {
      await upload(emu(), `Search/${name}.txt`, Buffer.from(name));
      await patch(`Search/${name}.txt`, { custom_metadata: m });
    }
    const find = async (query: Record<string, string>) =>
      ((await call(emu(), 'GET', `${API}/folders/Search`, { query })).json as Array<{ path: string }>).map((e) => e.path).sort();
    expect(await find({ search: 'Approved', search_custom_metadata_key: 'status' })).toEqual(['Search/one.txt']);
    expect(await find({ search: 'Approved', search_custom_metadata_key: '*' })).toEqual(['Search/one.txt', 'Search/three.txt']);
    expect(await find({ search: 'approved', search_custom_metadata_key: '*' })).toEqual([]);
    expect(await find({ search: 'pend', search_custom_metadata_key: 'status' })).toEqual(['Search/two.txt']);
    // Without the key, search matches names.
    expect(await find({ search: 'TWO' })).toEqual(['Search/two.txt']);
  });
});
