// `cp -r` of a folder of many small files out of a real mount, with latency
// on every request, from the emulator's own counts:
//   - folder read-ahead: every file's bytes are fetched exactly once, and
//     several files at a time (the mount opens more than a sequential
//     reader's one or two connections);
//   - a copy that outlasts the listing's TTL lists the folder again rather
//     than asking for each name (no per-file metadata request).
import { createHash, randomBytes } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, test } from 'vitest';
import { HttpFilesClient } from '../../src/client/http-files-client.js';
import { useEmulator } from '../support/emulator.js';
import { q, scratch, sh, startMount, stopMounts } from '../support/mount.js';

const API_KEY = 'smallFilesOutKey42';
const emu = useEmulator({ apiKey: API_KEY });
const FILES = 150;
const name = (i: number): string => `f${String(i).padStart(4, '0')}.bin`;
const sha256 = (b: Buffer): string => createHash('sha256').update(b).digest('hex');
const contents = Array.from({ length: FILES }, () => randomBytes(4096));
let client: HttpFilesClient;

beforeAll(async () => {
  client = new HttpFilesClient({ baseUrl: emu().url, credentials: { apiKey: API_KEY }, logLevel: 'silent' });
  for (let i = 0; i < FILES; i++) await client.upload(`many/${name(i)}`, { buffer: contents[i]! });
});

afterEach(async () => {
  await stopMounts();
  emu().configure({ latencyMs: 0 });
});
afterAll(async () => {
  await client?.close();
});

async function copyOut(args: string[]): Promise<{ requests: Record<string, number>; connections: number; seconds: number }> {
  const m = await startMount({ url: emu().url, apiKey: API_KEY, args });
  expect((await sh(`ls ${q(m.mountpoint)}`)).stdout.trim()).toBe('many');
  emu().configure({ latencyMs: 10 });
  emu().resetStats();
  const out = join(scratch('small-out'), 'many');
  const started = process.hrtime.bigint();
  const r = await sh(`cp -r ${q(join(m.mountpoint, 'many'))} ${q(out)}`);
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  expect(r.code, r.stderr).toBe(0);
  const { requests, connections } = emu().stats();
  for (let i = 0; i < FILES; i++) expect(sha256(await readFile(join(out, name(i)))), name(i)).toBe(sha256(contents[i]!));
  return { requests, connections, seconds };
}

describe(`cp -r of ${FILES} × 4 KiB out of the mount at 10 ms per request`, () => {
  test('each file is fetched once, several at a time', async () => {
    const { requests, connections, seconds } = await copyOut([]);
    expect(requests['GET download']).toBe(FILES);
    expect(requests['GET /files']).toBe(FILES);
    expect(connections).toBeGreaterThanOrEqual(4);
    console.log(`cp -r ${FILES} small files out with folder read-ahead: ${seconds.toFixed(2)} s, ${connections} connections`);
  });

  test('one at a time with --prefetch-files 0; outlasting a 1 s listing TTL lists the folder again instead of a request per name', async () => {
    const { requests, connections, seconds } = await copyOut(['--prefetch-files', '0', '--attr-ttl', '1', '--dir-ttl', '1']);
    expect(requests['GET download']).toBe(FILES);
    expect(connections).toBeLessThanOrEqual(3);
    // 150 files × 2 requests × 10 ms: the copy outlasts the 1 s TTLs.
    expect(seconds).toBeGreaterThan(2);
    expect(requests['GET /file_actions/metadata'] ?? 0).toBeLessThanOrEqual(2);
    expect(requests['GET /folders']).toBeGreaterThanOrEqual(2);
    console.log(`cp -r ${FILES} small files out without read-ahead: ${seconds.toFixed(2)} s, ${requests['GET /folders']} listings`);
  });
});
