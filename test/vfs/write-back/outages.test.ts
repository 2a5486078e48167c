// Write-back while the server fails, is down or refuses (mock client, its
// health as the real client reports it): new files and folders are made and
// written locally without a request and upload in order once it answers,
// kicked at once when it does; pending files are read from staging whatever
// the server does; a 401 is retried, not a refusal; a failed file stays
// visible at its path even when its folder is gone from the server, and can
// be deleted, retried or discarded (its content moved aside); status counts
// only what was kept and uploads nobody cancelled, each file in one state.
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { BadRequestError, NetworkError, NotAuthenticatedError } from '../../../src/client/errors.js';
import { MockFilesClient } from '../../support/mock-files-client.js';
import { expectErrno, readAll } from '../helpers.js';
import { mockSetup, until, writeFile } from './helpers.js';

const networkDown = (): NetworkError => new NetworkError({ message: 'connect ECONNREFUSED' });

describe('the server is down', () => {
  it('new folders and files in a folder listed before are made without a request, read from staging, and uploaded in order when the server is back', async () => {
    let now = Date.UTC(2024, 0, 1);
    const clock = (): number => now;
    const client = new MockFilesClient({ now: clock });
    client.serverPut('work/existing.txt', 'old');
    const { fs, writeBack } = await mockSetup({ client, writeBack: { uploadDelayMs: 10, retryBaseDelayMs: 60_000, retryMaxDelayMs: 60_000 }, fs: { attrTtlMs: 1000, dirTtlMs: 1000, clock } });
    await fs.readdir('/');
    await fs.readdir('/work');
    now += 60_000;
    client.setHealth('unreachable');
    for (const m of ['stat', 'list', 'mkdir', 'upload'] as const) client.failNext(m, networkDown(), Infinity);
    client.resetCounts();

    await expectErrno(fs.getattr('/work/new'), 'ENOENT');
    await fs.mkdir('/work/new', 0o755);
    await writeFile(fs, '/work/new/a.txt', 'made while down');
    await writeFile(fs, '/work/b.txt', 'also');
    expect(client.counts.stat + client.counts.list).toBe(0);
    expect((await readAll(fs, '/work/new/a.txt')).toString()).toBe('made while down');
    expect((await fs.readdir('/work')).map((e) => e.name).sort()).toEqual(['b.txt', 'existing.txt', 'new']);
    // The uploads try, fail and wait a minute to try again...
    await until(() => writeBack.status().retryingUploads >= 2, 5_000, 'first attempts');

    // ...until the server answers again: everything waiting goes at once, folders first.
    client.clearHooks();
    client.resetCounts();
    client.setHealth('reachable');
    await until(() => writeBack.status().pendingUploads === 0, 5_000, 'uploads after the outage');
    const calls = client.calls.filter((c) => c.method === 'mkdir' || c.method === 'upload').map((c) => `${c.method} ${c.path}`);
    expect(calls.indexOf('mkdir work/new')).toBeLessThan(calls.indexOf('upload work/new/a.txt'));
    expect(client.serverRead('work/new/a.txt').toString()).toBe('made while down');
    expect(client.serverRead('work/b.txt').toString()).toBe('also');
  });

  it('a pending file recovered from the journal is readable while the server is down, even in a folder never listed', async () => {
    const client = new MockFilesClient();
    const first = await mockSetup({ client, writeBack: { uploadDelayMs: 60_000 } });
    await first.fs.mkdir('/deep', 0o755);
    await writeFile(first.fs, '/deep/only-here.txt', 'local only');
    await first.writeBack.close();
    const second = await mockSetup({ client, cacheDir: first.cacheDir, writeBack: { uploadDelayMs: 60_000, retryBaseDelayMs: 60_000, retryMaxDelayMs: 60_000 } });
    client.setHealth('unreachable');
    client.failNext('stat', networkDown(), Infinity);
    client.failNext('list', networkDown(), Infinity);
    expect((await readAll(second.fs, '/deep/only-here.txt')).toString()).toBe('local only');
    expect((await second.fs.readdir('/deep')).map((e) => e.name)).toEqual(['only-here.txt']);
    await second.writeBack.close();
  });
});

describe('credentials replaced while files are pending', () => {
  it('a 401 during an upload is retried with the normal backoff, not marked failed; it lands once the key works', async () => {
    const { fs, client, writeBack, logs } = await mockSetup({ writeBack: { uploadDelayMs: 10, retryBaseDelayMs: 20, retryMaxDelayMs: 50, failedRetryDelayMs: 600_000 } });
    client.failNext('upload', new NotAuthenticatedError({ message: 'Invalid API key', status: 401, type: 'not-authenticated/invalid-api-key' }), 3);
    await writeFile(fs, '/report.txt', 'keep me');
    await until(() => writeBack.status().pendingUploads === 0, 10_000, 'the upload');
    expect(client.counts.upload).toBe(4);
    expect(writeBack.status().failedUploads).toBe(0);
    expect(logs.filter((l) => /refused the credentials/.test(l) && /WARN/.test(l))).toHaveLength(1);
  });
});

describe('a failed upload stays visible and can be acted on', () => {
  it('its folder replaced by a file on the server, then that file removed: the failed file is still listed, readable, and rm removes it locally', async () => {
    const { fs, client, writeBack } = await mockSetup({ writeBack: { uploadDelayMs: 10, failedRetryDelayMs: 600_000 }, fs: { attrTtlMs: 1000, dirTtlMs: 1000 } });
    client.serverMkdirs('dir');
    await fs.readdir('/dir');
    // Elsewhere: the folder becomes a file; the upload is refused.
    client.serverDelete('dir');
    client.serverPut('dir', 'a file');
    client.failNext('upload', new BadRequestError({ message: 'A parent of dir/notes.txt is a file', status: 422, type: 'processing-failure/destination-parent-conflict' }), 1);
    await writeFile(fs, '/dir/notes.txt', 'notes');
    await until(() => writeBack.status().failedUploads === 1, 5_000, 'the refusal');
    // Elsewhere again: the blocking file goes. The folder exists nowhere on the server.
    client.serverDelete('dir');
    await new Promise((r) => setTimeout(r, 1100)); // past the TTL (real clock)
    expect((await fs.getattr('/dir')).kind).toBe('directory');
    expect((await fs.readdir('/')).map((e) => e.name)).toEqual(['dir']);
    expect((await fs.readdir('/dir')).map((e) => e.name)).toEqual(['notes.txt']);
    expect((await readAll(fs, '/dir/notes.txt')).toString()).toBe('notes');
    await expectErrno(fs.rmdir('/dir'), 'ENOTEMPTY');
    await fs.unlink('/dir/notes.txt');
    await expectErrno(fs.getattr('/dir/notes.txt'), 'ENOENT');
    expect(writeBack.status().pendingUploads).toBe(0);
    expect(client.counts.delete).toBe(0);
  });

  it('retry tries a failed upload at once; discard drops one, moving its content aside, and the server version shows again', async () => {
    const { fs, client, writeBack, cacheDir } = await mockSetup({ writeBack: { uploadDelayMs: 10, failedRetryDelayMs: 600_000 } });
    client.serverPut('keep.txt', 'server version');
    const refusal = new BadRequestError({ message: 'not allowed', status: 403, type: 'not-authorized' });
    client.failNext('upload', refusal, 2);
    await writeFile(fs, '/new.txt', 'retry me');
    await writeFile(fs, '/keep.txt', 'local change');
    await until(() => writeBack.status().failedUploads === 2, 5_000, 'the refusals');

    const outcomes = await writeBack.retry('/new.txt', 5_000);
    expect(outcomes).toEqual([{ path: '/new.txt', kind: 'file', outcome: 'uploaded', error: null }]);
    expect(client.serverRead('new.txt').toString()).toBe('retry me');

    const dropped = await writeBack.discard('/keep.txt');
    expect(dropped).toMatchObject({ path: '/keep.txt', kind: 'file', size: 12, serverVersion: true });
    expect(dropped.keptAt!.startsWith(join(cacheDir, 'discarded'))).toBe(true);
    expect(readFileSync(dropped.keptAt!, 'utf8')).toBe('local change');
    expect((await readAll(fs, '/keep.txt')).toString()).toBe('server version');
    expect(writeBack.status().pendingUploads).toBe(0);
    expect(readdirSync(join(cacheDir, 'journal'))).toEqual([]);
    expect(readdirSync(join(cacheDir, 'staging'))).toEqual([]);
    await expect(writeBack.discard('/nothing')).rejects.toMatchObject({ code: 'ENOENT' });
  });

  it('a file open for writing cannot be discarded', async () => {
    const { fs, writeBack } = await mockSetup({ writeBack: { uploadDelayMs: 60_000 } });
    await writeFile(fs, '/f', 'closed');
    const fh = await fs.open('/f', 2);
    await expect(writeBack.discard('/f')).rejects.toMatchObject({ code: 'EBUSY' });
    await fs.release('/f', fh);
    const dropped = await writeBack.discard('/f');
    expect(existsSync(dropped.keptAt!)).toBe(true);
  });
});

describe('status tells the truth', () => {
  it('uploads cancelled by a delete are not counted, even when the server completed them; each file is in one state', async () => {
    // Uploads that complete on the server although we abort them (the abort came during `end`).
    let release!: () => void;
    const held = new Promise<void>((r) => (release = r));
    class LateAborts extends MockFilesClient {
      override async upload(path: string, source: Parameters<MockFilesClient['upload']>[1], options: Parameters<MockFilesClient['upload']>[2] = {}): ReturnType<MockFilesClient['upload']> {
        const { signal: _ignored, beforePublish, ...rest } = options;
        // `end` is sent (the last check passed), then the answer takes a while.
        await beforePublish?.({ exists: false, checkedAt: Date.now() });
        await held;
        return super.upload(path, source, rest);
      }
    }
    const client = new LateAborts();
    const { fs, writeBack } = await mockSetup({ client, writeBack: { uploadDelayMs: 0 } });
    for (let i = 0; i < 5; i++) await writeFile(fs, `/f${i}`, `file ${i}`);
    await until(() => writeBack.status().uploading === 5, 5_000, 'uploads in flight');
    const s = writeBack.status();
    expect(s.byState.uploading.files + s.byState.pending.files + s.byState.retrying.files + s.byState.failed.files + s.byState.open.files).toBe(s.pendingUploads);
    expect(new Set(s.files.map((f) => f.path)).size).toBe(s.files.length);
    const deletes = Promise.all([0, 1, 2].map((i) => fs.unlink(`/f${i}`)));
    // The mock ignores the abort once inside: the server completes them.
    await new Promise((r) => setTimeout(r, 20));
    release();
    await deletes;
    await until(() => writeBack.status().pendingUploads === 0, 5_000, 'the rest');
    expect(writeBack.status()).toMatchObject({ uploadedFiles: 2, uploadedBytes: 12 });
    // The three completed on the server, and were deleted there since.
    expect(client.counts.delete).toBe(3);
    expect(client.serverPaths()).toEqual(['f3', 'f4']);
  });
});
