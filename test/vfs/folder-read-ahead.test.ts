// Read-ahead across a folder's small files (cp -r, tar): once a second file is
// opened, the next files of the listing are fetched ahead, bounded, and a
// program's own reads then find them in memory.
import { describe, expect, it } from 'vitest';
import type { RemoteEntry } from '../../src/client/files-client.js';
import { ReadOnlyWrites } from '../../src/vfs/writes.js';
import { KiB, MiB, pattern, readAll, setup, type Setup } from './helpers.js';

const name = (i: number): string => `f${String(i).padStart(3, '0')}`;

function folderOf(count: number, size = 4 * KiB, options: Parameters<typeof setup>[0] = {}, extensions?: Parameters<typeof setup>[2]): Setup {
  const s = setup(options, {}, extensions);
  for (let i = 0; i < count; i++) s.client.serverPut(`d/${name(i)}`, pattern(size, i + 1));
  return s;
}

/** The files whose bytes were fetched, in order. */
const fetched = (s: Setup): string[] => s.client.ranges.map((r) => r.path);

describe('folder read-ahead', () => {
  it('after the second file of a folder is read, fetches the next 256 small files; reading them costs no request', async () => {
    const s = folderOf(300);
    await s.fs.readdir('/d');
    expect(await readAll(s.fs, `/d/${name(0)}`)).toEqual(pattern(4 * KiB, 1));
    await s.fs.folderReadAhead.idle();
    expect(fetched(s)).toEqual(['d/f000']);
    await readAll(s.fs, `/d/${name(1)}`);
    await s.fs.folderReadAhead.idle();
    expect(fetched(s)).toHaveLength(2 + 256);
    expect(new Set(fetched(s)).size).toBe(258);
    expect(fetched(s).slice(2)).toEqual(Array.from({ length: 256 }, (_, i) => `d/${name(i + 2)}`));
    s.client.resetCounts();
    const before = s.client.ranges.length;
    for (let i = 2; i < 258; i++) expect(await readAll(s.fs, `/d/${name(i)}`)).toEqual(pattern(4 * KiB, i + 1));
    // The reads themselves fetched nothing (what was fetched meanwhile moves the window on).
    expect(s.client.ranges.slice(before).map((r) => r.path).filter((p) => Number(p.slice(3)) < 258)).toEqual([]);
  });

  it('a whole folder read in order fetches every file exactly once, several at a time', async () => {
    const s = folderOf(300);
    let inflight = 0;
    let most = 0;
    s.client.on('readRange', async () => {
      inflight++;
      most = Math.max(most, inflight);
      await new Promise((r) => setTimeout(r, 2));
      inflight--;
    });
    await s.fs.readdir('/d');
    for (let i = 0; i < 300; i++) expect(await readAll(s.fs, `/d/${name(i)}`)).toEqual(pattern(4 * KiB, i + 1));
    await s.fs.folderReadAhead.idle();
    expect(fetched(s)).toHaveLength(300);
    expect(new Set(fetched(s)).size).toBe(300);
    expect(most).toBeGreaterThan(4);
    expect(most).toBeLessThanOrEqual(64 + 1); // FETCHES_AT_ONCE, and the file being read
  });

  it('one file read, or the same file read again, fetches nothing ahead', async () => {
    const s = folderOf(20);
    await s.fs.readdir('/d');
    await readAll(s.fs, `/d/${name(3)}`);
    await readAll(s.fs, `/d/${name(3)}`);
    await s.fs.folderReadAhead.idle();
    expect(fetched(s)).toEqual(['d/f003']);
  });

  it('prefetchFiles 0 turns it off; a smaller window fetches fewer', async () => {
    const off = folderOf(20, 4 * KiB, { prefetchFiles: 0 });
    await off.fs.readdir('/d');
    for (const i of [0, 1, 2]) await readAll(off.fs, `/d/${name(i)}`);
    await off.fs.folderReadAhead.idle();
    expect(fetched(off)).toEqual(['d/f000', 'd/f001', 'd/f002']);
    expect(off.fs.folderReadAhead.queued).toBe(0);

    const narrow = folderOf(20, 4 * KiB, { prefetchFiles: 3 });
    await narrow.fs.readdir('/d');
    for (const i of [0, 1]) await readAll(narrow.fs, `/d/${name(i)}`);
    await narrow.fs.folderReadAhead.idle();
    expect(fetched(narrow)).toEqual(['d/f000', 'd/f001', 'd/f002', 'd/f003', 'd/f004']);
  });

  it('skips files over 1 MiB, empty files, folders, and files with local changes', async () => {
    const local = (path: string): RemoteEntry | undefined =>
      path === 'd/f004' ? { path, name: 'f004', type: 'file', size: 1, mtime: new Date(0) } as RemoteEntry : undefined;
    class OneLocalFile extends ReadOnlyWrites {
      override localEntry(path?: string): undefined {
        return local(path ?? '') as undefined;
      }
    }
    const s = folderOf(0, 0, {}, { writeLayer: () => new OneLocalFile() });
    for (const i of [0, 1, 3, 4, 5]) s.client.serverPut(`d/${name(i)}`, pattern(KiB, i));
    s.client.serverPut(`d/${name(2)}`, pattern(MiB + 1, 2));
    s.client.serverPut('d/f006', '');
    s.client.serverMkdirs('d/f007');
    s.client.serverPut('d/f008', 'x');
    await s.fs.readdir('/d');
    for (const i of [0, 1]) await readAll(s.fs, `/d/${name(i)}`);
    await s.fs.folderReadAhead.idle();
    expect(fetched(s)).toEqual(['d/f000', 'd/f001', 'd/f003', 'd/f005', 'd/f008']);
  });

  it('a reader that jumps moves the window to where it reads', async () => {
    const s = folderOf(200, 4 * KiB, { prefetchFiles: 4 });
    await s.fs.readdir('/d');
    for (const i of [0, 1]) await readAll(s.fs, `/d/${name(i)}`);
    await s.fs.folderReadAhead.idle();
    s.client.ranges.length = 0;
    await readAll(s.fs, `/d/${name(150)}`);
    await s.fs.folderReadAhead.idle();
    expect(fetched(s)).toEqual(['d/f150', 'd/f151', 'd/f152', 'd/f153', 'd/f154']);
  });

  it('a failed fetch ahead is not an error: the program reading the file fetches it itself', async () => {
    const s = folderOf(5);
    await s.fs.readdir('/d');
    await readAll(s.fs, `/d/${name(0)}`);
    s.client.failNext('readRange', new Error('connection reset'), 1);
    await readAll(s.fs, `/d/${name(1)}`);
    await s.fs.folderReadAhead.idle();
    for (let i = 2; i < 5; i++) expect(await readAll(s.fs, `/d/${name(i)}`)).toEqual(pattern(4 * KiB, i + 1));
  });
});

describe('the listing of a folder read in order', () => {
  it('is fetched again in the background once past half its TTL: the reader never waits for an expired listing', async () => {
    const s = folderOf(40, 4 * KiB, { dirTtlMs: 4_000, attrTtlMs: 4_000 });
    const lists = (): number => s.client.calls.filter((c) => c.method === 'list').length;
    await s.fs.readdir('/d');
    await readAll(s.fs, `/d/${name(0)}`);
    await readAll(s.fs, `/d/${name(1)}`);
    await s.fs.folderReadAhead.idle();
    expect(lists()).toBe(1);
    // Under half the TTL: nothing.
    s.clock.advance(1_500);
    await readAll(s.fs, `/d/${name(2)}`);
    expect(lists()).toBe(1);
    // Past half: the next file opened starts a listing, which the server holds; the reader goes on without it.
    const release = s.client.gate('list');
    s.clock.advance(1_000);
    expect(await readAll(s.fs, `/d/${name(3)}`)).toEqual(pattern(4 * KiB, 4));
    expect(await readAll(s.fs, `/d/${name(4)}`)).toEqual(pattern(4 * KiB, 5));
    expect(lists()).toBe(2);
    release();
    await s.fs.folderReadAhead.idle();
    await new Promise((r) => setImmediate(r));
    // The new listing is stored: past the old one's expiry, a name is answered without a request.
    s.clock.advance(2_000);
    s.client.resetCounts();
    expect((await s.fs.getattr(`/d/${name(30)}`)).size).toBe(4 * KiB);
    expect(s.client.requests).toBe(0);
  });

  it('a single file read, or a folder not read in order, is not listed ahead of its expiry', async () => {
    const s = folderOf(10, 4 * KiB, { dirTtlMs: 4_000, attrTtlMs: 4_000 });
    await s.fs.readdir('/d');
    s.clock.advance(3_000);
    await readAll(s.fs, `/d/${name(5)}`);
    expect(s.client.calls.filter((c) => c.method === 'list')).toHaveLength(1);
  });
});
