// Listing a folder of 25,000 entries page by page, following X-Files-Cursor.
import { describe, expect, it } from 'vitest';
import { useEmulator } from '../support/emulator.js';
import { API_KEY, clientFor } from './support.js';

const FOLDERS = 24_990;
const FILES = 10;

describe('paging', () => {
  const emu = useEmulator({ apiKey: API_KEY });

  it(`lists ${FOLDERS + FILES} entries over many pages, each once, folders first, in path order`, async () => {
    const c = clientFor(emu());
    // Folders straight into the emulator's store (the fixture path; 25,000
    // API calls would only measure the emulator), files through the client.
    const store = emu().internals.store;
    for (let i = 0; i < FOLDERS; i++) store.mkdir(`Big/d${String(i).padStart(5, '0')}`, { parents: true });
    await store.sync();
    await Promise.all(Array.from({ length: FILES }, (_, i) => c.upload(`Big/f${i}.txt`, { buffer: Buffer.from(String(i)) })));

    emu().resetStats();
    const pageSizes: number[] = [];
    const paths: string[] = [];
    for await (const page of c.list('Big', { perPage: 1000 })) {
      pageSizes.push(page.length);
      for (const e of page) paths.push(e.path);
    }
    expect(paths).toHaveLength(FOLDERS + FILES);
    expect(new Set(paths).size).toBe(FOLDERS + FILES);
    expect(paths[0]).toBe('Big/d00000');
    expect(paths[FOLDERS - 1]).toBe(`Big/d${FOLDERS - 1}`);
    expect(paths.slice(FOLDERS)).toEqual(Array.from({ length: FILES }, (_, i) => `Big/f${i}.txt`));
    expect(pageSizes.every((n) => n <= 1000)).toBe(true);
    expect(pageSizes).toHaveLength(25);
    expect(emu().stats().requests['GET /folders']).toBe(25);

    // The maximum page size, and the configured default.
    let pages = 0;
    let count = 0;
    for await (const page of c.list('Big', { perPage: 10_000 })) {
      pages++;
      count += page.length;
    }
    expect([pages, count]).toEqual([3, FOLDERS + FILES]);
    const small = clientFor(emu(), { perPage: 7 });
    let first: string[] = [];
    for await (const page of small.list('Big')) {
      first = page.map((e) => e.path);
      break;
    }
    expect(first).toHaveLength(7);
    expect(() => c.list('Big', { perPage: 10_001 })).toThrow(RangeError);
  });

  it('a filter (type, and modified_at_datetime in whole UTC seconds) goes with every page', async () => {
    const c = clientFor(emu());
    for (const n of ['a', 'b', 'c']) await c.upload(`Filtered/${n}.txt`, { buffer: Buffer.from(n) });
    await c.mkdir('Filtered/sub');
    // Fixture: server mtimes as if a.txt changed long ago.
    const store = emu().internals.store;
    store.resolve('Filtered/a.txt')!.mtime = Date.parse('2020-01-01T00:00:00Z') / 1000;
    store.resolve('Filtered')!.sortCache = null;
    const listed = async (filter: Parameters<typeof c.list>[1]): Promise<string[]> => {
      const out: string[] = [];
      for await (const page of c.list('Filtered', { perPage: 1, ...filter })) out.push(...page.map((e) => e.path));
      return out;
    };
    emu().resetStats();
    // 12:00:00.900 is sent as 12:00:00: a.txt (2020) is older, the others are newer.
    expect(await listed({ filter: { type: 'file', modifiedAfter: new Date('2021-06-01T12:00:00.900Z') } })).toEqual(['Filtered/b.txt', 'Filtered/c.txt']);
    expect(emu().stats().requests['GET /folders']).toBe(2);
    expect(await listed({ filter: { type: 'file' } })).toEqual(['Filtered/a.txt', 'Filtered/b.txt', 'Filtered/c.txt']);
    expect(await listed({ filter: { type: 'folder', modifiedAfter: new Date('2021-06-01T12:00:00Z') } })).toEqual(['Filtered/sub']);
    expect(await listed({ filter: { type: 'file', modifiedAfter: new Date(Date.now() + 3_600_000) } })).toEqual([]);
  });

  it('an empty folder yields no page', async () => {
    const c = clientFor(emu());
    await c.mkdir('Empty');
    const pages: unknown[] = [];
    for await (const page of c.list('Empty')) pages.push(page);
    expect(pages).toEqual([]);
  });
});
