// The emulator's background hashing: GET /__emulator/idle waits for it (the
// benchmark's quiet point between passes), and a file deleted or replaced
// while it is hashed stops being read instead of being hashed to the end.
import { createHash, randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { Blobs } from '../../src/emulator/blobs.js';
import { Hasher } from '../../src/emulator/hasher.js';
import type { Store } from '../../src/emulator/store.js';
import { silentLogger } from '../../src/log/logger.js';
import { testDir, useEmulator } from '../support/emulator.js';
import { API, MiB, call, upload } from './helpers.js';

const md5 = (b: Buffer) => createHash('md5').update(b).digest('hex');

describe('background hashing', () => {
  const emu = useEmulator();

  it('GET /__emulator/idle answers once every uploaded file has its md5 and crc32', async () => {
    const data = randomBytes(24 * MiB + 7);
    expect((await upload(emu(), 'hashing/big.bin', data)).status).toBe(201);
    const idle = await call(emu(), 'GET', '/__emulator/idle');
    expect(idle.status).toBe(204);
    // No waiting beyond the endpoint: the hashes are there the moment it answered.
    const meta = await call(emu(), 'GET', `${API}/file_actions/metadata/hashing/big.bin`);
    expect(meta.json.md5).toBe(md5(data));
    expect(meta.json.crc32).toMatch(/^[0-9a-f]{1,8}$/);
  });

  it('stops reading a file deleted while it is hashed, and records nothing for it', async () => {
    const dir = testDir('hasher-');
    for (const name of ['1', '2']) writeFileSync(join(dir, name), randomBytes(3 * MiB));
    let lookups = 0;
    const recorded: string[] = [];
    // The file shows its blob for the first two lookups (the queue's check, then the first chunk), then is gone.
    const store = {
      byId: (id: number) => (++lookups <= 2 ? { id, blob: 'blob-1', md5: null, crc32: null } : undefined),
      setHashes: (_id: number, blob: string) => void recorded.push(blob),
    } as unknown as Store;
    const blobs = {
      manifest: async () => ({ size: 6 * MiB, etag: 'x-2', parts: [{ file: '1', size: 3 * MiB }, { file: '2', size: 3 * MiB }] }),
      dirOf: () => dir,
    } as unknown as Blobs;
    const hasher = new Hasher(store, blobs, silentLogger);
    hasher.enqueue(7, 'blob-1');
    await hasher.idle();
    expect(recorded).toEqual([]);
    // Six 1 MiB chunks in all; it looked once per chunk only until it saw the file gone.
    expect(lookups).toBe(3);
  });

  it('answers those waiting for it to be idle when it is stopped in the middle of a file', async () => {
    const dir = testDir('hasher-');
    writeFileSync(join(dir, '1'), randomBytes(8 * MiB));
    const recorded: string[] = [];
    const store = {
      byId: (id: number) => ({ id, blob: 'blob-1', md5: null, crc32: null }),
      setHashes: (_id: number, blob: string) => void recorded.push(blob),
    } as unknown as Store;
    let stop = (): void => undefined;
    const blobs = {
      // The manifest is read when the job starts: stop the hasher right then.
      manifest: async () => {
        stop();
        return { size: 8 * MiB, etag: 'x-1', parts: [{ file: '1', size: 8 * MiB }] };
      },
      dirOf: () => dir,
    } as unknown as Blobs;
    const hasher = new Hasher(store, blobs, silentLogger);
    stop = () => hasher.stop();
    hasher.enqueue(7, 'blob-1');
    const waiting = hasher.idle();
    const answered = await Promise.race([waiting.then(() => true), new Promise<boolean>((r) => setTimeout(() => r(false), 5_000))]);
    expect(answered).toBe(true);
    expect(recorded).toEqual([]);
    await expect(hasher.idle()).resolves.toBeUndefined();
  });
});
