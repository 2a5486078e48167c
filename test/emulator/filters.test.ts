// Listing filters for cheap change polling: `type` (folder or file) alone and
// with `modified_at_datetime` (entries whose server mtime is after that time,
// only together with `type`), through pages, and their errors.
import { describe, expect, it } from 'vitest';
import { useEmulator } from '../support/emulator.js';
import { API, call, upload } from './helpers.js';

describe('listing filters', () => {
  const emu = useEmulator();
  const list = async (query: Record<string, string | number>) => call(emu(), 'GET', `${API}/folders/Poll`, { query });
  const paths = async (query: Record<string, string | number>) => ((await list(query)).json as Array<{ path: string }>).map((e) => e.path);

  it('filters by type, and by modification time together with type', async () => {
    for (const f of ['Poll/old.txt', 'Poll/new.txt', 'Poll/newer.txt']) await upload(emu(), f, Buffer.from(f));
    for (const d of ['Poll/old-dir', 'Poll/new-dir']) await call(emu(), 'POST', `${API}/folders/${d}`);
    // Fixture: known server mtimes (seconds), as if the entries had changed at these times.
    const store = emu().internals.store;
    const at = (iso: string) => Date.parse(iso) / 1000;
    const times: Record<string, string> = {
      'Poll/old.txt': '2020-01-01T00:00:00Z', 'Poll/new.txt': '2024-06-01T12:00:00Z', 'Poll/newer.txt': '2024-06-01T12:00:01Z',
      'Poll/old-dir': '2019-05-05T05:05:05Z', 'Poll/new-dir': '2024-07-07T07:07:07Z',
    };
    for (const [p, t] of Object.entries(times)) store.resolve(p)!.mtime = at(t);
    store.resolve('Poll')!.sortCache = null;

    expect(await paths({ type: 'file' })).toEqual(['Poll/new.txt', 'Poll/newer.txt', 'Poll/old.txt']);
    expect(await paths({ type: 'folder' })).toEqual(['Poll/new-dir', 'Poll/old-dir']);
    // Strictly after: an entry modified at exactly that second is not listed.
    expect(await paths({ type: 'file', modified_at_datetime: '2024-06-01T12:00:00Z' })).toEqual(['Poll/newer.txt']);
    expect(await paths({ type: 'file', modified_at_datetime: '2024-06-01T11:59:59Z' })).toEqual(['Poll/new.txt', 'Poll/newer.txt']);
    expect(await paths({ type: 'folder', modified_at_datetime: '2020-01-01T00:00:00+02:00' })).toEqual(['Poll/new-dir']);
    expect(await paths({ type: 'file', modified_at_datetime: '2030-01-01T00:00:00Z' })).toEqual([]);
    // Through pages: the cursor keeps the filter's view.
    const seen: string[] = [];
    let cursor: string | undefined;
    do {
      const page = await list({ type: 'file', modified_at_datetime: '2021-01-01T00:00:00Z', per_page: 1, ...(cursor ? { cursor } : {}) });
      seen.push(...(page.json as Array<{ path: string }>).map((e) => e.path));
      cursor = page.headers['x-files-cursor'] as string | undefined;
    } while (cursor);
    expect(seen).toEqual(['Poll/new.txt', 'Poll/newer.txt']);
  });

  it('refuses modified_at_datetime without type, a bad time, and an unknown type', async () => {
    const alone = await list({ modified_at_datetime: '2024-01-01T00:00:00Z' });
    expect(alone.status).toBe(400);
    expect(alone.json.type).toBe('bad-request/request-params-required');
    expect((await list({ type: 'file', modified_at_datetime: 'yesterday' })).json.type).toBe('bad-request/datetime-parse');
    const dir = await list({ type: 'directory' });
    expect(dir.status).toBe(400);
    expect(dir.json.type).toBe('bad-request/request-params-invalid');
  });
});
