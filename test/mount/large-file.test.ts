// A 1 GiB file read through a real mount with sha256sum: the bytes must be
// exactly those uploaded. The file is made by the client's streaming upload
// of generated 1 MiB chunks (each stamped with its index, so a misplaced
// range changes the hash), hashed as it is generated.
import { createHash, randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';
import { afterAll, expect, test } from 'vitest';
import { HttpFilesClient } from '../../src/client/http-files-client.js';
import { useEmulator } from '../support/emulator.js';
import { q, sh, startMount, stopMounts } from '../support/mount.js';

const API_KEY = 'largeFileKey42';
const emu = useEmulator({ apiKey: API_KEY });
const MiB = 1024 * 1024;
const SIZE_MIB = 1024;

afterAll(stopMounts);

test('sha256sum of a 1 GiB file through the mount matches what was uploaded', { timeout: 180_000 }, async () => {
  const client = new HttpFilesClient({ baseUrl: emu().url, credentials: { apiKey: API_KEY }, logLevel: 'silent' });
  const block = randomBytes(MiB);
  const hash = createHash('sha256');
  const chunks = function* (): Generator<Buffer> {
    for (let i = 0; i < SIZE_MIB; i++) {
      const chunk = Buffer.from(block);
      chunk.writeUInt32LE(i, 0);
      chunk.writeUInt32LE(i, MiB - 4);
      hash.update(chunk);
      yield chunk;
    }
  };
  try {
    await client.upload('large/1GiB.bin', { stream: Readable.from(chunks()), size: SIZE_MIB * MiB });
  } finally {
    await client.close();
  }
  const expected = hash.digest('hex');

  const m = await startMount({ url: emu().url, apiKey: API_KEY });
  const file = `${m.mountpoint}/large/1GiB.bin`;
  expect((await sh(`stat -c %s ${q(file)}`)).stdout.trim()).toBe(String(SIZE_MIB * MiB));
  const started = Date.now();
  const r = await sh(`sha256sum ${q(file)}`, { timeoutMs: 150_000 });
  const seconds = (Date.now() - started) / 1000;
  expect(r.code, r.stderr).toBe(0);
  expect(r.stdout.split(' ')[0]).toBe(expected);
  console.log(`sha256sum of 1 GiB through the mount: ${seconds.toFixed(1)} s (${(SIZE_MIB / seconds).toFixed(0)} MiB/s, hashing included)`);
});
