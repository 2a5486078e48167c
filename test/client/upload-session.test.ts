// PartialUpload (emulator): parts of a file still being written go up as
// their bytes become final; finish sends the tail and publishes exactly the
// file; an abandoned session publishes nothing; a session that sent bytes
// past the size it is asked to publish refuses (the caller uploads whole).
import { createHash } from 'node:crypto';
import { appendFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { HttpFilesClient } from '../../src/client/http-files-client.js';
import { lastPartOf, partialUploadRange, PartialUploadUnusable } from '../../src/client/index.js';
import { testDir, useEmulator } from '../support/emulator.js';

const KEY = 'partialUploadKey1';
const emu = useEmulator({ apiKey: KEY });
const MiB = 1024 * 1024;
let client: HttpFilesClient;
afterAll(async () => {
  await client?.close();
});

function bytes(size: number, seed: number): Buffer {
  const out = Buffer.alloc(size + 4);
  for (let i = 0; i < size; i += 4) out.writeUInt32LE((i * 2654435761 + seed) >>> 0, i);
  return out.subarray(0, size);
}
const sha = (b: Buffer): string => createHash('sha256').update(b).digest('hex');

describe('the part schedule', () => {
  it('5 MiB parts first; the last part holds the last byte', () => {
    expect(partialUploadRange(1)).toEqual({ start: 0, end: 5 * MiB });
    expect(partialUploadRange(3)).toEqual({ start: 10 * MiB, end: 15 * MiB });
    expect(partialUploadRange(101)).toEqual({ start: 500 * MiB, end: 510 * MiB });
    expect(lastPartOf(0)).toBe(1);
    expect(lastPartOf(5 * MiB)).toBe(1);
    expect(lastPartOf(5 * MiB + 1)).toBe(2);
  });
});

describe('an upload while the file is written', () => {
  it('parts sent as the file grows, then the tail: the server has exactly the file, published once', async () => {
    client = new HttpFilesClient({ baseUrl: emu().url, credentials: { apiKey: KEY }, logLevel: 'silent' });
    const file = join(testDir('partial-'), 'growing.bin');
    const data = bytes(17 * MiB + 123, 7);
    await writeFile(file, data.subarray(0, 6 * MiB));
    emu().resetStats();
    const session = await client.beginPartialUpload(`growing.bin`, file);
    session.send(1);
    await appendFile(file, data.subarray(6 * MiB, 12 * MiB));
    session.send(2);
    await appendFile(file, data.subarray(12 * MiB));
    // Nothing shows before the end.
    await expect(client.stat('growing.bin')).rejects.toThrow();
    const entry = await session.finish(data.length, { mtime: new Date('2026-01-02T03:04:05Z') });
    expect(entry.size).toBe(data.length);
    expect(entry.providedMtime?.toISOString()).toBe('2026-01-02T03:04:05.000Z');
    expect(sha(await client.readRange('growing.bin', 0, data.length))).toBe(sha(data));
    const stats = emu().stats().requests;
    expect(stats['PUT upload']).toBe(4); // 5 + 5 + 5 + 2 MiB
    expect(stats['POST /files']).toBe(1);
  });

  it('an abandoned session publishes nothing', async () => {
    const file = join(testDir('partial-'), 'dropped.bin');
    await writeFile(file, bytes(6 * MiB, 1));
    const session = await client.beginPartialUpload('dropped.bin', file);
    session.send(1);
    session.abort();
    await new Promise((r) => setTimeout(r, 200));
    await expect(client.stat('dropped.bin')).rejects.toThrow();
    expect(session.failed).toBeInstanceOf(Error);
  });

  it('refuses to publish fewer bytes than it has sent (PartialUploadUnusable)', async () => {
    const file = join(testDir('partial-'), 'shrunk.bin');
    await writeFile(file, bytes(11 * MiB, 2));
    const session = await client.beginPartialUpload('shrunk.bin', file);
    session.send(1);
    session.send(2);
    await expect(session.finish(7 * MiB)).rejects.toBeInstanceOf(PartialUploadUnusable);
    await expect(client.stat('shrunk.bin')).rejects.toThrow();
  });

  it('beforePublish can stop it: nothing is published', async () => {
    const file = join(testDir('partial-'), 'checked.bin');
    await writeFile(file, bytes(5 * MiB + 10, 3));
    const session = await client.beginPartialUpload('checked.bin', file);
    session.send(1);
    await expect(session.finish(5 * MiB + 10, { beforePublish: async () => { throw new Error('changed elsewhere'); } })).rejects.toThrow('changed elsewhere');
    await expect(client.stat('checked.bin')).rejects.toThrow();
  });
});
