// Write-back on the real HTTP client against the emulator (filesystem layer,
// no kernel): the acceptance file set (500 files, 0 B … 64 MiB, part-size
// edges) written as the kernel would (128 KiB writes) lands sha256-equal
// after a drain, also with 10 % of requests faulted (429, 500, 503, connection
// resets; no stalls: a stall holds 5 minutes), and the emulator's statistics
// show one upload per file and no stray names. Also: a refusal the emulator
// produces (a folder replaced by a file meanwhile) fails fsync with EIO and
// keeps the data.
import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { useEmulator, useEmulatorClients } from '../../support/emulator.js';
import { expectErrno } from '../helpers.js';
import { chunkOf, fileSet, folders, sha256Of, totalBytes, type SetFile } from './file-set.js';
import { O_CREAT, O_TRUNC, O_WRONLY, writeBackFs } from './helpers.js';

const API_KEY = 'writeBackKey42';
const emu = useEmulator({ apiKey: API_KEY });
const client = useEmulatorClients(emu, API_KEY);

const CHUNK = 128 * 1024;

/** The folders, then each file as `cp` sends it: create, 128 KiB writes, flush, release. */
async function copyIn(fs: Awaited<ReturnType<typeof writeBackFs>>['fs'], root: string, files: SetFile[]): Promise<void> {
  for (const dir of folders(files)) await fs.mkdir(`/${root}/${dir}`, 0o755);
  for (const dir of folders(files)) await fs.readdir(`/${root}/${dir}`);
  await copyFiles(fs, root, files);
}

async function copyFiles(fs: Awaited<ReturnType<typeof writeBackFs>>['fs'], root: string, files: SetFile[]): Promise<void> {
  for (const file of files) {
    const path = `/${root}/${file.path}`;
    const fh = await fs.create(path, 0o644, O_CREAT | O_WRONLY | O_TRUNC);
    for (let pos = 0; pos < file.size; pos += CHUNK) await fs.write(path, fh, chunkOf(file, pos, Math.min(CHUNK, file.size - pos)), pos);
    await fs.flush(path, fh);
    await fs.release(path, fh);
  }
}

async function expectOnServer(root: string, files: SetFile[]): Promise<void> {
  const check = client();
  const mismatches: string[] = [];
  for (const file of files) {
    const hash = createHash('sha256');
    for await (const chunk of await check.createReadStream(`${root}/${file.path}`)) hash.update(chunk as Buffer);
    if (hash.digest('hex') !== sha256Of(file)) mismatches.push(file.path);
  }
  expect(mismatches).toEqual([]);
}

describe('write-back on the emulator', () => {
  const files = fileSet();

  it(`500 files (${Math.round(totalBytes(fileSet()) / 2 ** 20)} MiB, 0 B … 64 MiB) land sha256-equal after a drain, one upload each`, async () => {
    const { fs, writeBack } = await writeBackFs(client(), { writeBack: { uploadDelayMs: 1000 }, fs: { attrTtlMs: 60_000, dirTtlMs: 60_000 } });
    await fs.mkdir('/clean', 0o755);
    emu().resetStats();
    await copyIn(fs, 'clean', files);
    const result = await writeBack.drain();
    expect(result).toMatchObject({ complete: true, filesLeft: 0, refused: [] });
    const stats = emu().stats().requests;
    // One begin_upload per file (and per URL batch of a big file), one end per file.
    expect(stats['POST /files']).toBe(files.length);
    await expectOnServer('clean', files);
    expect(writeBack.status()).toMatchObject({ pendingUploads: 0, pendingBytes: 0, uploading: 0, failedUploads: 0 });
    // The histogram counts every write by power-of-two bucket.
    const expected: Record<string, number> = {};
    for (const f of files) {
      for (let pos = 0; pos < f.size; pos += CHUNK) {
        const n = Math.min(CHUNK, f.size - pos);
        const bucket = String(n <= 1 ? 1 : 2 ** Math.ceil(Math.log2(n)));
        expected[bucket] = (expected[bucket] ?? 0) + 1;
      }
    }
    expect(writeBack.status().writeSizes).toEqual(expected);
    await writeBack.close();
  }, 180_000);

  it('the same with 10 % of requests faulted (429, 500, 503, reset)', async () => {
    const { fs, writeBack } = await writeBackFs(client(), { writeBack: { uploadDelayMs: 1000, retryBaseDelayMs: 200, retryMaxDelayMs: 2000 }, fs: { attrTtlMs: 600_000, dirTtlMs: 600_000 } });
    await fs.mkdir('/faulty', 0o755);
    // Folders first (their listings cached): the faults are for the uploads.
    for (const dir of folders(files)) await fs.mkdir(`/faulty/${dir}`, 0o755);
    for (const dir of folders(files)) await fs.readdir(`/faulty/${dir}`);
    emu().resetStats();
    emu().configure({ faultRate: 0.1, faults: ['429', '500', '503', 'reset'] });
    try {
      await copyFiles(fs, 'faulty', files);
      const result = await writeBack.drain();
      expect(result).toMatchObject({ complete: true, filesLeft: 0 });
    } finally {
      emu().configure({ faultRate: 0 });
    }
    // Every file ended once; faults made the client (and the queue) try again.
    expect(emu().stats().requests['POST /files']).toBeGreaterThanOrEqual(files.length);
    await expectOnServer('faulty', files);
    await writeBack.close();
  }, 240_000);

  it('fsync returns EIO when the emulator refuses the upload (its folder became a file); the data stays pending and failed', async () => {
    const c = client();
    const { fs, writeBack } = await writeBackFs(c, { writeBack: { uploadDelayMs: 60_000 }, fs: { attrTtlMs: 600_000, dirTtlMs: 600_000 } });
    await fs.mkdir('/gone', 0o755);
    // The folder is written back like a file: on the server once drained.
    expect((await writeBack.drain()).complete).toBe(true);
    await fs.readdir('/gone');
    const fh = await fs.create('/gone/x.txt', 0o644, O_CREAT | O_WRONLY);
    await fs.write('/gone/x.txt', fh, Buffer.from('precious'), 0);
    // Meanwhile, elsewhere: the folder is replaced by a file.
    const other = client();
    await other.delete('gone', { recursive: true });
    await other.upload('gone', { buffer: Buffer.from('a file now') });
    await expectErrno(fs.fsync('/gone/x.txt', fh, false), 'EIO');
    await fs.release('/gone/x.txt', fh);
    const status = writeBack.status();
    expect(status.failedUploads).toBe(1);
    expect(status.files[0]).toMatchObject({ path: '/gone/x.txt', state: 'failed', error: expect.stringMatching(/422|parent/i) });
    const { readFileSync } = await import('node:fs');
    expect(readFileSync(status.files[0]!.stagingFile, 'utf8')).toBe('precious');
    await writeBack.close();
  });
});
