// The content cache on disk through real mounts of the built CLI: a file
// read once is read again after a remount with no download; a file changed
// on the server is read anew after the TTL; --cache-size bounds the cache dir
// (measured with du while 1 GiB is read); a cache dir whose disk fills up
// stops the cache (the log says why) while reads go on from the network and
// nothing pending is lost; filesfs status and filesfs cache clear.
import { createHash, randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, afterEach, describe, expect, test, vi } from 'vitest';
import { HttpFilesClient } from '../../src/client/http-files-client.js';
import { useEmulator } from '../support/emulator.js';
import { cliEnv, q, runCli, runProgram, scratch, sh, startMount, stopMounts } from '../support/mount.js';
import { mountTmpfs, type Tmpfs } from '../support/tmpfs.js';

const API_KEY = 'contentCacheKey42';
const emu = useEmulator({ apiKey: API_KEY });
const MiB = 1024 * 1024;

afterAll(stopMounts);

function client(): HttpFilesClient {
  return new HttpFilesClient({ baseUrl: emu().url, credentials: { apiKey: API_KEY }, logLevel: 'silent' });
}

/** Uploads `mib` MiB of random bytes (each MiB stamped with its index) as `path`; their sha256. */
async function upload(path: string, mib: number): Promise<string> {
  const block = randomBytes(MiB);
  const hash = createHash('sha256');
  const chunks = function* (): Generator<Buffer> {
    for (let i = 0; i < mib; i++) {
      const chunk = Buffer.from(block);
      chunk.writeUInt32LE(i, 0);
      hash.update(chunk);
      yield chunk;
    }
  };
  const c = client();
  try {
    await c.upload(path, { stream: Readable.from(chunks()), size: mib * MiB });
  } finally {
    await c.close();
  }
  return hash.digest('hex');
}

async function sha256sum(file: string): Promise<string> {
  const r = await sh(`sha256sum ${q(file)}`, { timeoutMs: 300_000 });
  expect(r.code, r.stderr).toBe(0);
  return r.stdout.split(' ')[0]!;
}

/** Bytes under `dir` as du counts them. */
async function du(dir: string): Promise<number> {
  const r = await runProgram('du', ['-s', '--block-size=1', dir], { timeoutMs: 10_000 });
  return Number(r.stdout.split('\t')[0]);
}

const downloads = (): number => emu().stats().requests['GET download'] ?? 0;

describe('content cache on disk through a mount', () => {
  test('a 200 MiB file read, unmounted, mounted again and read again: no download the second time, the same sha256; a change on the server is read after the TTL', { timeout: 300_000 }, async () => {
    const expected = await upload('cc/200.bin', 200);
    const cacheDir = join(scratch('cc-cache'), 'c');
    const env = cliEnv();
    const first = await startMount({ url: emu().url, apiKey: API_KEY, cacheDir, env, args: ['--attr-ttl', '1'] });
    emu().resetStats();
    expect(await sha256sum(`${first.mountpoint}/cc/200.bin`)).toBe(expected);
    expect(downloads()).toBeGreaterThan(0);
    expect((await first.stop()).code).toBe(0);

    const second = await startMount({ url: emu().url, apiKey: API_KEY, cacheDir, env, args: ['--attr-ttl', '1'] });
    await runProgram('sh', ['-c', 'echo 3 > /proc/sys/vm/drop_caches']);
    emu().resetStats();
    expect(await sha256sum(`${second.mountpoint}/cc/200.bin`)).toBe(expected);
    expect(downloads()).toBe(0);
    const status = await runCli(['status', second.mountpoint], { env });
    expect(status.code, status.stderr).toBe(0);
    expect(status.stdout, status.stdout).toMatch(/content cache: 20\d(\.\d)? MiB of 10(\.0)? GiB in 1 file \(.*\); hit rate 100% \(\d+ of \d+ blocks read from disk\)/);

    // Changed through the API: the next open after the TTL reads the new version.
    const changed = await upload('cc/200.bin', 3);
    await new Promise((r) => setTimeout(r, 2_500));
    expect(await sha256sum(`${second.mountpoint}/cc/200.bin`)).toBe(changed);
    const json = JSON.parse((await runCli(['status', second.mountpoint, '--json'], { env })).stdout) as { contentCache: { disk: { files: number; usedBytes: number } } };
    expect(json.contentCache.disk.files).toBe(1);
    expect(json.contentCache.disk.usedBytes).toBeLessThan(8 * MiB);

    // cache clear empties it; the next read downloads again.
    const cleared = await runCli(['cache', 'clear', second.mountpoint], { env });
    expect(cleared.code, cleared.stderr).toBe(0);
    expect(cleared.stdout).toMatch(/content cache emptied/);
    await runProgram('sh', ['-c', 'echo 3 > /proc/sys/vm/drop_caches']);
    emu().resetStats();
    expect(await sha256sum(`${second.mountpoint}/cc/200.bin`)).toBe(changed);
    expect(downloads()).toBeGreaterThan(0);
    expect((await second.stop()).code).toBe(0);
  });

  test('--cache-size 64M: while 1 GiB of files is read, du of the cache dir stays under 64 MiB plus one block', { timeout: 300_000 }, async () => {
    await upload('size/a.bin', 256);
    const c = client();
    try {
      for (const name of ['b', 'c', 'd']) await c.copy('size/a.bin', `size/${name}.bin`);
    } finally {
      await c.close();
    }
    const m = await startMount({ url: emu().url, apiKey: API_KEY, args: ['--cache-size', '64M', '--cache-min-free', '0'] });
    let worst = 0;
    let samples = 0;
    let reading = true;
    const watch = (async () => {
      while (reading) {
        worst = Math.max(worst, await du(m.cacheDir));
        samples++;
        await new Promise((r) => setTimeout(r, 50));
      }
    })();
    const r = await sh(`cat ${['a', 'b', 'c', 'd'].map((n) => q(`${m.mountpoint}/size/${n}.bin`)).join(' ')} | wc -c`, { timeoutMs: 240_000 });
    reading = false;
    await watch;
    worst = Math.max(worst, await du(m.cacheDir));
    expect(r.stdout.trim()).toBe(String(1024 * MiB));
    console.log(`--cache-size 64M: du of the cache dir at most ${(worst / MiB).toFixed(1)} MiB over ${samples} samples`);
    expect(samples).toBeGreaterThan(10);
    expect(worst).toBeLessThanOrEqual(65 * MiB);
    expect(worst).toBeGreaterThan(48 * MiB); // it was used
    expect((await m.stop()).code).toBe(0);
  });
});

describe('a full cache disk', () => {
  let tmpfs: Tmpfs | undefined;
  afterEach(async () => {
    await stopMounts();
    tmpfs?.unmount();
    tmpfs = undefined;
  });

  test.runIf(process.getuid?.() === 0)('reads go on from the network, nothing pending is lost, and the log says why the cache stopped growing', { timeout: 300_000 }, async () => {
    const expected = await upload('full/100.bin', 100);
    const other = await upload('full/other.bin', 40);
    tmpfs = mountTmpfs(64 * MiB, 'cc-full');
    const cacheDir = join(tmpfs.dir, 'c');
    const m = await startMount({ url: emu().url, apiKey: API_KEY, cacheDir, args: ['--cache-min-free', '16M', '--upload-delay', '600000'] });
    // Something pending: written and closed, waiting for its upload.
    const pending = randomBytes(3 * MiB);
    const local = join(scratch('cc-pending'), 'p.bin');
    writeFileSync(local, pending); // a local disk, not the mount: the emulator's event loop is not held
    expect((await sh(`cp ${q(local)} ${q(`${m.mountpoint}/full/pending.bin`)}`)).code).toBe(0);

    // 100 MiB read into a 64 MiB disk that must keep 16 MiB free: the cache stops, the read does not.
    expect(await sha256sum(`${m.mountpoint}/full/100.bin`)).toBe(expected);
    // The log line comes from the block writes behind the read: wait for it (a loaded machine takes a while).
    await vi.waitFor(() => expect(m.stderr()).toMatch(/content cache: stopped growing at [\d.]+ MiB: the cache dir's disk has .*--cache-min-free 16\.0 MiB.*; reads go on from the network/), { timeout: 20_000, interval: 200 });

    // Another program fills the disk to the last byte: the cache gives its space back, reads go on.
    await runProgram('sh', ['-c', `dd if=/dev/zero of=${q(join(tmpfs.dir, 'filler'))} bs=1M 2>/dev/null; true`]);
    await new Promise((r) => setTimeout(r, 2_500));
    expect(await sha256sum(`${m.mountpoint}/full/other.bin`)).toBe(other);
    const status = await runCli(['status', m.mountpoint], { env: m.env });
    expect(status.stdout).toMatch(/^WARNING: the content cache stopped growing/m);
    expect(status.stdout).toMatch(/1 pending upload/);

    // Room again; the pending file uploads at unmount, whole.
    await runProgram('rm', ['-f', join(tmpfs.dir, 'filler')]);
    expect((await m.stop()).code).toBe(0);
    const c = client();
    try {
      const got = await c.readRange('full/pending.bin', 0, pending.length);
      expect(got.equals(pending)).toBe(true);
    } finally {
      await c.close();
    }
  });
});
