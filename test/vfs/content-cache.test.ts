// The content cache on disk (src/vfs/content-cache): blocks kept across
// instances (mounts), checked against the server's version, bounded by size
// and by the free space it must leave, never a block that reads back wrong.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { RemoteEntry } from '../../src/client/files-client.js';
import { createLogger, type Logger } from '../../src/log/logger.js';
import { ContentDiskCache, RESUME_MARGIN_BYTES, VERSION_OVERHEAD_BYTES, type ContentDiskCacheOptions, type DiskVersion } from '../../src/vfs/content-cache/index.js';
import { testDir } from '../support/emulator.js';
import { mountTmpfs, type Tmpfs } from '../support/tmpfs.js';
import { pattern } from './helpers.js';

const B = 64 * 1024;
const MiB = 1024 * 1024;

function entry(path: string, size: number, more: Partial<RemoteEntry> = {}): RemoteEntry {
  return {
    path, name: path.split('/').pop()!, type: 'file', size,
    mtime: new Date('2024-01-01T00:00:00Z'), serverMtime: new Date('2024-01-02T00:00:00Z'), providedMtime: null,
    createdAt: null, md5: null, crc32: null, permissions: null, ...more,
  };
}

interface Opened {
  cache: ContentDiskCache;
  logs: string[];
}

const opened: ContentDiskCache[] = [];
afterEach(async () => {
  await Promise.all(opened.splice(0).map((c) => c.close()));
});

async function open(dir: string, options: Partial<ContentDiskCacheOptions> = {}): Promise<Opened> {
  const logs: string[] = [];
  const logger: Logger = createLogger({ level: 'debug', sink: (line) => logs.push(line) });
  const cache = new ContentDiskCache({ dir, maxBytes: 100 * MiB, minFreeBytes: 0, blockSize: B, logger, ...options });
  opened.push(cache);
  await cache.ready;
  return { cache, logs };
}

/** Writes every block of `data` as version `v`. */
async function fill(cache: ContentDiskCache, v: DiskVersion, data: Buffer, blocks = Math.ceil(data.length / B)): Promise<void> {
  await Promise.all(Array.from({ length: blocks }, (_, i) => cache.write(v, i, [data.subarray(i * B, Math.min((i + 1) * B, data.length))])));
}

/** Reads block `index` (all of it) back. */
async function readBlock(cache: ContentDiskCache, v: DiskVersion, index: number, length: number): Promise<Buffer | null> {
  const out = Buffer.alloc(length);
  return (await cache.readInto(v, index, out, 0, 0, length)) ? out : null;
}

/** Bytes under `dir` as du counts them. */
function du(dir: string): number {
  return Number(execFileSync('du', ['-s', '--block-size=1', dir], { encoding: 'utf8' }).split('\t')[0]);
}

describe('content cache on disk', () => {
  it('keeps blocks across instances (a remount): the same bytes, no request needed', async () => {
    const dir = join(testDir('content-'), 'content');
    const data = pattern(5 * B + 123, 3);
    const e = entry('Docs/Report.pdf', data.length);
    const first = await open(dir);
    const v = first.cache.bind(e)!;
    await fill(first.cache, v, data);
    await first.cache.close();

    // Another spelling of the same path finds it (path identity).
    const second = await open(dir);
    const again = second.cache.bind(entry('docs/report.PDF', data.length))!;
    for (let i = 0; i < 6; i++) expect(second.cache.has(again, i)).toBe(true);
    expect(Buffer.concat(await Promise.all(Array.from({ length: 6 }, (_, i) => readBlock(second.cache, again, i, Math.min(B, data.length - i * B)).then((b) => b!))))).toEqual(data);
    // Part of a block, into the middle of a buffer.
    const part = Buffer.alloc(10, 0);
    expect(await second.cache.readInto(again, 2, part, 3, 100, 105)).toBe(true);
    expect(part.subarray(3, 8)).toEqual(data.subarray(2 * B + 100, 2 * B + 105));
    expect(second.cache.stats()).toMatchObject({ blocks: 6, files: 1, hits: 7 });
  });

  it('is private: folders 0700, files 0600', async () => {
    const dir = join(testDir('content-'), 'content');
    const { cache } = await open(dir);
    const v = cache.bind(entry('a', 10))!;
    await fill(cache, v, Buffer.from('0123456789'));
    expect(statSync(dir).mode & 0o777).toBe(0o700);
    const [id] = readdirSync(dir);
    expect(statSync(join(dir, id!)).mode & 0o777).toBe(0o700);
    for (const name of readdirSync(join(dir, id!))) expect(statSync(join(dir, id!, name)).mode & 0o777, name).toBe(0o600);
  });

  it.each([
    ['size', { size: 6 * B }],
    ['mtime', { mtime: new Date('2025-01-01T00:00:00Z') }],
    ["the server's mtime (a new upload keeping provided_mtime)", { serverMtime: new Date('2025-01-02T00:00:00Z') }],
  ] as Array<[string, Partial<RemoteEntry>]>)('another %s is another version: its blocks go, also at the next start', async (_what, change) => {
    const dir = join(testDir('content-'), 'content');
    const data = pattern(5 * B, 1);
    const { cache } = await open(dir);
    const v = cache.bind(entry('f', data.length))!;
    await fill(cache, v, data);
    await cache.close();
    const next = await open(dir);
    const old = next.cache.versionOf('f')!;
    expect(next.cache.has(old, 0)).toBe(true);
    const w = next.cache.bind(entry('f', data.length, change))!;
    expect(w).not.toBe(old);
    expect(next.cache.has(w, 0)).toBe(false);
    expect(await readBlock(next.cache, old, 0, B)).toBeNull();
    await next.cache.close();
    expect(readdirSync(dir)).toEqual([]);
  });

  it('checksums count once both sides have them: arriving later is no change, differing is', async () => {
    const dir = join(testDir('content-'), 'content');
    const { cache } = await open(dir);
    const data = pattern(B, 2);
    const v = cache.bind(entry('f', B))!;
    await fill(cache, v, data);
    // The server computed them since: the same version, now with checksums.
    expect(cache.bind(entry('f', B, { md5: 'ABCDEF', crc32: 'ff' }))).toBe(v);
    // crc32 without zero padding (the server) and with (other clients) is one value.
    expect(cache.bind(entry('f', B, { crc32: '000000ff' }))).toBe(v);
    cache.observe(entry('f', B, { md5: 'abcdef' }));
    expect(cache.has(v, 0)).toBe(true);
    cache.observe(entry('f', B, { md5: '123456' }));
    expect(cache.has(v, 0)).toBe(false);
  });

  it('a version open files read is kept for them (detached) and deleted once they let go', async () => {
    const dir = join(testDir('content-'), 'content');
    const { cache } = await open(dir);
    const data = pattern(2 * B, 5);
    const v = cache.bind(entry('f', data.length))!;
    cache.hold(v);
    await fill(cache, v, data);
    cache.observe(entry('f', data.length + 1)); // the server has a newer version
    expect(v.detached).toBe(true);
    expect(await readBlock(cache, v, 1, B)).toEqual(data.subarray(B));
    // New opens get the new version, not the old blocks.
    expect(cache.bind(entry('f', data.length + 1))).not.toBe(v);
    cache.release(v);
    expect(cache.has(v, 0)).toBe(false);
    await cache.close();
    expect(existsSync(v.dir)).toBe(false);
  });

  it('never uses more than its size on disk (as du counts it): the least recently used blocks go first', async () => {
    const dir = join(testDir('content-'), 'content');
    const max = 12 * B + VERSION_OVERHEAD_BYTES;
    const { cache } = await open(dir, { maxBytes: max });
    const a = cache.bind(entry('a', 8 * B))!;
    const b = cache.bind(entry('b', 8 * B))!;
    // One after the other: the order they were written is their order of use.
    for (let i = 0; i < 8; i++) await cache.write(a, i, [pattern(8 * B, 1).subarray(i * B, (i + 1) * B)]);
    const worst = { du: 0 };
    const watch = setInterval(() => { worst.du = Math.max(worst.du, du(dir)); }, 1);
    // Block 0 of a is used again: it outlives a's other blocks.
    expect(await readBlock(cache, a, 0, B)).not.toBeNull();
    for (let i = 0; i < 8; i++) {
      await cache.write(b, i, [pattern(8 * B, 2).subarray(i * B, (i + 1) * B)]);
      worst.du = Math.max(worst.du, du(dir));
    }
    clearInterval(watch);
    const s = cache.stats();
    expect(s.usedBytes).toBeLessThanOrEqual(max);
    // b needed 8 blocks and a folder (2 × 4 KiB): 5 of a's blocks made room.
    expect(s.evictedBlocks).toBe(5);
    // du: the blocks and version folders, plus the content folder itself.
    expect(worst.du).toBeLessThanOrEqual(max + 4096);
    expect(cache.has(a, 0)).toBe(true);
    expect([1, 2, 3, 4, 5].filter((i) => cache.has(a, i))).toEqual([]);
    expect([6, 7].filter((i) => cache.has(a, i))).toEqual([6, 7]);
    for (let i = 0; i < 8; i++) expect(cache.has(b, i)).toBe(true);
  });

  it('a smaller size at the next start evicts down to it at once', async () => {
    const dir = join(testDir('content-'), 'content');
    const first = await open(dir);
    const v = first.cache.bind(entry('f', 10 * B))!;
    await fill(first.cache, v, pattern(10 * B, 1));
    await first.cache.close();
    const small = 4 * B + VERSION_OVERHEAD_BYTES;
    const second = await open(dir, { maxBytes: small });
    expect(second.cache.stats().usedBytes).toBeLessThanOrEqual(small);
    expect(du(dir)).toBeLessThanOrEqual(small + 4096);
  });

  it('leaves --cache-min-free: stops growing (and says why, once), gives space back when others fill the disk, grows again with room', async () => {
    const dir = join(testDir('content-'), 'content');
    const disk = { freeBytes: 100 * MiB, totalBytes: 200 * MiB };
    let clock = 0;
    const { cache, logs } = await open(dir, { minFreeBytes: 90 * MiB, statfs: async () => ({ ...disk }), now: () => clock });
    const v = cache.bind(entry('f', 40 * B))!;
    cache.hold(v); // an open file reads it
    const data = pattern(40 * B, 1);
    await fill(cache, v, data, 20);
    expect(cache.stats().state).toBe('growing');
    // Others wrote 95 MiB: 5 MiB free, below the 90 MiB to leave.
    disk.freeBytes = 5 * MiB;
    clock += 2_000;
    await cache.write(v, 20, [data.subarray(20 * B, 21 * B)]);
    expect(cache.has(v, 20)).toBe(false);
    // It gave its blocks back (there was not enough to reach 90 MiB free) and stopped.
    expect(cache.stats()).toMatchObject({ state: 'stopped', blocks: 0 });
    expect(cache.stats().stoppedReason).toMatch(/below --cache-min-free 90\.0 MiB/);
    expect(logs.filter((l) => l.includes('stopped growing'))).toHaveLength(1);
    await cache.write(v, 21, [data.subarray(21 * B, 22 * B)]);
    expect(logs.filter((l) => l.includes('stopped growing'))).toHaveLength(1);
    // Room again (above the limit by the resume margin): it grows again, and says so.
    disk.freeBytes = 90 * MiB + RESUME_MARGIN_BYTES + MiB;
    clock += 2_000;
    await cache.write(v, 22, [data.subarray(22 * B, 23 * B)]);
    expect(cache.has(v, 22)).toBe(true);
    expect(cache.stats().state).toBe('growing');
    expect(logs.some((l) => l.includes('growing again'))).toBe(true);
  });

  it('at --cache-min-free with blocks to give back: new blocks replace the oldest, and the log says once that the disk stopped its growth', async () => {
    const dir = join(testDir('content-'), 'content');
    const disk = { freeBytes: 100 * MiB, totalBytes: 200 * MiB };
    let clock = 0;
    const { cache, logs } = await open(dir, { minFreeBytes: 90 * MiB, statfs: async () => ({ ...disk }), now: () => clock });
    const v = cache.bind(entry('f', 40 * B))!;
    cache.hold(v);
    const data = pattern(40 * B, 2);
    await fill(cache, v, data, 10);
    // Others wrote some: one block less than a block above the limit.
    disk.freeBytes = 90 * MiB + B / 2;
    clock += 2_000;
    await cache.write(v, 10, [data.subarray(10 * B, 11 * B)]);
    await cache.write(v, 11, [data.subarray(11 * B, 12 * B)]);
    expect(cache.has(v, 11)).toBe(true);
    // Older blocks made room: it holds no more than before.
    expect(cache.stats().blocks).toBeLessThanOrEqual(10);
    expect(cache.stats().evictedBlocks).toBeGreaterThanOrEqual(2);
    expect(cache.stats()).toMatchObject({ state: 'full' });
    const said = logs.filter((l) => l.includes('stopped growing'));
    expect(said).toHaveLength(1);
    expect(said[0]).toMatch(/below --cache-min-free 90\.0 MiB; new blocks replace the oldest; reads go on from the network/);
  });

  it('a block from an earlier boot is checked once against its checksum: a damaged one is never read, a whole one is kept', async () => {
    const dir = join(testDir('content-'), 'content');
    const data = pattern(3 * B, 9);
    const first = await open(dir);
    const v = first.cache.bind(entry('f', data.length))!;
    await fill(first.cache, v, data);
    await first.cache.close();
    // As a power cut might leave them: written in another boot, block 1 damaged.
    const [id] = readdirSync(dir);
    for (const name of readdirSync(join(dir, id!)).filter((n) => n !== 'meta.json')) {
      renameSync(join(dir, id!, name), join(dir, id!, name.replace(/\.[0-9a-z]{8}$/, '.00000000')));
    }
    const damaged = readdirSync(join(dir, id!)).find((n) => n.startsWith('1.'))!;
    const bytes = readFileSync(join(dir, id!, damaged));
    bytes[100] ^= 0xff;
    writeFileSync(join(dir, id!, damaged), bytes);

    const second = await open(dir);
    const w = second.cache.bind(entry('f', data.length))!;
    expect(await readBlock(second.cache, w, 0, B)).toEqual(data.subarray(0, B));
    expect(await readBlock(second.cache, w, 1, B)).toBeNull();
    expect(second.cache.has(w, 1)).toBe(false);
    expect(second.logs.some((l) => l.includes('do not match its checksum'))).toBe(true);
    await second.cache.close();
    // Block 0 passed: renamed to this boot's tag, not checked again; block 1 is gone.
    const names = readdirSync(join(dir, id!));
    expect(names.find((n) => n.startsWith('0.'))).not.toMatch(/\.00000000$/);
    expect(names.some((n) => n.startsWith('1.'))).toBe(false);
  });

  it('what a crash leaves (temporary files, a folder without meta.json, a truncated block) is cleaned up at the next start', async () => {
    const dir = join(testDir('content-'), 'content');
    const data = pattern(2 * B, 4);
    const first = await open(dir);
    const v = first.cache.bind(entry('f', data.length))!;
    await fill(first.cache, v, data);
    await first.cache.close();
    const [id] = readdirSync(dir);
    writeFileSync(join(dir, id!, '.1.abc.tmp'), 'half a block');
    mkdirSync(join(dir, 'deadbeef00000000'));
    writeFileSync(join(dir, 'deadbeef00000000', '0.5.00000000.00000000'), 'x');
    // A block name promising more than its version's size (never written by us): dropped.
    writeFileSync(join(dir, id!, `7.${B}.00000000.00000000`), 'junk');
    const second = await open(dir);
    expect(readdirSync(dir)).toEqual([id]);
    expect(readdirSync(join(dir, id!)).sort()).toEqual(readdirSync(join(dir, id!)).filter((n) => !n.startsWith('.') && !n.startsWith('7.')).sort());
    const w = second.cache.bind(entry('f', data.length))!;
    expect(await readBlock(second.cache, w, 1, B)).toEqual(data.subarray(B));
  });

  it('clear empties it, also versions files are reading (they fetch again); the folder stays', async () => {
    const dir = join(testDir('content-'), 'content');
    const { cache } = await open(dir);
    const a = cache.bind(entry('a', 2 * B))!;
    cache.hold(a);
    await fill(cache, a, pattern(2 * B, 1));
    const b = cache.bind(entry('b', B))!;
    await fill(cache, b, pattern(B, 2));
    expect(await cache.clear()).toEqual({ blocks: 3, bytes: 3 * B + 2 * VERSION_OVERHEAD_BYTES });
    expect(readdirSync(dir)).toEqual([]);
    expect(cache.has(a, 0)).toBe(false);
    expect(cache.stats()).toMatchObject({ usedBytes: 0, blocks: 0, files: 0 });
    // It goes on caching.
    const c = cache.bind(entry('a', 2 * B))!;
    await fill(cache, c, pattern(2 * B, 1));
    expect(cache.has(c, 1)).toBe(true);
  });

  it('blocks follow a rename through the mount (also of a folder above), and survive our own utimens', async () => {
    const dir = join(testDir('content-'), 'content');
    const { cache } = await open(dir);
    const data = pattern(B, 6);
    const v = cache.bind(entry('Old/f.bin', B))!;
    await fill(cache, v, data);
    cache.moved('Old', 'New');
    expect(cache.bind(entry('New/f.bin', B))).toBe(v);
    cache.retime(entry('New/f.bin', B, { mtime: new Date('2030-01-01T00:00:00Z'), serverMtime: new Date('2030-01-02T00:00:00Z') }));
    await cache.close();
    const next = await open(dir);
    const w = next.cache.bind(entry('New/f.bin', B, { mtime: new Date('2030-01-01T00:00:00Z'), serverMtime: new Date('2030-01-02T00:00:00Z') }))!;
    expect(await readBlock(next.cache, w, 0, B)).toEqual(data);
    expect(next.cache.versionOf('Old/f.bin')).toBeUndefined();
  });

  it('remembers the download ETag with the blocks', async () => {
    const dir = join(testDir('content-'), 'content');
    const { cache } = await open(dir);
    const v = cache.bind(entry('f', B))!;
    await fill(cache, v, pattern(B));
    cache.learnedEtag(v, '"abc-1"');
    await cache.close();
    const next = await open(dir);
    expect(next.cache.bind(entry('f', B))!.etag).toBe('"abc-1"');
  });
});

describe('content cache on a full disk', () => {
  const root = process.getuid?.() === 0;
  let tmpfs: Tmpfs | undefined;
  afterEach(() => {
    tmpfs?.unmount();
    tmpfs = undefined;
  });

  it.runIf(root)('a write that finds the disk full (ENOSPC) leaves nothing half-written, stops the cache and says why', async () => {
    tmpfs = mountTmpfs(4 * MiB, 'content-full');
    const dir = join(tmpfs.dir, 'content');
    // A frozen clock: the cache believes its last look at the disk (plenty free) while something else fills it.
    const { cache, logs } = await open(dir, { blockSize: 256 * 1024, now: () => 0 });
    const data = pattern(8 * 256 * 1024, 3);
    const v = cache.bind(entry('big', data.length))!;
    cache.hold(v);
    const block = (i: number): Buffer[] => [data.subarray(i * 256 * 1024, (i + 1) * 256 * 1024)];
    await cache.write(v, 0, block(0));
    expect(cache.has(v, 0)).toBe(true);
    // Another program fills the disk.
    execFileSync('sh', ['-c', `dd if=/dev/zero of=${join(tmpfs.dir, 'filler')} bs=64K 2>/dev/null || true`]);
    for (let i = 1; i < 8; i++) await cache.write(v, i, block(i));
    const s = cache.stats();
    expect(s.state).toBe('stopped');
    expect(s.stoppedReason).toMatch(/full \(ENOSPC/);
    expect(logs.filter((l) => l.includes('stopped growing'))).toHaveLength(1);
    // What was kept reads back whole; no temporary file is left.
    expect([...Array(8).keys()].filter((i) => cache.has(v, i))).toEqual([0]);
    expect(await readBlock(cache, v, 0, 256 * 1024)).toEqual(data.subarray(0, 256 * 1024));
    expect(readdirSync(v.dir).filter((n) => n.endsWith('.tmp'))).toEqual([]);
  });
});
