// Reading through the content cache on disk, at the filesystem layer (a mock
// server): a file read once is read again after a remount without a
// request; a changed file is never read from the old blocks; a mix of two
// versions is never returned; while the server is unreachable, what is
// cached is still readable; memory stays within its budget.
import { createHash } from 'node:crypto';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { ServerUnreachableError } from '../../src/client/errors.js';
import { createLogger } from '../../src/log/logger.js';
import { FilesFilesystem } from '../../src/vfs/filesystem.js';
import type { FilesystemOptions } from '../../src/vfs/options.js';
import { testDir } from '../support/emulator.js';
import { MockFilesClient } from '../support/mock-files-client.js';
import { expectErrno, FakeClock, KiB, MiB, O_RDONLY, pattern, readAll, readAt, type Setup } from './helpers.js';

const sha256 = (b: Buffer): string => createHash('sha256').update(b).digest('hex');

const mounted: FilesFilesystem[] = [];
afterEach(async () => {
  await Promise.all(mounted.splice(0).map((fs) => fs.close()));
});

/** A filesystem with a content cache in `dir`; given `previous`, on the same server and clock (the next mount). */
function mount(dir: string, options: FilesystemOptions = {}, previous?: Pick<Setup, 'client' | 'clock'>): Setup {
  const clock = previous?.clock ?? new FakeClock();
  const client = previous?.client ?? new MockFilesClient({ now: clock.now });
  const logs: string[] = [];
  const logger = createLogger({ level: 'debug', sink: (line) => logs.push(line) });
  const fs = new FilesFilesystem(client, { clock: clock.now, logger, uid: 1000, gid: 1000, contentCacheDir: dir, contentCacheMinFreeBytes: 0, ...options });
  mounted.push(fs);
  return { fs, client, clock, logs };
}

describe('reading through the content cache on disk', () => {
  it('a file read once is read again after a remount without a download, byte for byte', async () => {
    const dir = join(testDir('disk-read-'), 'content');
    const first = mount(dir);
    const data = pattern(20 * MiB + 5 * KiB, 7);
    first.client.serverPut('big.bin', data);
    expect(sha256(await readAll(first.fs, '/big.bin', 128 * KiB))).toBe(sha256(data));
    await first.fs.close();

    const second = mount(dir, {}, first);
    await second.fs.context.contents.ready;
    first.client.resetCounts();
    expect(sha256(await readAll(second.fs, '/big.bin', 128 * KiB))).toBe(sha256(data));
    expect(first.client.counts.readRange).toBe(0);
    // Random reads too, and across block edges.
    const fh = await second.fs.open('/big.bin', O_RDONLY);
    for (const at of [0, 1 * MiB - 10, 7 * MiB + 3, 20 * MiB + 5 * KiB - 100]) {
      expect((await readAt(second.fs, '/big.bin', fh, at, 200)).equals(data.subarray(at, at + 200))).toBe(true);
    }
    expect(first.client.counts.readRange).toBe(0);
    const status = second.fs.contentStatus();
    expect(status.disk).toMatchObject({ files: 1, blocks: 21 });
    expect(status.disk!.hits).toBeGreaterThan(0);
  });

  it('a file changed on the server is read anew after the TTL: never its old blocks, also after a remount', async () => {
    const dir = join(testDir('disk-read-'), 'content');
    const s = mount(dir, { attrTtlMs: 1000 });
    const v1 = pattern(3 * MiB, 1);
    s.client.serverPut('f.bin', v1);
    expect(sha256(await readAll(s.fs, '/f.bin'))).toBe(sha256(v1));
    s.clock.advance(1000);
    // Same size; only the server's times tell (and the ETag).
    const v2 = pattern(3 * MiB, 2);
    s.client.serverPut('f.bin', v2);
    expect(sha256(await readAll(s.fs, '/f.bin'))).toBe(sha256(v2));
    await s.fs.close();
    s.clock.advance(1000);
    const v3 = pattern(3 * MiB, 3);
    s.client.serverPut('f.bin', v3);
    const next = mount(dir, {}, s);
    expect(sha256(await readAll(next.fs, '/f.bin'))).toBe(sha256(v3));
  });

  it('a partly cached file whose bytes changed behind the same size and times is ESTALE, and its blocks go', async () => {
    const dir = join(testDir('disk-read-'), 'content');
    const s = mount(dir);
    const v1 = pattern(4 * MiB, 1);
    const entry = s.client.serverPut('p.bin', v1);
    const fh = await s.fs.open('/p.bin', O_RDONLY);
    await readAt(s.fs, '/p.bin', fh, 0, 4 * KiB); // caches the first MiB only
    await s.fs.release('/p.bin', fh);
    await s.fs.close();
    // Other bytes, same size and times (a server that keeps them): only the ETag differs.
    s.client.serverPut('p.bin', pattern(4 * MiB, 2), { mtime: entry.mtime });
    const next = mount(dir, {}, s);
    const h = await next.fs.open('/p.bin', O_RDONLY);
    // The cached first MiB would be v1, the rest v2: the fetch's ETag check catches it.
    await expectErrno(readAt(next.fs, '/p.bin', h, 2 * MiB, 16), 'ESTALE');
    expect(next.fs.context.contents.disk!.stats().blocks).toBe(0);
  });

  it('while the server is unreachable, a cached file opens and reads with no request; an uncached one fails with EIO', async () => {
    const dir = join(testDir('disk-read-'), 'content');
    const s = mount(dir);
    const data = pattern(2 * MiB + 1, 4);
    s.client.serverPut('d/cached.bin', data);
    s.client.serverPut('d/other.bin', pattern(MiB, 5));
    await s.fs.readdir('/d');
    await readAll(s.fs, '/d/cached.bin');
    s.client.resetCounts();
    const down = new ServerUnreachableError({ message: 'the server is unreachable' });
    for (const method of ['stat', 'list', 'readRange'] as const) s.client.on(method, () => { throw down; });
    expect(sha256(await readAll(s.fs, '/d/cached.bin'))).toBe(sha256(data));
    await expectErrno(readAll(s.fs, '/d/other.bin'), 'EIO');
    // The folder read-ahead's prefetch, and the read's own requests (one, or its read-ahead and
    // its own when the prefetch failed before the read began): no more, though each one fails.
    expect(s.client.counts.readRange).toBeLessThanOrEqual(3);
    expect(s.client.counts.stat + s.client.counts.list).toBe(0);
  });

  it('our own utimens and renames keep the cached blocks', async () => {
    const dir = join(testDir('disk-read-'), 'content');
    const s = mount(dir);
    const data = pattern(2 * MiB, 8);
    s.client.serverPut('a/f.bin', data);
    await readAll(s.fs, '/a/f.bin');
    await s.fs.utimens('/a/f.bin', null, new Date('2001-01-01T00:00:00Z'));
    await s.fs.rename('/a', '/b');
    await s.fs.close();
    const next = mount(dir, {}, s);
    s.client.resetCounts();
    expect(sha256(await readAll(next.fs, '/b/f.bin'))).toBe(sha256(data));
    expect(s.client.counts.readRange).toBe(0);
  });

  it('a deleted file takes its blocks with it', async () => {
    const dir = join(testDir('disk-read-'), 'content');
    const s = mount(dir);
    s.client.serverPut('gone.bin', pattern(MiB));
    await readAll(s.fs, '/gone.bin');
    await s.fs.context.contents.disk!.settled();
    expect(s.fs.context.contents.disk!.stats().blocks).toBe(1);
    s.client.serverDelete('gone.bin');
    s.fs.context.contents.removed('gone.bin'); // what the namespace does after its unlink
    expect(s.fs.context.contents.disk!.stats().blocks).toBe(0);
  });

  it('memory stays within its budget while 20 files are read at once, and is given back when idle', async () => {
    const dir = join(testDir('disk-read-'), 'content');
    const s = mount(dir);
    const files = Array.from({ length: 20 }, (_, i) => {
      const data = pattern(6 * MiB, i + 1);
      s.client.serverPut(`p/${i}.bin`, data);
      return { path: `/p/${i}.bin`, data };
    });
    const budget = s.fs.context.options.readCacheTotalBytes;
    let worst = 0;
    s.client.on('readRange', () => {
      worst = Math.max(worst, s.fs.contentStatus().memory.usedBytes);
    });
    s.client.delay('readRange', 1);
    const out = await Promise.all(files.map((f) => readAll(s.fs, f.path, 128 * KiB)));
    for (let i = 0; i < files.length; i++) expect(sha256(out[i]!)).toBe(sha256(files[i]!.data));
    expect(worst).toBeGreaterThan(0);
    expect(worst).toBeLessThanOrEqual(budget);
    // Idle: what is on disk leaves memory.
    await s.fs.context.contents.disk!.settled();
    (s.fs.context.contents as unknown as { releaseIdle(): boolean }).releaseIdle();
    expect(s.fs.contentStatus().memory.usedBytes).toBe(0);
  });

  it('with --cache-size 0 nothing goes to disk, and reads work as before', async () => {
    const dir = join(testDir('disk-read-'), 'content');
    const s = mount(dir, { contentCacheBytes: 0 });
    const data = pattern(3 * MiB, 2);
    s.client.serverPut('f', data);
    expect(sha256(await readAll(s.fs, '/f'))).toBe(sha256(data));
    expect(s.fs.contentStatus().disk).toBeNull();
    // Random reads fetch their 256 KiB block only (no disk block to fill).
    const fh = await s.fs.open('/f', O_RDONLY);
    s.fs.context.contents.blocks.drop(s.fs.context.contents.current('f')!);
    s.client.resetCounts();
    await readAt(s.fs, '/f', fh, 2 * MiB + 10, 100);
    expect(s.client.ranges).toEqual([{ path: 'f', offset: 2 * MiB, length: 256 * KiB }]);
  });

  it('with the disk cache on, a random read fetches the whole 1 MiB block it keeps', async () => {
    const dir = join(testDir('disk-read-'), 'content');
    const s = mount(dir);
    s.client.serverPut('r', pattern(8 * MiB, 2));
    const fh = await s.fs.open('/r', O_RDONLY);
    await readAt(s.fs, '/r', fh, 5 * MiB + 300 * KiB, 4 * KiB);
    expect(s.client.ranges).toEqual([{ path: 'r', offset: 5 * MiB, length: 1 * MiB }]);
  });
});
