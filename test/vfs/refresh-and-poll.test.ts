// Seeing changes made elsewhere before the TTLs end (filesystem layer on the
// real client and the emulator; another HttpFilesClient plays "elsewhere"):
// refresh (on demand, one path) and the poll (--poll-interval, the folders in
// use). TTLs are an hour throughout, so whatever shows early was found by
// refresh or the poll; the request counts come from the emulator's own
// statistics and must equal what the filesystem reports.
import { describe, expect, it } from 'vitest';
import type { ListOptions, RemoteEntry } from '../../src/client/index.js';
import { createLogger } from '../../src/log/logger.js';
import { FilesFilesystem } from '../../src/vfs/filesystem.js';
import type { FilesystemOptions } from '../../src/vfs/options.js';
import { CLOCK_SLACK_MS, FULL_LIST_EVERY, RECENT_USE_MS } from '../../src/vfs/remote-changes/poller.js';
import { describeRefresh } from '../../src/vfs/remote-changes/describe-refresh.js';
import { useEmulator, useEmulatorClients } from '../support/emulator.js';
import { MockFilesClient } from '../support/mock-files-client.js';
import { FakeClock, O_RDONLY, expectErrno, pattern, readAt } from './helpers.js';

const API_KEY = 'refreshPollKey42';
const emu = useEmulator({ apiKey: API_KEY });
const client = useEmulatorClients(emu, API_KEY);
const HOUR = 3_600_000;
const MiB = 1024 * 1024;

/** A filesystem that trusts its caches for an hour, on a clock the test moves (from the real time: "since" goes to the server). */
function mount(options: FilesystemOptions = {}): { fs: FilesFilesystem; clock: FakeClock } {
  const clock = new FakeClock(Date.now());
  const fs = new FilesFilesystem(client(), { logger: createLogger({ level: 'silent' }), clock: clock.now, attrTtlMs: HOUR, dirTtlMs: HOUR, ...options });
  return { fs, clock };
}

/** Fixture: entries changed an hour ago as far as the server knows (outside any "changed since" look). */
function ageEntries(folder: string, entries: string[]): void {
  const store = emu().internals.store;
  const hourAgo = Math.floor(Date.now() / 1000) - 3600;
  for (const name of entries) store.resolve(`${folder}/${name}`)!.mtime = hourAgo;
  store.resolve(folder)!.sortCache = null;
}

const names = async (fs: FilesFilesystem, path: string): Promise<string[]> => (await fs.readdir(path)).map((e) => e.name).sort();
const listings = (): number => emu().stats().requests['GET /folders'] ?? 0;
const requests = (): number => emu().stats().total;

describe('refresh', () => {
  it('shows a folder as the server has it now: new, changed and deleted files, whatever the TTLs', async () => {
    const other = client();
    for (const n of ['a.txt', 'b.txt', 'c.txt']) await other.upload(`r1/${n}`, { buffer: Buffer.from(n) });
    const { fs } = mount();
    expect(await names(fs, '/r1')).toEqual(['a.txt', 'b.txt', 'c.txt']);
    expect((await fs.getattr('/r1/a.txt')).size).toBe(5);
    await expectErrno(fs.getattr('/r1/new.txt'), 'ENOENT'); // now cached as "no such file"

    await other.upload('r1/new.txt', { buffer: Buffer.from('new') });
    await other.upload('r1/a.txt', { buffer: Buffer.from('a, longer now') });
    await other.delete('r1/c.txt');
    // Within the TTLs nothing shows...
    expect(await names(fs, '/r1')).toEqual(['a.txt', 'b.txt', 'c.txt']);
    // ...until a refresh, which costs one listing request for a folder of up to --per-page entries.
    emu().resetStats();
    const report = await fs.refresh('/r1');
    expect(requests()).toBe(1);
    expect(listings()).toBe(1);
    expect(report).toMatchObject({ path: '/r1', found: 'folder', entries: 3, relistedFolders: 1, requests: 1, changedContents: 0, readersKeepingVersion: 0 });
    expect(describeRefresh(report)).toBe('refreshed /r1 (listing of 3 entries)');
    // The folder's own attributes were dropped too: asked again once, when needed.
    expect(await names(fs, '/r1')).toEqual(['a.txt', 'b.txt', 'new.txt']);
    expect(emu().stats().requests['GET /file_actions/metadata']).toBe(1);
    expect((await fs.getattr('/r1/a.txt')).size).toBe(13);
    expect((await fs.getattr('/r1/new.txt')).size).toBe(3);
    await expectErrno(fs.getattr('/r1/c.txt'), 'ENOENT');
    expect(requests()).toBe(2); // the entries: all answered by the new listing
  });

  it('a reader keeps the version it opened; the refresh says so, and a new open reads the new version', async () => {
    const other = client();
    const old = pattern(3 * MiB, 7);
    await other.upload('r2/big.bin', { buffer: old });
    await other.upload('r2/small.txt', { buffer: Buffer.from('small v1') });
    const { fs } = mount();
    const fh = await fs.open('/r2/big.bin', O_RDONLY);
    const head = await readAt(fs, '/r2/big.bin', fh, 0, 256 * 1024);
    const small = await fs.open('/r2/small.txt', O_RDONLY);
    expect((await readAt(fs, '/r2/small.txt', small, 0, 100)).toString()).toBe('small v1');
    await fs.release('/r2/small.txt', small); // closed: its cached content goes at the refresh

    await other.upload('r2/big.bin', { buffer: pattern(2 * MiB, 8) });
    await other.upload('r2/small.txt', { buffer: Buffer.from('small v2!') });
    const report = await fs.refresh('/r2');
    expect(report).toMatchObject({ found: 'folder', entries: 2, changedContents: 2, readersKeepingVersion: 1 });
    expect(describeRefresh(report, '/mnt/r2')).toBe("refreshed /mnt/r2 (listing of 2 entries, 2 files' contents); 1 reader keeps its open version");

    // The open handle still shows and reads its own version, whole.
    expect((await fs.fgetattr('/r2/big.bin', fh)).size).toBe(3 * MiB);
    const rest = await readAt(fs, '/r2/big.bin', fh, head.length, 3 * MiB);
    expect(Buffer.concat([head, rest]).equals(old)).toBe(true);
    await fs.release('/r2/big.bin', fh);
    // New opens read what the server has now.
    const again = await fs.open('/r2/big.bin', O_RDONLY);
    expect((await readAt(fs, '/r2/big.bin', again, 0, 3 * MiB)).equals(pattern(2 * MiB, 8))).toBe(true);
    await fs.release('/r2/big.bin', again);
    const small2 = await fs.open('/r2/small.txt', O_RDONLY);
    expect((await readAt(fs, '/r2/small.txt', small2, 0, 100)).toString()).toBe('small v2!');
    await fs.release('/r2/small.txt', small2);
  });

  it('a file path: drops its attributes and "no such file" entry, and stats it (one request)', async () => {
    const other = client();
    await other.upload('r3/keep.txt', { buffer: Buffer.from('k') });
    const { fs } = mount();
    await expectErrno(fs.getattr('/r3/late.txt'), 'ENOENT');
    expect((await fs.getattr('/r3/keep.txt')).size).toBe(1);
    await other.upload('r3/late.txt', { buffer: Buffer.from('late') });
    await other.upload('r3/keep.txt', { buffer: Buffer.from('kept') });

    emu().resetStats();
    expect(await fs.refresh('/r3/late.txt')).toMatchObject({ found: 'file', entries: null, requests: 1 });
    expect(await fs.refresh('/r3/keep.txt')).toMatchObject({ found: 'file', requests: 1 });
    expect(emu().stats().requests['GET /file_actions/metadata']).toBe(2);
    expect((await fs.getattr('/r3/late.txt')).size).toBe(4);
    expect((await fs.getattr('/r3/keep.txt')).size).toBe(4);

    // In a folder created elsewhere, which this mount still knows as missing: the folders above show too.
    await expectErrno(fs.getattr('/r3/made/elsewhere/x.txt'), 'ENOENT');
    await other.upload('r3/made/elsewhere/x.txt', { buffer: Buffer.from('x') });
    expect(await fs.refresh('/r3/made/elsewhere/x.txt')).toMatchObject({ found: 'file', requests: 1 });
    expect((await fs.getattr('/r3/made/elsewhere/x.txt')).size).toBe(1);
    expect(await names(fs, '/r3/made')).toEqual(['elsewhere']);

    await other.delete('r3/keep.txt');
    const gone = await fs.refresh('/r3/keep.txt');
    expect(gone).toMatchObject({ found: 'missing' });
    expect(describeRefresh(gone)).toBe('refreshed /r3/keep.txt: not on the server');
    await expectErrno(fs.getattr('/r3/keep.txt'), 'ENOENT');
  });

  it('--recursive: drops everything below and lists again the folders below that were cached', async () => {
    const other = client();
    await other.upload('r4/top.txt', { buffer: Buffer.from('t') });
    await other.upload('r4/sub/one.txt', { buffer: Buffer.from('1') });
    await other.upload('r4/sub/deeper/two.txt', { buffer: Buffer.from('2') });
    await other.upload('r4/other/three.txt', { buffer: Buffer.from('3') });
    const { fs } = mount();
    expect(await names(fs, '/r4')).toEqual(['other', 'sub', 'top.txt']);
    expect(await names(fs, '/r4/sub')).toEqual(['deeper', 'one.txt']);
    expect(await names(fs, '/r4/sub/deeper')).toEqual(['two.txt']);
    // r4/other is never listed here: only its entry is cached.

    await other.upload('r4/sub/deeper/new.txt', { buffer: Buffer.from('n') });
    await other.delete('r4/sub/one.txt');
    await other.upload('r4/other/four.txt', { buffer: Buffer.from('4') });

    // Without --recursive, what is cached below the folder's entries stays.
    await fs.refresh('/r4');
    expect(await names(fs, '/r4/sub/deeper')).toEqual(['two.txt']);

    emu().resetStats();
    const report = await fs.refresh('/r4', { recursive: true });
    expect(report).toMatchObject({ found: 'folder', entries: 3, relistedFolders: 3, droppedFolders: 0, requests: 3 });
    expect(listings()).toBe(3);
    expect(describeRefresh(report)).toBe('refreshed /r4 (listing of 3 entries, 2 folders below listed again)');
    emu().resetStats();
    expect(await names(fs, '/r4/sub')).toEqual(['deeper']);
    expect(await names(fs, '/r4/sub/deeper')).toEqual(['new.txt', 'two.txt']);
    expect(requests()).toBe(0); // warm
    expect(await names(fs, '/r4/other')).toEqual(['four.txt', 'three.txt']);
  });

  it('a folder gone on the server: everything cached below it goes', async () => {
    const other = client();
    await other.upload('r5/inner/x.txt', { buffer: Buffer.from('x') });
    const { fs } = mount();
    expect(await names(fs, '/r5/inner')).toEqual(['x.txt']);
    await other.delete('r5', { recursive: true });
    expect(await fs.refresh('/r5/inner')).toMatchObject({ found: 'missing' });
    await expectErrno(fs.getattr('/r5/inner/x.txt'), 'ENOENT');
    await expectErrno(fs.readdir('/r5/inner'), 'ENOENT');
  });
});

describe('the poll (--poll-interval)', () => {
  it('a file created elsewhere shows after one poll of a folder in use, for one listing request', async () => {
    const other = client();
    for (let i = 0; i < 10; i++) await other.upload(`p1/f${i}.txt`, { buffer: Buffer.from(String(i)) });
    const { fs } = mount({ pollIntervalMs: 10_000 });
    expect(await names(fs, '/p1')).toHaveLength(10);
    expect(fs.remoteChanges.foldersInUse()).toEqual(['p1']);

    await other.upload('p1/created-elsewhere.txt', { buffer: Buffer.from('hi') });
    expect(await names(fs, '/p1')).not.toContain('created-elsewhere.txt');
    emu().resetStats();
    const round = await fs.remoteChanges.pollOnce();
    // A folder of up to two pages is listed in full: here one request.
    expect(round).toEqual({ folders: 1, requests: 1, changes: 1, errors: 0 });
    expect(requests()).toBe(1);
    expect(listings()).toBe(1);
    expect(await names(fs, '/p1')).toContain('created-elsewhere.txt');
    expect(requests()).toBe(1);
    expect(fs.remoteChanges.status()).toMatchObject({ pollIntervalSeconds: 10, pollRequests: 1, polledFolders: 1, polls: 1, pollChanges: 1, pollErrors: 0 });
    expect(Date.parse(fs.remoteChanges.status().lastPollAt!)).not.toBeNaN();
  });

  it('finds a deletion in a folder listed in full at every poll; a reader of a changed file keeps its version', async () => {
    const other = client();
    const old = pattern(1 * MiB, 3);
    await other.upload('p2/gone.txt', { buffer: Buffer.from('bye') });
    await other.upload('p2/read.bin', { buffer: old });
    const { fs } = mount({ pollIntervalMs: 5_000 });
    expect(await names(fs, '/p2')).toEqual(['gone.txt', 'read.bin']);
    const fh = await fs.open('/p2/read.bin', O_RDONLY);
    const head = await readAt(fs, '/p2/read.bin', fh, 0, 128 * 1024);

    await other.delete('p2/gone.txt');
    await other.upload('p2/read.bin', { buffer: pattern(2 * MiB, 4) });
    expect(await fs.remoteChanges.pollOnce()).toEqual({ folders: 1, requests: 1, changes: 2, errors: 0 });
    await expectErrno(fs.getattr('/p2/gone.txt'), 'ENOENT');
    expect(await names(fs, '/p2')).toEqual(['read.bin']);
    expect((await fs.getattr('/p2/read.bin')).size).toBe(2 * MiB);
    // The open handle reads on, the version it opened, whole.
    expect((await fs.fgetattr('/p2/read.bin', fh)).size).toBe(1 * MiB);
    const rest = await readAt(fs, '/p2/read.bin', fh, head.length, 1 * MiB);
    expect(Buffer.concat([head, rest]).equals(old)).toBe(true);
    await fs.release('/p2/read.bin', fh);
  });

  it('a folder of more than two pages: "changed since" (2 requests), and a full listing every 10th poll finds deletions', async () => {
    const other = client();
    for (let i = 0; i < 5; i++) await other.upload(`p3/f${i}.txt`, { buffer: Buffer.from(String(i)) });
    ageEntries('p3', ['f0.txt', 'f1.txt', 'f2.txt', 'f3.txt', 'f4.txt']);
    // Two entries a page: 5 entries are 3 pages, dearer than the 2 requests of "changed since".
    const { fs, clock } = mount({ pollIntervalMs: 10_000, listPageSize: 2 });
    expect(await names(fs, '/p3')).toHaveLength(5);

    await other.upload('p3/new.txt', { buffer: Buffer.from('new') });
    await other.upload('p3/f0.txt', { buffer: Buffer.from('changed') });
    await other.delete('p3/f4.txt');
    emu().resetStats();
    expect(await fs.remoteChanges.pollOnce()).toEqual({ folders: 1, requests: 2, changes: 2, errors: 0 });
    expect(listings()).toBe(2);
    expect(await names(fs, '/p3')).toEqual(['f0.txt', 'f1.txt', 'f2.txt', 'f3.txt', 'f4.txt', 'new.txt']);
    expect((await fs.getattr('/p3/f0.txt')).size).toBe(7);
    // The deletion does not show in a "changed since" answer: f4 stays listed until a full listing.
    for (let poll = 2; poll < FULL_LIST_EVERY; poll++) {
      clock.advance(10_000);
      await fs.readdir('/p3'); // still in use
      expect((await fs.remoteChanges.pollOnce()).requests).toBe(2);
      expect(await names(fs, '/p3')).toContain('f4.txt');
    }
    expect(listings()).toBe(2 * (FULL_LIST_EVERY - 1));
    clock.advance(10_000);
    await fs.readdir('/p3');
    // The 10th: a full listing, ⌈6 / 2⌉ = 3 requests.
    expect(await fs.remoteChanges.pollOnce()).toEqual({ folders: 1, requests: 3, changes: 1, errors: 0 });
    expect(listings()).toBe(2 * (FULL_LIST_EVERY - 1) + 3);
    expect(await names(fs, '/p3')).toEqual(['f0.txt', 'f1.txt', 'f2.txt', 'f3.txt', 'new.txt']);
    await expectErrno(fs.getattr('/p3/f4.txt'), 'ENOENT');
    expect(fs.remoteChanges.status().pollRequests).toBe(listings());
  });

  it('"in use": listed within the last minute, or holding an open file; nothing else is asked about', async () => {
    const other = client();
    await other.upload('p4/listed/a.txt', { buffer: Buffer.from('a') });
    await other.upload('p4/open/b.txt', { buffer: Buffer.from('b') });
    await other.upload('p4/idle/c.txt', { buffer: Buffer.from('c') });
    const { fs, clock } = mount({ pollIntervalMs: 10_000 });
    await fs.readdir('/p4/listed');
    const fh = await fs.open('/p4/open/b.txt', O_RDONLY);
    await fs.getattr('/p4/idle/c.txt'); // a stat is not use of the folder
    expect(fs.remoteChanges.foldersInUse().sort()).toEqual(['p4/listed', 'p4/open']);
    // The open file's folder was never listed: asked "changed since" (2 requests), and a file changed there shows.
    await other.upload('p4/open/b.txt', { buffer: Buffer.from('b, changed') });
    emu().resetStats();
    expect(await fs.remoteChanges.pollOnce()).toEqual({ folders: 2, requests: 3, changes: 1, errors: 0 });
    expect(listings()).toBe(3);
    expect((await fs.getattr('/p4/open/b.txt')).size).toBe(10);
    await fs.release('/p4/open/b.txt', fh);

    // A minute later the listed folder is no longer in use (its listing is still cached); the closed file's folder neither.
    clock.advance(RECENT_USE_MS + 1);
    expect(fs.remoteChanges.foldersInUse()).toEqual([]);
    emu().resetStats();
    expect(await fs.remoteChanges.pollOnce()).toEqual({ folders: 0, requests: 0, changes: 0, errors: 0 });
    expect(requests()).toBe(0);
  });

  it('"changed since" asks from the clock slack before the last look: recent entries come back, and are no change', async () => {
    const other = client();
    for (const n of ['x.txt', 'y.txt', 'z.txt']) await other.upload(`p5/${n}`, { buffer: Buffer.from(n) });
    // One entry a page: 3 entries are 3 pages, so the poll asks "changed since".
    const { fs } = mount({ pollIntervalMs: 10_000, listPageSize: 1 });
    expect(await names(fs, '/p5')).toEqual(['x.txt', 'y.txt', 'z.txt']);
    emu().resetStats();
    // Folders: none changed (1 request); files: all three changed within the slack (3 pages of 1).
    expect(await fs.remoteChanges.pollOnce()).toEqual({ folders: 1, requests: 4, changes: 0, errors: 0 });
    expect(listings()).toBe(4);
    expect(CLOCK_SLACK_MS).toBe(60_000);
  });
});

/** A mock server whose listing answers wait, once computed, until the test lets them go: an answer overtaken by a change of ours. */
class LateListings extends MockFilesClient {
  hold: Promise<void> | undefined;
  held = 0;

  override async *list(path: string, options: ListOptions = {}): AsyncIterable<RemoteEntry[]> {
    const pages: RemoteEntry[][] = [];
    for await (const page of super.list(path, options)) pages.push(page);
    // Held: a full listing, or the files' part of a "changed since" look.
    if (this.hold && options.filter?.type !== 'folder') {
      this.held++;
      await this.hold;
    }
    yield* pages;
  }
}

describe('the poll and our own changes', () => {
  it.each([['a full listing', 1000], ['"changed since"', 1]])('%s overtaken by a change of ours is not applied (read-your-writes holds)', async (_how, pageSize) => {
    const clock = new FakeClock(Date.now());
    const server = new LateListings({ now: clock.now });
    for (const n of ['keep.txt', 'also.txt', 'more.txt']) server.serverPut(`d/${n}`, n);
    const fs = new FilesFilesystem(server, { logger: createLogger({ level: 'silent' }), clock: clock.now, attrTtlMs: HOUR, dirTtlMs: HOUR, pollIntervalMs: 10_000, listPageSize: pageSize });
    expect(await names(fs, '/d')).toEqual(['also.txt', 'keep.txt', 'more.txt']);

    let release!: () => void;
    server.hold = new Promise<void>((r) => { release = r; });
    const polling = fs.remoteChanges.pollOnce();
    while (server.held === 0) await new Promise((r) => setTimeout(r, 1));
    // The server's answer is made; now we create a folder and delete a file, before it arrives.
    await fs.mkdir('/d/mine', 0o755);
    await fs.unlink('/d/keep.txt');
    server.hold = undefined;
    release();
    const round = await polling;
    expect(round).toMatchObject({ folders: 1, changes: 0, errors: 0 });
    expect((await fs.getattr('/d/mine')).kind).toBe('directory');
    await expectErrno(fs.getattr('/d/keep.txt'), 'ENOENT');
    expect(await names(fs, '/d')).toEqual(['also.txt', 'mine', 'more.txt']);
    // The next poll asks again, and agrees.
    clock.advance(10_000);
    expect(await fs.remoteChanges.pollOnce()).toMatchObject({ folders: 1, changes: 0, errors: 0 });
    expect(await names(fs, '/d')).toEqual(['also.txt', 'mine', 'more.txt']);
  });
});
