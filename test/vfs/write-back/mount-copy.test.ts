// Write-back through real mounts: `cp -r` of the 500-file
// acceptance set lands sha256-equal, with and without 10 % faulted requests
// (429, 500, 503, resets; no stalls: one holds 5 minutes); kill -9 right
// after `cp` returns loses nothing (the next mount on the same cache dir
// uploads every file); `filesfs unmount` right after copying 256 MiB waits
// for the upload. The emulator runs in this process; the mounts are the built
// CLI in child processes.
import { afterAll, afterEach, beforeAll, describe, expect, test } from 'vitest';
import { HttpFilesClient } from '../../../src/client/http-files-client.js';
import { useEmulator } from '../../support/emulator.js';
import { q, runCli, scratch, sh, startMount, stopMounts, waitUnmounted } from '../../support/mount.js';
import { fileSet, sha256Of, writeSet, type SetFile } from './file-set.js';
import { until } from './helpers.js';
import { mismatches, serverSha256, statusOf, waitDrained } from './mount-helpers.js';

const API_KEY = 'writeBackMountKey42';
const emu = useEmulator({ apiKey: API_KEY });
let client: HttpFilesClient;
let source: string;
const files: SetFile[] = fileSet();

beforeAll(async () => {
  client = new HttpFilesClient({ baseUrl: emu().url, credentials: { apiKey: API_KEY }, logLevel: 'silent' });
  source = scratch('wb-source');
  await writeSet(`${source}/set`, files);
});
afterEach(stopMounts);
afterAll(async () => {
  await client?.close();
});

describe('cp -r into the mount', () => {
  test('500 files (0 B … 64 MiB) land sha256-equal; status shows them pending, then nothing', async () => {
    const m = await startMount({ url: emu().url, apiKey: API_KEY });
    await client.mkdir('clean');
    emu().resetStats();
    const cp = await sh(`cp -r ${q(`${source}/set`)} ${q(`${m.mountpoint}/clean/`)}`, { timeoutMs: 120_000 });
    expect(cp.stderr).toBe('');
    expect(cp.code).toBe(0);
    const listed = await sh(`find ${q(`${m.mountpoint}/clean/set`)} -type f | wc -l`);
    expect(listed.stdout.trim()).toBe('500');
    const drained = await waitDrained(m);
    expect(drained).toMatchObject({ pendingUploads: 0, failedUploads: 0, uploadedFiles: 500 });
    expect(emu().stats().requests['POST /files']).toBe(500); // one `end` per file: nothing uploaded twice
    expect(await mismatches(client, 'clean/set', files)).toEqual([]);
  }, 240_000);

  test('the same with 10 % of requests faulted (429, 500, 503, reset)', async () => {
    const m = await startMount({ url: emu().url, apiKey: API_KEY, args: ['--attr-ttl', '600', '--dir-ttl', '600'] });
    await client.mkdir('faulty');
    // Listings the kernel asks for during cp are cached first; the faults are for the uploads.
    await sh(`ls ${q(`${m.mountpoint}/faulty`)}`);
    emu().configure({ faultRate: 0.1, faults: ['429', '500', '503', 'reset'] });
    try {
      const cp = await sh(`cp -r ${q(`${source}/set`)} ${q(`${m.mountpoint}/faulty/`)}`, { timeoutMs: 120_000 });
      expect(cp.code, cp.stderr).toBe(0);
      const drained = await waitDrained(m, 180_000);
      expect(drained.failedUploads).toBe(0);
    } finally {
      emu().configure({ faultRate: 0 });
    }
    expect(await mismatches(client, 'faulty/set', files)).toEqual([]);
  }, 300_000);
});

describe('nothing closed is lost', () => {
  test('kill -9 right after cp returns: the next mount on the same cache dir uploads every file', async () => {
    // Under 5 MiB: none starts uploading while it is written (large files do, and skip the delay).
    const small = files.filter((f) => f.size < 5 * 2 ** 20).slice(0, 120);
    await writeSet(`${source}/small`, small);
    // A delay no copy outlasts, however loaded the machine: nothing is uploaded before the kill.
    const first = await startMount({ url: emu().url, apiKey: API_KEY, args: ['--upload-delay', '120000'] });
    await client.mkdir('killed');
    const cp = await sh(`cp -r ${q(`${source}/small`)} ${q(`${first.mountpoint}/killed/`)} && kill -9 ${first.pid}`, { timeoutMs: 120_000 });
    expect(cp.code, cp.stderr).toBe(0);
    await first.stop();
    const landed = await Promise.all(small.map((f) => client.stat(`killed/small/${f.path}`).then(() => f.path, () => null)));
    expect(landed.filter(Boolean)).toEqual([]); // nothing was uploaded before the kill: the delay had not passed

    const second = await startMount({ url: emu().url, apiKey: API_KEY, cacheDir: first.cacheDir, mountpoint: first.mountpoint });
    // Logged once the mount is up (recovery runs after mount, in the background).
    await until(() => /resuming 120 pending uploads/.test(second.stderr()), 20_000, 'the resume message');
    await waitDrained(second);
    expect(await mismatches(client, 'killed/small', small)).toEqual([]);
  }, 180_000);

  test('kill -9 while a large file uploads as it is written: the next mount uploads it from the staging file', async () => {
    const file: SetFile = { path: 'streamed.bin', size: 48 * 2 ** 20, seed: 77 };
    await writeSet(`${source}/streamed`, [file]);
    const first = await startMount({ url: emu().url, apiKey: API_KEY });
    await client.mkdir('streamed');
    emu().configure({ bandwidth: 8 * 2 ** 20 }); // the upload lags behind the copy
    try {
      const cp = await sh(`cp ${q(`${source}/streamed/${file.path}`)} ${q(`${first.mountpoint}/streamed/`)} && kill -9 ${first.pid}`, { timeoutMs: 120_000 });
      expect(cp.code, cp.stderr).toBe(0);
      await first.stop();
    } finally {
      emu().configure({ bandwidth: 0 });
    }
    await expect(client.stat(`streamed/${file.path}`)).rejects.toMatchObject({ kind: 'not-found' });
    const second = await startMount({ url: emu().url, apiKey: API_KEY, cacheDir: first.cacheDir, mountpoint: first.mountpoint });
    await waitDrained(second);
    expect(await serverSha256(client, `streamed/${file.path}`)).toBe(sha256Of(file));
  }, 120_000);

  test('a second SIGINT during the drain unmounts at once; the upload stays in the journal (it says so) and the next mount finishes it', async () => {
    const file: SetFile = { path: 'interrupted.bin', size: 24 * 2 ** 20, seed: 99 };
    await writeSet(`${source}/interrupted`, [file]);
    const first = await startMount({ url: emu().url, apiKey: API_KEY });
    await client.mkdir('interrupted');
    emu().configure({ bandwidth: 2 * 2 ** 20 }); // a drain of about 12 s
    try {
      const cp = await sh(`cp ${q(`${source}/interrupted/${file.path}`)} ${q(`${first.mountpoint}/interrupted/`)}`);
      expect(cp.code, cp.stderr).toBe(0);
      first.child.kill('SIGINT');
      await until(() => /uploading 1 file \(24\.0 MiB\) before unmounting/.test(first.stderr()), 20_000, 'the drain to start');
      first.child.kill('SIGINT');
      expect(await first.exited).toEqual({ code: 0, signal: null });
    } finally {
      emu().configure({ bandwidth: 0 });
    }
    expect(first.stderr()).toMatch(/unmounting without waiting: 1 upload \(24\.0 MiB\) left pending in the journal in \S+; mounting again with this cache dir resumes it/);
    await expect(client.stat(`interrupted/${file.path}`)).rejects.toMatchObject({ kind: 'not-found' });
    const second = await startMount({ url: emu().url, apiKey: API_KEY, cacheDir: first.cacheDir });
    await waitDrained(second);
    expect(await serverSha256(client, `interrupted/${file.path}`)).toBe(sha256Of(file));
  }, 120_000);

  test('filesfs unmount right after copying 256 MiB waits until the file is on the server, printing progress', async () => {
    const big: SetFile = { path: 'big.bin', size: 256 * 2 ** 20, seed: 4242 };
    await writeSet(`${source}/big`, [big]);
    const m = await startMount({ url: emu().url, apiKey: API_KEY });
    // The file uploads while cp writes it: a slow link keeps most of it pending when cp returns.
    emu().configure({ bandwidth: 32 * 2 ** 20 });
    let u;
    try {
      const cp = await sh(`cp ${q(`${source}/big/big.bin`)} ${q(`${m.mountpoint}/big.bin`)}`, { timeoutMs: 120_000 });
      expect(cp.code, cp.stderr).toBe(0);
      expect((await statusOf(m)).pendingUploads).toBe(1);
      u = await runCli(['unmount', m.mountpoint], { env: m.env, timeoutMs: 120_000 });
    } finally {
      emu().configure({ bandwidth: 0 });
    }
    expect(u.code, u.stderr).toBe(0);
    expect(u.stderr).toMatch(/uploading 1 file \(256 MiB\) before unmounting/);
    expect(u.stderr).toMatch(/uploaded 1 file \(256 MiB\)/);
    expect(await waitUnmounted(m.mountpoint)).toBe(true);
    expect(await serverSha256(client, 'big.bin')).toBe(sha256Of(big));
  }, 180_000);
});
