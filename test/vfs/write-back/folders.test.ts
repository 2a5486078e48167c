// Folders are written back like file contents (mock client): mkdir shows the
// folder at once and asks nothing; its journal record keeps it across a
// crash; it is created on the server in the background, before anything
// inside it uploads, top down; renaming or removing it before then is local;
// a server move into it creates it first; its time travels with its
// creation; transient failures retry in the background, a refusal keeps it
// (and what is inside it) pending and visible, and `retry` tries again.
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { NetworkError, NotAuthenticatedError } from '../../../src/client/errors.js';
import { decodeAny } from '../../../src/vfs/write-back/journal.js';
import { MockFilesClient } from '../../support/mock-files-client.js';
import { expectErrno, readAll } from '../helpers.js';
import { cacheDirFor, mockSetup, O_CREAT, O_WRONLY, until, writeFile } from './helpers.js';

const order = (client: MockFilesClient): string[] => client.calls.filter((c) => c.method === 'mkdir' || c.method === 'upload').map((c) => `${c.method} ${c.path}`);
const records = (cacheDir: string): Array<{ path: string; kind?: string }> =>
  readdirSync(join(cacheDir, 'journal')).filter((n) => n.endsWith('.json')).map((n) => decodeAny(readFileSync(join(cacheDir, 'journal', n), 'utf8')));

describe('mkdir is written back', () => {
  it('cp -r into the mount asks the server nothing until the uploads; folders are created top down, each before what is inside it', async () => {
    const { fs, client, writeBack } = await mockSetup({ writeBack: { uploadDelayMs: 60_000 }, fs: { attrTtlMs: 60_000, dirTtlMs: 60_000 } });
    client.serverMkdirs('dest');
    await fs.readdir('/dest');
    client.resetCounts();
    // What the kernel sends for `cp -r tree /mnt/dest/`: a lookup of each name (ENOENT), then mkdir or create.
    await expectErrno(fs.getattr('/dest/tree'), 'ENOENT');
    await fs.mkdir('/dest/tree', 0o755);
    for (const dir of ['/dest/tree/a', '/dest/tree/a/deep']) {
      await expectErrno(fs.getattr(dir), 'ENOENT');
      await fs.mkdir(dir, 0o755);
    }
    for (const file of ['/dest/tree/top.txt', '/dest/tree/a/one.txt', '/dest/tree/a/deep/two.txt']) {
      await expectErrno(fs.getattr(file), 'ENOENT');
      await writeFile(fs, file, `content of ${file}`);
      expect((await fs.getattr(file)).size).toBe(`content of ${file}`.length);
    }
    expect((await fs.readdir('/dest/tree')).map((e) => e.name)).toEqual(['a', 'top.txt']);
    expect((await fs.getattr('/dest/tree/a')).kind).toBe('directory');
    // Nothing asked so far: the folders are ours, so are the names in them.
    expect(client.requests).toBe(0);

    expect((await writeBack.drain()).complete).toBe(true);
    const calls = order(client);
    expect(calls.filter((c) => c.startsWith('mkdir'))).toEqual(['mkdir dest/tree', 'mkdir dest/tree/a', 'mkdir dest/tree/a/deep']);
    const at = (c: string): number => calls.indexOf(c);
    expect(at('mkdir dest/tree')).toBeLessThan(at('upload dest/tree/top.txt'));
    expect(at('mkdir dest/tree/a')).toBeLessThan(at('upload dest/tree/a/one.txt'));
    expect(at('mkdir dest/tree/a/deep')).toBeLessThan(at('upload dest/tree/a/deep/two.txt'));
    expect(client.counts.stat + client.counts.list).toBe(0);
    expect(client.serverRead('dest/tree/a/deep/two.txt').toString()).toBe('content of /dest/tree/a/deep/two.txt');
    expect(writeBack.status().createdFolders).toBe(3);
  });

  it('a folder the mount made keeps answering lookups while the mount fills it, past the TTL', async () => {
    let now = Date.UTC(2024, 0, 1);
    const clock = (): number => now;
    const client = new MockFilesClient({ now: clock });
    const { fs, writeBack } = await mockSetup({ client, writeBack: { uploadDelayMs: 10 }, fs: { attrTtlMs: 1000, dirTtlMs: 1000, clock } });
    await fs.mkdir('/out', 0o755);
    await until(() => writeBack.status().pendingUploads === 0, 5_000, 'the folder');
    client.resetCounts();
    for (let i = 0; i < 20; i++) {
      now += 600; // 12 s in all: the TTL passes many times over
      await expectErrno(fs.getattr(`/out/f${i}`), 'ENOENT');
      await writeFile(fs, `/out/f${i}`, 'x');
    }
    expect(client.counts.stat + client.counts.list).toBe(0);
  });

  it('shows at once, with a journal record written before mkdir returns; removed with the record once created', async () => {
    const { fs, client, writeBack, cacheDir } = await mockSetup({ writeBack: { uploadDelayMs: 60_000 } });
    await fs.mkdir('/new', 0o755);
    expect((await fs.getattr('/new')).kind).toBe('directory');
    expect((await fs.readdir('/')).map((e) => e.name)).toEqual(['new']);
    expect(await fs.readdir('/new')).toEqual([]);
    expect(records(cacheDir)).toEqual([expect.objectContaining({ kind: 'folder', path: 'new' })]);
    expect(writeBack.status()).toMatchObject({ pendingUploads: 1, files: [expect.objectContaining({ kind: 'folder', path: '/new', state: 'pending' })] });
    expect(client.counts.mkdir).toBe(0);
    await writeBack.drain();
    expect(client.serverStat('new')?.type).toBe('directory');
    expect(records(cacheDir)).toEqual([]);
    expect(writeBack.status().pendingUploads).toBe(0);
  });

  it('survives a crash: the next mount shows it and creates it, before the file inside it', async () => {
    const cacheDir = cacheDirFor();
    const client = new MockFilesClient();
    const first = await mockSetup({ cacheDir, client, writeBack: { uploadDelayMs: 60_000 } });
    await first.fs.mkdir('/kept', 0o755);
    await writeFile(first.fs, '/kept/file.txt', 'data');
    await first.writeBack.close(); // no drain: what a kill leaves
    expect(client.requests).toBe(0);

    const second = await mockSetup({ cacheDir, client, writeBack: { uploadDelayMs: 60_000 } });
    expect((await second.fs.getattr('/kept')).kind).toBe('directory');
    expect((await readAll(second.fs, '/kept/file.txt')).toString()).toBe('data');
    // resume() starts recovered work at once.
    await until(() => second.writeBack.status().pendingUploads === 0, 5_000, 'recovered uploads');
    expect(order(client)).toEqual(['mkdir kept', 'upload kept/file.txt']);
    await second.writeBack.close();
  });

  it('renaming a folder not on the server yet, with what is pending inside, is local: only the final names reach the server', async () => {
    const { fs, client, writeBack } = await mockSetup({ writeBack: { uploadDelayMs: 60_000 } });
    await fs.mkdir('/tmp-build', 0o755);
    await fs.mkdir('/tmp-build/lib', 0o755);
    await writeFile(fs, '/tmp-build/lib/x.o', 'object');
    await fs.rename('/tmp-build', '/build');
    expect(client.counts.mkdir + client.counts.move + client.counts.upload).toBe(0);
    await expectErrno(fs.getattr('/tmp-build'), 'ENOENT');
    expect((await readAll(fs, '/build/lib/x.o')).toString()).toBe('object');
    await writeBack.drain();
    expect(order(client)).toEqual(['mkdir build', 'mkdir build/lib', 'upload build/lib/x.o']);
    expect(client.counts.move).toBe(0);
  });

  it('rmdir of a folder not on the server yet is local; it never reaches the server', async () => {
    const { fs, client, writeBack, cacheDir } = await mockSetup({ writeBack: { uploadDelayMs: 60_000 } });
    await fs.mkdir('/scratch', 0o755);
    await writeFile(fs, '/scratch/f', 'x');
    await expectErrno(fs.rmdir('/scratch'), 'ENOTEMPTY');
    await fs.unlink('/scratch/f');
    await fs.rmdir('/scratch');
    await expectErrno(fs.getattr('/scratch'), 'ENOENT');
    await writeBack.drain();
    expect(client.requests).toBe(0);
    expect(records(cacheDir)).toEqual([]);
  });

  it('a folder keeps the time of its mkdir once the server has it (the server stamps it later); a later change shows', async () => {
    let now = Date.UTC(2024, 0, 1, 12, 0, 0);
    const clock = (): number => now;
    const client = new MockFilesClient({ now: clock });
    const { fs, writeBack } = await mockSetup({ client, writeBack: { uploadDelayMs: 60_000 }, fs: { attrTtlMs: 0, dirTtlMs: 0, clock } });
    await fs.mkdir('/made', 0o755);
    const before = await fs.getattr('/made');
    expect(before.mtime.getTime()).toBe(Date.UTC(2024, 0, 1, 12, 0, 0));
    // Created on the server two seconds later: the server's folder carries that time.
    now += 2_000;
    await writeBack.drain();
    expect(client.serverStat('made')?.mtime.getTime()).toBe(Date.UTC(2024, 0, 1, 12, 0, 2));
    const after = await fs.getattr('/made');
    expect(after.mtime).toEqual(before.mtime);
    expect(after.ctime ?? after.mtime).toEqual(before.ctime ?? before.mtime);
    // Another client gives it another time later: that shows.
    const elsewhere = new Date(Date.UTC(2024, 0, 1, 12, 5, 0));
    await client.update('made', { mtime: elsewhere });
    expect((await fs.getattr('/made')).mtime).toEqual(elsewhere);
  });

  it('a folder\'s link count counts the folders made in it, before and after the server has them', async () => {
    const { fs, writeBack } = await mockSetup({ writeBack: { uploadDelayMs: 60_000 } });
    await fs.mkdir('/p', 0o755);
    expect((await fs.getattr('/p')).nlink).toBe(2);
    await fs.mkdir('/p/a', 0o755);
    expect((await fs.getattr('/p')).nlink).toBe(3);
    await fs.mkdir('/p/b', 0o755);
    await writeFile(fs, '/p/file.txt', 'x');
    expect((await fs.getattr('/p')).nlink).toBe(4);
    await writeBack.drain();
    expect((await fs.getattr('/p')).nlink).toBe(4);
    await fs.mkdir('/p/c', 0o755);
    expect((await fs.getattr('/p')).nlink).toBe(5);
    await fs.rmdir('/p/a');
    expect((await fs.getattr('/p')).nlink).toBe(4);
    await writeBack.drain();
    expect((await fs.getattr('/p')).nlink).toBe(4);
  });

  it('touch -d / cp -p on a pending folder: its creation carries the time', async () => {
    const { fs, client, writeBack } = await mockSetup({ writeBack: { uploadDelayMs: 60_000 } });
    await fs.mkdir('/dated', 0o755);
    const when = new Date('2020-02-02T02:02:02Z');
    await fs.utimens('/dated', null, when);
    expect((await fs.getattr('/dated')).mtime.getTime()).toBe(when.getTime());
    await writeBack.drain();
    expect(client.counts.setMtime).toBe(0);
    expect(client.serverStat('dated')?.mtime.getTime()).toBe(when.getTime());
  });

  it('mkdir -m, chmod and an xattr on a pending folder travel with its creation (journaled), one PATCH after the mkdir', async () => {
    const { fs, client, writeBack, cacheDir } = await mockSetup({ writeBack: { uploadDelayMs: 60_000 } });
    await fs.mkdir('/private', 0o755);
    await fs.chmod('/private', 0o700);
    await fs.mkdir('/shared', 0o750);
    expect((await fs.getattr('/private')).permissions & 0o7777).toBe(0o700);
    expect((await fs.getattr('/shared')).permissions & 0o7777).toBe(0o750);
    expect(client.serverStat('private')).toBeNull();
    expect(client.requests).toBe(0);
    const journaled = records(cacheDir).find((r) => r.path === 'private') as { metadata?: Record<string, string> };
    expect(journaled.metadata).toMatchObject({ 'filesfs.mode': '0700' });
    await writeBack.drain();
    expect(client.serverStat('private')?.customMetadata).toMatchObject({ 'filesfs.mode': '0700' });
    expect(client.serverStat('shared')?.customMetadata).toMatchObject({ 'filesfs.mode': '0750' });
    expect((await fs.getattr('/private')).permissions & 0o7777).toBe(0o700);
  });

  it('a file on the server moved into a pending folder: the folder is created first, then moved into', async () => {
    const { fs, client } = await mockSetup({ writeBack: { uploadDelayMs: 60_000 } });
    client.serverPut('report.pdf', 'pdf');
    await fs.mkdir('/archive', 0o755);
    await fs.rename('/report.pdf', '/archive/report.pdf');
    expect(client.calls.filter((c) => c.method === 'mkdir' || c.method === 'move').map((c) => `${c.method} ${c.path}`)).toEqual(['mkdir archive', 'move report.pdf']);
    expect(client.serverRead('archive/report.pdf').toString()).toBe('pdf');
  });

  it('a folder on the server that already exists (made elsewhere meanwhile) counts as created', async () => {
    const { fs, client, writeBack } = await mockSetup({ writeBack: { uploadDelayMs: 60_000 } });
    await fs.mkdir('/shared', 0o755);
    await writeFile(fs, '/shared/mine.txt', 'mine');
    client.serverPut('shared/theirs.txt', 'theirs');
    await writeBack.drain();
    expect(writeBack.status().pendingUploads).toBe(0);
    expect((await fs.readdir('/shared')).map((e) => e.name).sort()).toEqual(['mine.txt', 'theirs.txt']);
  });

  it('transient failures and refused credentials are retried in the background; nobody sees an error', async () => {
    const { fs, client, writeBack } = await mockSetup({ writeBack: { uploadDelayMs: 10 } });
    client.failNext('mkdir', new NetworkError({ message: 'socket hang up' }), 2);
    client.failNext('mkdir', new NotAuthenticatedError({ message: 'Invalid API key', status: 401 }), 1);
    await fs.mkdir('/flaky', 0o755);
    await writeFile(fs, '/flaky/f.txt', 'ok');
    await until(() => writeBack.status().pendingUploads === 0, 10_000, 'retries');
    expect(client.counts.mkdir).toBe(4);
    expect(client.serverRead('flaky/f.txt').toString()).toBe('ok');
  });

  it('a file where the folder should be: the folder is refused and kept with what is inside it; fsync inside it is EIO; retry after the file is gone creates it', async () => {
    const { fs, client, writeBack } = await mockSetup({ writeBack: { uploadDelayMs: 10, failedRetryDelayMs: 600_000 } });
    await fs.mkdir('/box', 0o755);
    client.serverPut('box', 'a file in the way');
    const fh = await fs.create('/box/inside.txt', 0o644, O_CREAT | O_WRONLY);
    await fs.write('/box/inside.txt', fh, Buffer.from('kept'), 0);
    await expectErrno(fs.fsync('/box/inside.txt', fh, false), 'EIO');
    await fs.flush('/box/inside.txt', fh);
    await fs.release('/box/inside.txt', fh);
    const status = writeBack.status();
    expect(status.files).toEqual([
      expect.objectContaining({ kind: 'folder', path: '/box', state: 'failed', error: expect.stringMatching(/file/) }),
      expect.objectContaining({ kind: 'file', path: '/box/inside.txt', state: 'pending', waitingFor: '/box' }),
    ]);
    expect(status.byState.failed.files + status.byState.pending.files).toBe(status.pendingUploads);
    // Still visible where it was written.
    expect((await readAll(fs, '/box/inside.txt')).toString()).toBe('kept');

    client.serverDelete('box');
    const outcomes = await writeBack.retry(undefined, 10_000);
    expect(outcomes).toEqual([expect.objectContaining({ path: '/box', kind: 'folder', outcome: 'uploaded' })]);
    await until(() => writeBack.status().pendingUploads === 0, 5_000, 'the file inside');
    expect(client.serverRead('box/inside.txt').toString()).toBe('kept');
  });
});
