// The filesystem layer on the real HTTP client against the real emulator,
// with request counts from the emulator's own statistics.
import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import { afterAll, describe, expect, it } from 'vitest';
import { HttpFilesClient } from '../../src/client/http-files-client.js';
import { FilesFilesystem } from '../../src/vfs/filesystem.js';
import type { FilesystemOptions } from '../../src/vfs/options.js';
import { useEmulator } from '../support/emulator.js';
import { expectErrno, KiB, MiB, O_RDONLY, pattern, readAll, readHash } from './helpers.js';

const API_KEY = 'vfsIntegrationKey42';
const emu = useEmulator({ apiKey: API_KEY });

const clients: HttpFilesClient[] = [];
afterAll(async () => {
  await Promise.all(clients.splice(0).map((c) => c.close().catch(() => undefined)));
});

function client(): HttpFilesClient {
  const c = new HttpFilesClient({ baseUrl: emu().url, credentials: { apiKey: API_KEY }, logLevel: 'silent' });
  clients.push(c);
  return c;
}

function mount(options: FilesystemOptions = {}): { fs: FilesFilesystem; client: HttpFilesClient } {
  const c = client();
  return { fs: new FilesFilesystem(c, { listPageSize: 1000, ...options }), client: c };
}

const requests = () => emu().stats().requests;
const sha256 = (b: Buffer): string => createHash('sha256').update(b).digest('hex');

describe('vfs on the emulator', () => {
  it('ls -l of a 10,000-entry folder: cold ⌈10,000 / 1,000⌉ list requests and no stat; warm no request', async () => {
    const setupClient = client();
    await setupClient.upload('big/seed.txt', { buffer: Buffer.from('seed') });
    // Fixture straight into the emulator's store (files share one blob): 10,000 uploads would take long.
    const store = emu().internals.store;
    const seed = store.resolve('big/seed.txt')!;
    for (let i = 1; i < 10_000; i++) store.putFile(`big/file-${String(i).padStart(5, '0')}.txt`, { blob: seed.blob!, size: seed.size, etag: seed.etag! }, { parents: false });
    await store.sync();

    const { fs } = mount();
    const lsl = async (path: string): Promise<number> => {
      await fs.getattr(path); // the kernel's lookup of the folder
      const fh = await fs.opendir(path, 0);
      const entries = await fs.readdir(path);
      await fs.releasedir(path, fh);
      for (const e of entries) await fs.getattr(`${path}/${e.name}`);
      return entries.length;
    };

    await fs.readdir('/'); // as after `ls mnt`: the folder itself is known from its parent's listing
    emu().resetStats();
    const started = Date.now();
    expect(await lsl('/big')).toBe(10_000);
    const coldMs = Date.now() - started;
    expect(requests()['GET /folders']).toBe(10);
    expect(requests()['GET /file_actions/metadata']).toBe(0);
    expect(emu().stats().total).toBe(10);

    emu().resetStats();
    const warmStarted = Date.now();
    await lsl('/big');
    const warmMs = Date.now() - warmStarted;
    expect(emu().stats().total).toBe(0);
    console.log(`ls -l of 10,000 entries through src/vfs: cold ${coldMs} ms (10 requests), warm ${warmMs} ms (0 requests)`);

    // Without the parent's listing, the kernel's lookup of the folder costs one stat of the folder itself.
    const { fs: fresh } = mount();
    emu().resetStats();
    await fresh.getattr('/big');
    await fresh.readdir('/big');
    expect(requests()['GET /folders']).toBe(10);
    expect(requests()['GET /file_actions/metadata']).toBe(1);
  });

  it('cat of a 256 MiB file in 128 KiB reads: ≤ 64 download requests, identical bytes', async () => {
    const data = pattern(256 * MiB, 5);
    await client().upload('media/big.bin', { stream: Readable.from([data]), size: data.length });
    const { fs } = mount();
    emu().resetStats();
    const started = Date.now();
    const got = await readHash(fs, '/media/big.bin', 128 * KiB);
    const ms = Date.now() - started;
    expect(got).toEqual({ sha256: sha256(data), size: data.length });
    const downloads = requests()['GET download']!;
    expect(downloads).toBeGreaterThan(0);
    expect(downloads).toBeLessThanOrEqual(64);
    console.log(`256 MiB sequential read through src/vfs: ${ms} ms (${((256 / ms) * 1000).toFixed(0)} MiB/s), ${downloads} download requests, ${requests()['GET /files']} download-URL requests`);
  });

  it('random reads through the real client fetch only the blocks they touch', async () => {
    const data = pattern(32 * MiB, 6);
    await client().upload('media/random.bin', { buffer: data });
    const { fs } = mount();
    const fh = await fs.open('/media/random.bin', O_RDONLY);
    emu().resetStats();
    for (const o of [20 * MiB + 7, 3 * MiB, 31 * MiB + 100]) {
      const buf = Buffer.alloc(4 * KiB);
      expect(await fs.read('/media/random.bin', fh, buf, o)).toBe(4 * KiB);
      expect(buf.equals(data.subarray(o, o + 4 * KiB))).toBe(true);
    }
    expect(requests()['GET download']).toBe(3);
  });

  it('case and accent variants through the real server; a case-only rename', async () => {
    await client().upload('Réports/Q1.pdf', { buffer: Buffer.from('quarter one') });
    const { fs } = mount();
    expect((await fs.getattr('/REPORTS/q1.PDF')).size).toBe(11);
    expect((await fs.getattr('/réports/Q1.pdf')).size).toBe(11);
    expect((await readAll(fs, '/reports/q1.pdf')).toString()).toBe('quarter one');
    expect((await fs.readdir('/Reports')).map((e) => e.name)).toEqual(['Q1.pdf']);
    await fs.rename('/Reports/Q1.pdf', '/Reports/q1.PDF');
    expect((await fs.readdir('/Reports')).map((e) => e.name)).toEqual(['q1.PDF']);
    const { fs: other } = mount();
    expect((await other.readdir('/Réports')).map((e) => e.name)).toEqual(['q1.PDF']);
  });

  it('namespace operations on the server: mkdir -p, folder rename (polled), overwrite, rmdir ENOTEMPTY, utimens', async () => {
    const { fs, client: c } = mount();
    for (const p of ['/ns', '/ns/a', '/ns/a/b']) {
      await expectErrno(fs.getattr(p), 'ENOENT');
      await fs.mkdir(p, 0o755);
    }
    await c.upload('ns/a/b/f.txt', { buffer: Buffer.from('deep') });
    fs.invalidate('ns/a/b');
    await expectErrno(fs.rmdir('/ns/a'), 'ENOTEMPTY');
    await fs.rename('/ns/a', '/ns/moved');
    expect((await readAll(fs, '/ns/moved/b/f.txt')).toString()).toBe('deep');
    await expectErrno(fs.getattr('/ns/a'), 'ENOENT');
    await c.upload('ns/x.txt', { buffer: Buffer.from('new') });
    await c.upload('ns/y.txt', { buffer: Buffer.from('old content') });
    fs.invalidate('ns', true);
    await fs.rename('/ns/x.txt', '/ns/y.txt');
    expect((await readAll(fs, '/ns/y.txt')).toString()).toBe('new');
    const when = new Date('2001-02-03T04:05:06Z');
    await fs.utimens('/ns/y.txt', null, when);
    const { fs: other } = mount();
    expect((await other.getattr('/ns/y.txt')).mtime).toEqual(when);
    await fs.unlink('/ns/y.txt');
    await expectErrno(other.getattr('/ns/nothing'), 'ENOENT');
  });

  it('a change made directly on the server becomes visible within the TTL, with its new content', async () => {
    const ttl = 400;
    const { fs } = mount({ attrTtlMs: ttl, dirTtlMs: ttl });
    const elsewhere = client();
    await elsewhere.upload('live/doc.txt', { buffer: Buffer.from('version one') });
    expect((await readAll(fs, '/live/doc.txt')).toString()).toBe('version one');
    expect((await fs.readdir('/live')).map((e) => e.name)).toEqual(['doc.txt']);
    await elsewhere.upload('live/doc.txt', { buffer: Buffer.from('version two, longer') });
    await elsewhere.upload('live/new.txt', { buffer: Buffer.from('n') });
    expect((await fs.getattr('/live/doc.txt')).size).toBe(11); // still cached
    await new Promise((r) => setTimeout(r, ttl + 50));
    expect((await fs.getattr('/live/doc.txt')).size).toBe(19);
    expect((await readAll(fs, '/live/doc.txt')).toString()).toBe('version two, longer');
    expect((await fs.readdir('/live')).map((e) => e.name)).toEqual(['doc.txt', 'new.txt']);
  });
});
