// Only closed versions are published (mock client): a pending file reopened
// for writing keeps its last closed version intact until the new one is
// closed, whatever happens meanwhile (a crash, a failed write, a full disk);
// a write or close that fails never publishes what it left behind.
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { MockFilesClient } from '../../support/mock-files-client.js';
import { mountTmpfs, type Tmpfs } from '../../support/tmpfs.js';
import { expectErrno, pattern, readAll } from '../helpers.js';
import { cacheDirFor, KiB, mockSetup, O_APPEND, O_CREAT, O_RDWR, O_TRUNC, O_WRONLY, until, writeFile } from './helpers.js';

const A = pattern(64 * KiB, 1);
const stagingFiles = (cacheDir: string): string[] => readdirSync(join(cacheDir, 'staging')).sort();

/** Mounts again on the same cache dir (as after kill -9) and uploads what the journal holds; returns the server's copy. */
async function afterCrash(cacheDir: string, path: string): Promise<Buffer> {
  const client = new MockFilesClient();
  const again = await mockSetup({ cacheDir, client, writeBack: { uploadDelayMs: 0 } });
  await again.writeBack.drain();
  await again.writeBack.close();
  return client.serverRead(path);
}

describe('a reopened pending file keeps its last closed version until the new one is closed', () => {
  const cases: Array<[string, number, (fs: Awaited<ReturnType<typeof mockSetup>>['fs'], fh: number) => Promise<void>]> = [
    ['a write in place', O_RDWR, async (fs, fh) => { await fs.write('/f.bin', fh, Buffer.alloc(20 * KiB, 0x42), 10 * KiB); }],
    ['O_TRUNC and a shorter content', O_WRONLY | O_TRUNC, async (fs, fh) => { await fs.write('/f.bin', fh, Buffer.alloc(3 * KiB, 0x43), 0); }],
    ['an append', O_WRONLY | O_APPEND, async (fs, fh) => { await fs.write('/f.bin', fh, Buffer.alloc(5 * KiB, 0x44), 0); }],
    ['a truncate below the closed size', O_RDWR, async (fs, fh) => { await fs.ftruncate('/f.bin', fh, 1000); }],
  ];
  it.each(cases)('%s, then a crash: the closed version is the one uploaded', async (_name, flags, change) => {
    const cacheDir = cacheDirFor();
    const { fs, writeBack } = await mockSetup({ cacheDir, writeBack: { uploadDelayMs: 60_000 } });
    await writeFile(fs, '/f.bin', A);
    const fh = await fs.open('/f.bin', flags);
    await change(fs, fh);
    // Everyone reads the change at once (read-your-writes)...
    expect((await readAll(fs, '/f.bin')).equals(A)).toBe(false);
    // ...but nobody closed it: a crash now must publish A.
    await writeBack.close();
    expect((await afterCrash(cacheDir, 'f.bin')).equals(A)).toBe(true);
    expect(stagingFiles(cacheDir)).toEqual([]);
  });

  it.each(cases)('%s, then a close: the new version is the one uploaded, and the old staging copy goes', async (_name, flags, change) => {
    const { fs, client, cacheDir, writeBack } = await mockSetup({ writeBack: { uploadDelayMs: 60_000 } });
    await writeFile(fs, '/f.bin', A);
    const fh = await fs.open('/f.bin', flags);
    await change(fs, fh);
    const expected = await readAll(fs, '/f.bin');
    await fs.flush('/f.bin', fh);
    await fs.release('/f.bin', fh);
    expect(stagingFiles(cacheDir)).toHaveLength(1);
    await writeBack.drain();
    expect(client.serverRead('f.bin').equals(expected)).toBe(true);
    expect(client.counts.upload).toBe(1);
  });

  it('appends share the staging file; only a change below the closed size copies it', async () => {
    const { fs, cacheDir } = await mockSetup({ writeBack: { uploadDelayMs: 60_000 } });
    await writeFile(fs, '/log.txt', 'line 1\n');
    const fh = await fs.open('/log.txt', O_WRONLY | O_APPEND);
    await fs.write('/log.txt', fh, Buffer.from('line 2\n'), 0);
    expect(stagingFiles(cacheDir)).toHaveLength(1); // no copy for an append
    const rw = await fs.open('/log.txt', O_RDWR);
    await fs.write('/log.txt', rw, Buffer.from('LINE'), 0);
    expect(stagingFiles(cacheDir)).toHaveLength(2); // the closed version's bytes stay where they are
    expect((await readAll(fs, '/log.txt')).toString()).toBe('LINE 1\nline 2\n');
    await fs.flush('/log.txt', rw);
    await fs.release('/log.txt', rw);
    await fs.flush('/log.txt', fh);
    await fs.release('/log.txt', fh);
    await until(() => stagingFiles(cacheDir).length === 1, 5_000, 'the replaced staging file to go');
  });

  it('an upload in flight sends the closed version while the working one changes, and a newer close replaces it', async () => {
    const { fs, client } = await mockSetup({ writeBack: { uploadDelayMs: 0 } });
    const release = client.gate('upload');
    await writeFile(fs, '/f.bin', A);
    await until(() => client.counts.upload === 1, 5_000, 'the first upload');
    const fh = await fs.open('/f.bin', O_RDWR);
    await fs.write('/f.bin', fh, Buffer.from('changed'), 0); // the upload in flight goes on: it reads A
    await fs.flush('/f.bin', fh);
    await fs.release('/f.bin', fh);
    release();
    await until(() => client.serverStat('f.bin') !== null && client.serverRead('f.bin').subarray(0, 7).toString() === 'changed', 5_000, 'the newest version');
  });
});

describe('a failed write never publishes a partial file', () => {
  let tmpfs: Tmpfs | undefined;
  afterEach(() => {
    tmpfs?.unmount();
    tmpfs = undefined;
  });

  it('a new file that does not fit: ENOSPC to the writer and at close, not created, nothing uploaded, status says why', async () => {
    tmpfs = mountTmpfs(1024 * KiB, 'full');
    const { fs, client, writeBack } = await mockSetup({ cacheDir: join(tmpfs.dir, 'cache'), writeBack: { uploadDelayMs: 0 } });
    const fh = await fs.create('/big.bin', 0o644, O_CREAT | O_WRONLY | O_TRUNC);
    let failed: unknown;
    for (let pos = 0; pos < 4096 * KiB && !failed; pos += 128 * KiB) {
      failed = await fs.write('/big.bin', fh, Buffer.alloc(128 * KiB, 1), pos).then(() => undefined, (e: unknown) => e);
    }
    expect(failed).toMatchObject({ code: 'ENOSPC' });
    await expectErrno(fs.flush('/big.bin', fh), 'ENOSPC');
    await fs.release('/big.bin', fh);
    await expectErrno(fs.getattr('/big.bin'), 'ENOENT');
    await writeBack.drain();
    expect(client.counts.upload).toBe(0);
    const status = writeBack.status();
    expect(status.writeProblems).toBe(1);
    expect(status.problems[0]).toMatchObject({ path: '/big.bin', outcome: 'it is not created' });
    expect(status.problems[0]!.error).toMatch(/ENOSPC/);
    expect(status.cacheDisk!.totalBytes).toBeLessThanOrEqual(1024 * KiB);
    // Nothing written was kept: nothing counts as written.
    expect(status.writtenBytes).toBe(0);
  });

  it('an overwrite of a server file that does not fit leaves the server version, shown again', async () => {
    tmpfs = mountTmpfs(512 * KiB, 'full');
    const client = new MockFilesClient();
    client.serverPut('good.bin', A);
    const { fs, writeBack } = await mockSetup({ client, cacheDir: join(tmpfs.dir, 'cache'), writeBack: { uploadDelayMs: 0 } });
    const fh = await fs.open('/good.bin', O_WRONLY | O_TRUNC);
    let failed: unknown;
    for (let pos = 0; pos < 4096 * KiB && !failed; pos += 128 * KiB) {
      failed = await fs.write('/good.bin', fh, Buffer.alloc(128 * KiB, 2), pos).then(() => undefined, (e: unknown) => e);
    }
    expect(failed).toMatchObject({ code: 'ENOSPC' });
    await expectErrno(fs.flush('/good.bin', fh), 'ENOSPC');
    await fs.release('/good.bin', fh);
    await writeBack.drain();
    expect(client.counts.upload).toBe(0);
    expect(client.serverRead('good.bin').equals(A)).toBe(true);
    expect((await readAll(fs, '/good.bin')).equals(A)).toBe(true);
    expect(writeBack.status().problems[0]).toMatchObject({ path: '/good.bin', outcome: "the server's version stays" });
  });

  it('a pending file whose new version does not fit keeps its closed version, which is uploaded', async () => {
    tmpfs = mountTmpfs(512 * KiB, 'full');
    const { fs, client, writeBack } = await mockSetup({ cacheDir: join(tmpfs.dir, 'cache'), writeBack: { uploadDelayMs: 60_000 } });
    await writeFile(fs, '/f.bin', A);
    const fh = await fs.open('/f.bin', O_RDWR);
    let failed: unknown;
    for (let pos = 0; pos < 4096 * KiB && !failed; pos += 128 * KiB) {
      failed = await fs.write('/f.bin', fh, Buffer.alloc(128 * KiB, 3), pos).then(() => undefined, (e: unknown) => e);
    }
    expect(failed).toMatchObject({ code: 'ENOSPC' });
    // Every later write on it fails too: the version is damaged.
    await expectErrno(fs.write('/f.bin', fh, Buffer.from('x'), 0), 'ENOSPC');
    await expectErrno(fs.flush('/f.bin', fh), 'ENOSPC');
    await fs.release('/f.bin', fh);
    expect((await readAll(fs, '/f.bin')).equals(A)).toBe(true);
    expect(writeBack.status().problems[0]).toMatchObject({ path: '/f.bin', outcome: 'it keeps the version last closed' });
    // Only the closed version's bytes count as written, not the writes of the version dropped.
    expect(writeBack.status().writtenBytes).toBe(A.length);
    await writeBack.drain();
    expect(client.serverRead('f.bin').equals(A)).toBe(true);
  });
});
