// Uploads that overlap the writing (filesystem layer, real client, emulator):
// a file written front to back has its parts on the server before it is
// closed, and uploads at its last close without the delay; a rewrite of a
// region already sent, a truncate below it or a rename falls back to the
// upload after close, with one publication only; small files wait for the
// delay as before.
import { createHash } from 'node:crypto';
import { afterAll, describe, expect, it } from 'vitest';
import { HttpFilesClient } from '../../../src/client/http-files-client.js';
import { useEmulator } from '../../support/emulator.js';
import { readAll } from '../helpers.js';
import { MiB, O_CREAT, O_TRUNC, O_WRONLY, until, writeBackFs } from './helpers.js';

const KEY = 'earlyUploadKey42';
const emu = useEmulator({ apiKey: KEY });
const clients: HttpFilesClient[] = [];
const closers: Array<() => Promise<void>> = [];
afterAll(async () => {
  for (const close of closers.splice(0)) await close();
  await Promise.all(clients.splice(0).map((c) => c.close()));
});

async function setup(uploadDelayMs: number) {
  const client = new HttpFilesClient({ baseUrl: emu().url, credentials: { apiKey: KEY }, logLevel: 'silent' });
  clients.push(client);
  const wb = await writeBackFs(client, { writeBack: { uploadDelayMs } });
  closers.push(async () => {
    await wb.writeBack.drain();
    await wb.writeBack.close();
  });
  return wb;
}

function pattern(size: number, seed: number): Buffer {
  const out = Buffer.alloc(size + 4);
  for (let i = 0; i < size; i += 4) out.writeUInt32LE((i * 2654435761 + seed) >>> 0, i);
  return out.subarray(0, size);
}
const sha = (b: Buffer): string => createHash('sha256').update(b).digest('hex');
const requests = (key: string): number => emu().stats().requests[key] ?? 0;

async function writeRange(fs: Awaited<ReturnType<typeof setup>>['fs'], path: string, fh: number, data: Buffer, from: number, to: number): Promise<void> {
  for (let pos = from; pos < to; pos += MiB) await fs.write(path, fh, Buffer.from(data.subarray(pos, Math.min(to, pos + MiB))), pos);
}

describe('a file written front to back', () => {
  it('has its parts on the server before it is closed, and lands at its close without waiting for the delay', async () => {
    const { fs, writeBack } = await setup(60_000);
    const data = pattern(24 * MiB + 5, 1);
    emu().resetStats();
    const fh = await fs.create('/big.bin', 0o644, O_CREAT | O_WRONLY | O_TRUNC);
    await writeRange(fs, '/big.bin', fh, data, 0, 20 * MiB);
    await until(() => requests('PUT upload') >= 3, 20_000, 'parts sent while the file is open');
    expect(requests('POST /files')).toBe(0);
    await writeRange(fs, '/big.bin', fh, data, 20 * MiB, data.length);
    await fs.flush('/big.bin', fh);
    await fs.release('/big.bin', fh);
    // The 60 s delay does not apply: most of it is on the server already.
    await until(() => writeBack.status().pendingUploads === 0, 20_000, 'the upload at close');
    expect(requests('PUT upload')).toBe(5); // four 5 MiB parts and the tail
    expect(requests('POST /files')).toBe(1);
    expect(requests('POST /file_actions/begin_upload')).toBeGreaterThanOrEqual(1);
    expect(sha(await readAll(fs, '/big.bin'))).toBe(sha(data));
  });

  it('a region already sent written again: the file uploads after its close, published once, with the final bytes', async () => {
    const { fs, writeBack } = await setup(0);
    const data = pattern(13 * MiB, 2);
    emu().resetStats();
    const fh = await fs.create('/rewritten.bin', 0o644, O_CREAT | O_WRONLY | O_TRUNC);
    await writeRange(fs, '/rewritten.bin', fh, data, 0, 11 * MiB);
    await until(() => requests('PUT upload') >= 1, 20_000, 'a part sent');
    const patch = Buffer.alloc(MiB, 0x5a);
    await fs.write('/rewritten.bin', fh, patch, 2 * MiB);
    patch.copy(data, 2 * MiB);
    await writeRange(fs, '/rewritten.bin', fh, data, 11 * MiB, data.length);
    await fs.release('/rewritten.bin', fh);
    await until(() => writeBack.status().pendingUploads === 0, 20_000, 'the upload');
    expect(requests('POST /files')).toBe(1);
    const fresh = new HttpFilesClient({ baseUrl: emu().url, credentials: { apiKey: KEY }, logLevel: 'silent' });
    clients.push(fresh);
    expect(sha(await fresh.readRange('rewritten.bin', 0, data.length))).toBe(sha(data));
  });

  it('truncated below what was sent, or renamed while written: uploads after close under its final name and size, once', async () => {
    const { fs, writeBack } = await setup(0);
    const data = pattern(12 * MiB, 3);
    emu().resetStats();
    const a = await fs.create('/cut.bin', 0o644, O_CREAT | O_WRONLY | O_TRUNC);
    await writeRange(fs, '/cut.bin', a, data, 0, 12 * MiB);
    await until(() => requests('PUT upload') >= 2, 20_000, 'parts sent');
    await fs.ftruncate('/cut.bin', a, 3 * MiB);
    await fs.release('/cut.bin', a);

    const b = await fs.create('/moving.bin', 0o644, O_CREAT | O_WRONLY | O_TRUNC);
    await writeRange(fs, '/moving.bin', b, data, 0, 11 * MiB);
    await until(() => requests('PUT upload') >= 4, 20_000, 'parts of the second file sent');
    await fs.rename('/moving.bin', '/moved.bin');
    await writeRange(fs, '/moved.bin', b, data, 11 * MiB, 12 * MiB);
    await fs.release('/moved.bin', b);

    await until(() => writeBack.status().pendingUploads === 0, 20_000, 'the uploads');
    expect(requests('POST /files')).toBe(2);
    expect(sha(await readAll(fs, '/cut.bin'))).toBe(sha(data.subarray(0, 3 * MiB)));
    expect(sha(await readAll(fs, '/moved.bin'))).toBe(sha(data));
    await expect(fs.getattr('/moving.bin')).rejects.toMatchObject({ code: 'ENOENT' });
  });

  it('a small file starts nothing before its close, and waits for the delay after it', async () => {
    const { fs, writeBack } = await setup(1_500);
    emu().resetStats();
    const fh = await fs.create('/small.txt', 0o644, O_CREAT | O_WRONLY | O_TRUNC);
    await fs.write('/small.txt', fh, Buffer.from('a few bytes'), 0);
    await fs.release('/small.txt', fh);
    await new Promise((r) => setTimeout(r, 500));
    expect(requests('POST /file_actions/begin_upload')).toBe(0);
    expect(writeBack.status().pendingUploads).toBe(1);
    await until(() => writeBack.status().pendingUploads === 0, 10_000, 'the upload after the delay');
  });
});
