// The request counts the README promises, through a real mount, from the emulator's own
// statistics (GET /__emulator/stats):
//   - `ls -l` of a 10,000-entry folder costs ⌈10,000 / per_page⌉ listing
//     requests and no metadata request, and nothing when repeated within the
//     TTL, also when some entries carry POSIX metadata (modes, owners,
//     symbolic links: custom_metadata comes with the listing, and ls's
//     readlink and extended attribute questions cost nothing). The folder itself must be known for that: the kernel looks it up
//     before listing it, and that lookup costs one metadata request unless the
//     parent's listing is cached. Both cases are checked: after `ls` of the
//     parent (the usual way to arrive at a folder) 10 + 0; on a mount that has
//     seen nothing at all, 10 + 1.
//   - `cat` of a 256 MiB file makes at most 256 MiB / 4 MiB = 64 download requests.
import { createHash, randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';
import { afterAll, afterEach, beforeAll, describe, expect, test } from 'vitest';
import { HttpFilesClient } from '../../src/client/http-files-client.js';
import { useEmulator } from '../support/emulator.js';
import { q, sh, startMount, stopMounts } from '../support/mount.js';

const API_KEY = 'requestCountsKey42';
const emu = useEmulator({ apiKey: API_KEY });
const ENTRIES = 10_000;
const PER_PAGE = 1_000;
const MiB = 1024 * 1024;
let client: HttpFilesClient;

const requests = (): Record<string, number> => emu().stats().requests;

beforeAll(async () => {
  client = new HttpFilesClient({ baseUrl: emu().url, credentials: { apiKey: API_KEY }, logLevel: 'silent' });
  await client.upload('big/file-00000.txt', { buffer: Buffer.from('seed') });
  // Straight into the emulator's store, sharing one blob: 10,000 uploads would take long.
  const store = emu().internals.store;
  const seed = store.resolve('big/file-00000.txt')!;
  for (let i = 1; i < ENTRIES; i++) {
    const { node } = store.putFile(`big/file-${String(i).padStart(5, '0')}.txt`, { blob: seed.blob!, size: seed.size, etag: seed.etag! }, { parents: false });
    // Some with POSIX metadata: 100 executables of another owner, 10 symbolic links (target "seed": the 4 bytes they hold).
    if (i % 100 === 0) store.setCustomMetadata(node, { 'filesfs.mode': '0755', 'filesfs.uid': '1234' });
    if (i % 1000 === 1) store.setCustomMetadata(node, { 'filesfs.type': 'symlink', 'filesfs.target': 'seed' });
  }
  await store.sync();
});

afterEach(stopMounts);
afterAll(async () => {
  await client?.close();
});

/** Long TTLs: the warm run must fall within them even on a slow machine. */
const MOUNT_ARGS = ['--attr-ttl', '120', '--dir-ttl', '120', '--per-page', String(PER_PAGE)];

async function lsl(path: string): Promise<{ lines: number; executables: number; links: number; seconds: number }> {
  const started = process.hrtime.bigint();
  const r = await sh(`ls -ln ${q(path)} > /tmp/ls-$$.txt && wc -l < /tmp/ls-$$.txt && grep -c '^-rwxr-xr-x 1 1234 ' /tmp/ls-$$.txt; grep -c -- '-> seed$' /tmp/ls-$$.txt; rm -f /tmp/ls-$$.txt`);
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  expect(r.stderr).toBe('');
  const [lines, executables, links] = r.stdout.trim().split('\n').map(Number);
  return { lines: lines!, executables: executables!, links: links!, seconds };
}

describe('ls -l of a 10,000-entry folder', () => {
  test('after ls of its parent: cold = 10 listing requests and no metadata request; warm = no request', async () => {
    const m = await startMount({ url: emu().url, apiKey: API_KEY, args: MOUNT_ARGS });
    expect((await sh(`ls ${q(m.mountpoint)}`)).stdout.trim()).toBe('big');
    emu().resetStats();
    const cold = await lsl(`${m.mountpoint}/big`);
    expect(cold.lines).toBe(ENTRIES + 1); // + the "total" line
    expect(cold.executables).toBe(ENTRIES / 100 - 1);
    expect(cold.links).toBe(ENTRIES / 1000);
    expect(requests()['GET /folders']).toBe(Math.ceil(ENTRIES / PER_PAGE));
    expect(requests()['GET /file_actions/metadata']).toBe(0);
    expect(emu().stats().total).toBe(Math.ceil(ENTRIES / PER_PAGE));

    emu().resetStats();
    const warm = await lsl(`${m.mountpoint}/big`);
    expect(warm.lines).toBe(ENTRIES + 1);
    expect(emu().stats().total).toBe(0);
    console.log(`ls -l of ${ENTRIES} entries through the mount: cold ${cold.seconds.toFixed(2)} s (${Math.ceil(ENTRIES / PER_PAGE)} requests), warm ${warm.seconds.toFixed(2)} s (0 requests)`);
  });

  test('on a mount that has seen nothing: 10 listing requests + 1 metadata request for the folder itself', async () => {
    const m = await startMount({ url: emu().url, apiKey: API_KEY, args: MOUNT_ARGS });
    emu().resetStats();
    expect((await lsl(`${m.mountpoint}/big`)).lines).toBe(ENTRIES + 1);
    expect(requests()['GET /folders']).toBe(Math.ceil(ENTRIES / PER_PAGE));
    expect(requests()['GET /file_actions/metadata']).toBe(1);
    expect(emu().stats().total).toBe(Math.ceil(ENTRIES / PER_PAGE) + 1);
  });
});

test('cat of a 256 MiB file: identical bytes, at most 64 download requests', async () => {
  const block = randomBytes(MiB);
  const hash = createHash('sha256');
  const chunks = function* (): Generator<Buffer> {
    for (let i = 0; i < 256; i++) {
      const chunk = Buffer.from(block);
      chunk.writeUInt32LE(i, 0);
      hash.update(chunk);
      yield chunk;
    }
  };
  await client.upload('media/256.bin', { stream: Readable.from(chunks()), size: 256 * MiB });
  const expected = hash.digest('hex');
  const m = await startMount({ url: emu().url, apiKey: API_KEY });
  emu().resetStats();
  const started = Date.now();
  const r = await sh(`cat ${q(`${m.mountpoint}/media/256.bin`)} | sha256sum`);
  const ms = Date.now() - started;
  expect(r.stdout.split(' ')[0]).toBe(expected);
  const downloads = requests()['GET download']!;
  expect(downloads).toBeGreaterThan(0);
  expect(downloads).toBeLessThanOrEqual(256 / 4);
  console.log(`cat of 256 MiB through the mount: ${ms} ms, ${downloads} download requests, ${requests()['GET /files']} download-URL requests`);
});
