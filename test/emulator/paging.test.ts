// Folder listing and paging (docs/files-api.md §2): folders before files, cursor
// headers exactly as recorded, cursors that survive concurrent changes, and
// 25,000 entries at per_page=1000 with no duplicate and no omission.
import { describe, expect, it } from 'vitest';
import { useEmulator } from '../support/emulator.js';
import { API, call, enc, upload } from './helpers.js';

type Entry = { path: string; type: string; size: number | null };

async function pageThrough(emu: Parameters<typeof call>[0], folder: string, query: Record<string, string | number> = {}): Promise<{ entries: Entry[]; pages: number }> {
  const entries: Entry[] = [];
  let cursor: string | undefined;
  let pages = 0;
  for (;;) {
    const r = await call(emu, 'GET', `${API}/folders/${enc(folder)}`, { query: { ...query, ...(cursor ? { cursor } : {}) } });
    expect(r.status).toBe(200);
    pages++;
    entries.push(...(r.json as Entry[]));
    const next = r.headers['x-files-cursor'] as string | undefined;
    expect(r.headers['x-files-cursor-next']).toBe(next);
    if (pages > 1) expect(r.headers['x-files-cursor-prev']).toMatch(/^c2:prev:/);
    else expect(r.headers['x-files-cursor-prev']).toBeUndefined();
    if (!next) break;
    expect(next).toMatch(/^c2:next:/);
    expect(next).not.toBe(cursor);
    cursor = next;
  }
  return { entries, pages };
}

async function pool<T>(items: T[], width: number, fn: (item: T) => Promise<void>): Promise<void> {
  let i = 0;
  await Promise.all(Array.from({ length: width }, async () => {
    while (i < items.length) await fn(items[i++]!);
  }));
}

describe('paging', () => {
  const emu = useEmulator();

  it('pages through 25,000 entries at per_page=1000 with no duplicate and no omission', async () => {
    // Fixture: 20,000 folders and 5,000 files made directly in the store
    // (files share one uploaded blob); the API path is covered below.
    const seed = await upload(emu(), 'big/seed.bin', Buffer.from('seed'));
    expect(seed.status).toBe(201);
    const store = emu().internals.store;
    const blob = store.resolve('big/seed.bin')!;
    for (let i = 0; i < 20_000; i++) store.mkdir(`big/Dir ${String(i).padStart(5, '0')}`, { parents: false });
    for (let i = 1; i < 5_000; i++) store.putFile(`big/file-${i}.txt`, { blob: blob.blob!, size: blob.size, etag: blob.etag! }, { parents: false });
    await store.sync();
    const started = Date.now();
    const { entries, pages } = await pageThrough(emu(), 'big', { per_page: 1000 });
    expect(pages).toBe(25);
    expect(entries.length).toBe(25_000);
    expect(new Set(entries.map((e) => e.path)).size).toBe(25_000);
    // Folders first, each group in name order.
    expect(entries.slice(0, 20_000).every((e) => e.type === 'directory')).toBe(true);
    expect(entries.slice(20_000).every((e) => e.type === 'file')).toBe(true);
    expect(entries[0]!.path).toBe('big/Dir 00000');
    expect(Date.now() - started).toBeLessThan(20_000);
  });

  it('keeps cursors stable while the folder changes between pages', async () => {
    const store = emu().internals.store;
    for (let i = 0; i < 500; i++) store.mkdir(`churn/k${String(i).padStart(3, '0')}`, { parents: true });
    await store.sync();
    const seen: string[] = [];
    let cursor: string | undefined;
    let n = 0;
    for (;;) {
      const r = await call(emu(), 'GET', `${API}/folders/churn`, { query: { per_page: 50, ...(cursor ? { cursor } : {}) } });
      seen.push(...r.json.map((e: Entry) => e.path));
      // Between pages: add entries before and after the position, delete some not yet seen that were added by us.
      await call(emu(), 'POST', `${API}/folders/churn/a-new-${n}`);
      await call(emu(), 'POST', `${API}/folders/churn/z-new-${n}`);
      if (n > 0) await call(emu(), 'DELETE', `${API}/files/churn/z-new-${n - 1}`);
      n++;
      cursor = r.headers['x-files-cursor'] as string | undefined;
      if (!cursor) break;
    }
    const original = seen.filter((p) => /^churn\/k\d{3}$/.test(p));
    expect(original.length).toBe(500);
    expect(new Set(seen).size).toBe(seen.length);
  });

  it('lists entries created through the API, by any page size, folders first', async () => {
    const names = Array.from({ length: 300 }, (_, i) => `api/F${i}`);
    await pool(names, 16, async (p) => {
      const r = await call(emu(), 'POST', `${API}/folders/${enc(p)}`, { json: { mkdir_parents: true } });
      expect(r.status).toBe(201);
    });
    await pool(Array.from({ length: 60 }, (_, i) => `api/file${i}.txt`), 8, async (p) => {
      expect((await upload(emu(), p, Buffer.from(p))).status).toBe(201);
    });
    for (const perPage of [1, 7, 100, 10_000]) {
      const { entries } = await pageThrough(emu(), 'api', { per_page: perPage });
      expect(entries.length).toBe(360);
      expect(new Set(entries.map((e) => e.path)).size).toBe(360);
      expect(entries.findIndex((e) => e.type === 'file')).toBe(300);
    }
    // Without per_page: the default page (1,000) holds all 360.
    const all = await call(emu(), 'GET', `${API}/folders/api`);
    expect(all.json.length).toBe(360);
    expect(all.headers['x-files-cursor']).toBeUndefined();
  });

  it('goes back with the prev cursor', async () => {
    const p1 = await call(emu(), 'GET', `${API}/folders/api`, { query: { per_page: 10 } });
    const p2 = await call(emu(), 'GET', `${API}/folders/api`, { query: { per_page: 10, cursor: p1.headers['x-files-cursor'] as string } });
    const back = await call(emu(), 'GET', `${API}/folders/api`, { query: { per_page: 10, cursor: p2.headers['x-files-cursor-prev'] as string } });
    expect(back.json.map((e: Entry) => e.path)).toEqual(p1.json.map((e: Entry) => e.path));
    expect(back.headers['x-files-cursor-prev']).toBeUndefined();
    expect(back.headers['x-files-cursor']).toBe(p1.headers['x-files-cursor']);
  });

  it('sorts by size, mtime and provided mtime, ascending and descending, folders still first', async () => {
    await upload(emu(), 'sorted/b-small', Buffer.alloc(1), { providedMtime: '2020-01-01T00:00:00Z' });
    await upload(emu(), 'sorted/a-large', Buffer.alloc(300), { providedMtime: '2021-01-01T00:00:00Z' });
    await upload(emu(), 'sorted/c-mid', Buffer.alloc(20));
    await call(emu(), 'POST', `${API}/folders/sorted/zz-dir`);
    const order = async (q: Record<string, string>) => (await call(emu(), 'GET', `${API}/folders/sorted`, { query: q })).json.map((e: Entry) => e.path.slice(7));
    expect(await order({})).toEqual(['zz-dir', 'a-large', 'b-small', 'c-mid']);
    expect(await order({ 'sort_by[path]': 'desc' })).toEqual(['zz-dir', 'c-mid', 'b-small', 'a-large']);
    expect(await order({ 'sort_by[size]': 'asc' })).toEqual(['zz-dir', 'b-small', 'c-mid', 'a-large']);
    expect(await order({ 'sort_by[size]': 'desc' })).toEqual(['zz-dir', 'a-large', 'c-mid', 'b-small']);
    expect(await order({ 'sort_by[provided_modified_at]': 'asc' })).toEqual(['zz-dir', 'c-mid', 'b-small', 'a-large']);
    expect((await order({ 'sort_by[modified_at_datetime]': 'asc' })).length).toBe(4);
    expect((await call(emu(), 'GET', `${API}/folders/sorted`, { query: { 'sort_by[colour]': 'asc' } })).json.type).toBe('bad-request/invalid-sort-field');
    // Paging by size with a cursor.
    const first = await call(emu(), 'GET', `${API}/folders/sorted`, { query: { 'sort_by[size]': 'asc', per_page: 2 } });
    const second = await call(emu(), 'GET', `${API}/folders/sorted`, { query: { 'sort_by[size]': 'asc', per_page: 2, cursor: first.headers['x-files-cursor'] as string } });
    expect(second.json.map((e: Entry) => e.path.slice(7))).toEqual(['c-mid', 'a-large']);
    // A cursor made for another sort is refused.
    const mismatch = await call(emu(), 'GET', `${API}/folders/sorted`, { query: { per_page: 2, cursor: first.headers['x-files-cursor'] as string } });
    expect(mismatch.json.type).toBe('bad-request/invalid-cursor-type-for-sort');
  });

  it('filters by type and refuses a bad cursor', async () => {
    const files = await call(emu(), 'GET', `${API}/folders/sorted`, { query: { type: 'file' } });
    expect(files.json.every((e: Entry) => e.type === 'file')).toBe(true);
    for (const bad of ['garbage', 'c2:next:!!!', `c2:next:${Buffer.from('{"k":1}').toString('base64url')}`]) {
      const r = await call(emu(), 'GET', `${API}/folders/sorted`, { query: { cursor: bad } });
      expect(r.status).toBe(400);
      expect(r.json.type).toBe('bad-request/invalid-cursor');
    }
  });
});
