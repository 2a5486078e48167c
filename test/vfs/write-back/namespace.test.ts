// Renames and deletes of pending files (mock client): editors' write-temp-then-
// rename saves retarget the upload (no upload of the temporary name ever
// reaches the server), deleting cancels, folder moves keep what is pending
// inside, renames onto pending files replace them, and an upload in flight for
// a renamed or deleted file is aborted and never lands under the old name.
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { decode } from '../../../src/vfs/write-back/journal.js';
import type { MockFilesClient } from '../../support/mock-files-client.js';
import { expectErrno, readAll } from '../helpers.js';
import { mockSetup, O_RDWR, until, writeFile } from './helpers.js';

const uploadsTo = (client: MockFilesClient): string[] => client.calls.filter((c) => c.method === 'upload').map((c) => c.path);

/** Makes uploads wait until aborted or `release()`d (an HTTP upload in flight). */
function holdUploads(client: MockFilesClient): { release: () => void } {
  let release!: () => void;
  const released = new Promise<void>((r) => (release = r));
  client.on('upload', (call) => new Promise<void>((resolve, reject) => {
    const signal = (call.args[0] as { signal: AbortSignal }).signal;
    signal.addEventListener('abort', () => reject(signal.reason), { once: true });
    void released.then(resolve);
  }));
  return { release };
}

describe('rename and delete while pending', () => {
  it('vim-style save (write .swp-like temp, rename over the original): one upload, to the final name', async () => {
    const { fs, client, writeBack } = await mockSetup({ writeBack: { uploadDelayMs: 50 } });
    client.serverPut('notes/doc.txt', 'old text');
    await writeFile(fs, '/notes/.doc.txt.tmp', 'new text');
    await fs.rename('/notes/.doc.txt.tmp', '/notes/doc.txt');
    expect((await readAll(fs, '/notes/doc.txt')).toString()).toBe('new text');
    await expectErrno(fs.getattr('/notes/.doc.txt.tmp'), 'ENOENT');
    await until(() => writeBack.status().pendingUploads === 0, 5_000, 'upload');
    expect(uploadsTo(client)).toEqual(['notes/doc.txt']);
    expect(client.counts.move).toBe(0);
    expect(client.serverPaths()).toEqual(['notes', 'notes/doc.txt']);
    expect(client.serverRead('notes/doc.txt').toString()).toBe('new text');
  });

  it('the record names the new path before rename returns (a crash after it uploads under the final name)', async () => {
    const { fs, cacheDir } = await mockSetup({ writeBack: { uploadDelayMs: 60_000 } });
    await writeFile(fs, '/tmp123', 'content');
    await fs.rename('/tmp123', '/final.txt');
    const [name] = readdirSync(join(cacheDir, 'journal')).filter((n) => n.endsWith('.json'));
    expect(decode(readFileSync(join(cacheDir, 'journal', name!), 'utf8')).path).toBe('final.txt');
  });

  it('deleting a pending file cancels it: no upload, record and staging gone', async () => {
    const { fs, client, writeBack, cacheDir } = await mockSetup({ writeBack: { uploadDelayMs: 50 } });
    await writeFile(fs, '/scratch.txt', 'temporary');
    await fs.unlink('/scratch.txt');
    await expectErrno(fs.getattr('/scratch.txt'), 'ENOENT');
    await new Promise((r) => setTimeout(r, 150));
    expect(client.counts.upload + client.counts.delete).toBe(0);
    expect(writeBack.status().pendingUploads).toBe(0);
    expect(readdirSync(join(cacheDir, 'journal'))).toEqual([]);
    expect(readdirSync(join(cacheDir, 'staging'))).toEqual([]);
  });

  it('deleting a pending change of a remote file cancels the upload and deletes it on the server', async () => {
    const { fs, client } = await mockSetup({ writeBack: { uploadDelayMs: 50 } });
    client.serverPut('remote.txt', 'on server');
    const fh = await fs.open('/remote.txt', O_RDWR);
    await fs.write('/remote.txt', fh, Buffer.from('CHANGED'), 0);
    await fs.release('/remote.txt', fh);
    await fs.unlink('/remote.txt');
    await new Promise((r) => setTimeout(r, 150));
    expect(client.counts.upload).toBe(0);
    expect(client.serverStat('remote.txt')).toBeNull();
  });

  it('an upload in flight for a file that is renamed or deleted is aborted and never lands under the old name', async () => {
    const { fs, client, writeBack } = await mockSetup({ writeBack: { uploadDelayMs: 0 } });
    const hold = holdUploads(client);
    await writeFile(fs, '/a.tmp', 'A');
    await writeFile(fs, '/b.tmp', 'B');
    await until(() => writeBack.status().uploading === 2, 5_000, 'both uploads in flight');
    await fs.rename('/a.tmp', '/a.txt');
    await fs.unlink('/b.tmp');
    hold.release();
    await until(() => writeBack.status().pendingUploads === 0, 5_000, 'the retargeted upload');
    expect(client.serverPaths()).toEqual(['a.txt']);
    expect(client.serverRead('a.txt').toString()).toBe('A');
  });

  it('renaming a folder with pending files inside keeps them: they upload under the new folder, none under the old', async () => {
    const { fs, client, writeBack } = await mockSetup({ writeBack: { uploadDelayMs: 0 } });
    client.serverMkdirs('proj/src');
    const hold = holdUploads(client);
    await writeFile(fs, '/proj/src/main.c', 'int main;');
    await writeFile(fs, '/proj/readme', 'hi');
    await until(() => writeBack.status().uploading === 2, 5_000, 'uploads in flight');
    await fs.rename('/proj', '/project');
    hold.release();
    expect((await readAll(fs, '/project/src/main.c')).toString()).toBe('int main;');
    await expectErrno(fs.getattr('/proj/readme'), 'ENOENT');
    await until(() => writeBack.status().pendingUploads === 0, 5_000, 'uploads');
    expect(client.serverPaths()).toEqual(['project', 'project/readme', 'project/src', 'project/src/main.c']);
    expect(client.serverRead('project/src/main.c').toString()).toBe('int main;');
  });

  it('a failed folder move releases the held uploads (they land under the old name)', async () => {
    const { fs, client, writeBack } = await mockSetup({ writeBack: { uploadDelayMs: 0 } });
    client.serverMkdirs('dir');
    const hold = holdUploads(client);
    await writeFile(fs, '/dir/f', 'x');
    await until(() => writeBack.status().uploading === 1, 5_000, 'upload in flight');
    client.failNext('move', new Error('network down'));
    await expect(fs.rename('/dir', '/dir2')).rejects.toThrow('network down');
    hold.release();
    await until(() => writeBack.status().pendingUploads === 0, 5_000, 'upload');
    expect(client.serverRead('dir/f').toString()).toBe('x');
  });

  it('renaming a pending file onto another pending file replaces it (its upload cancelled)', async () => {
    // The delay must outlast the two writes and the rename even on a loaded machine.
    const { fs, client, writeBack } = await mockSetup({ writeBack: { uploadDelayMs: 1_000 } });
    await writeFile(fs, '/target.txt', 'replaced');
    await writeFile(fs, '/source.txt', 'winner');
    await fs.rename('/source.txt', '/target.txt');
    await until(() => writeBack.status().pendingUploads === 0, 5_000, 'upload');
    expect(uploadsTo(client)).toEqual(['target.txt']);
    expect(client.serverPaths()).toEqual(['target.txt']);
    expect(client.serverRead('target.txt').toString()).toBe('winner');
  });

  it('renaming a remote file onto a pending file: server move, and the pending upload of the target is cancelled', async () => {
    const { fs, client, writeBack } = await mockSetup({ writeBack: { uploadDelayMs: 50 } });
    client.serverPut('remote.txt', 'from the server');
    await writeFile(fs, '/pending.txt', 'local, replaced');
    await fs.rename('/remote.txt', '/pending.txt');
    await new Promise((r) => setTimeout(r, 200));
    expect(writeBack.status().pendingUploads).toBe(0);
    expect(client.counts.upload).toBe(0);
    expect(client.serverPaths()).toEqual(['pending.txt']);
    expect((await readAll(fs, '/pending.txt')).toString()).toBe('from the server');
  });

  it('renaming a pending change of a remote file moves the server copy, then uploads the change under the new name', async () => {
    const { fs, client, writeBack } = await mockSetup({ writeBack: { uploadDelayMs: 50 } });
    client.serverPut('old.txt', 'v1');
    const fh = await fs.open('/old.txt', O_RDWR);
    await fs.write('/old.txt', fh, Buffer.from('v2'), 0);
    await fs.release('/old.txt', fh);
    await fs.rename('/old.txt', '/new.txt');
    await until(() => writeBack.status().pendingUploads === 0, 5_000, 'upload');
    expect(client.counts.move).toBe(1);
    expect(uploadsTo(client)).toEqual(['new.txt']);
    expect(client.serverPaths()).toEqual(['new.txt']);
    expect(client.serverRead('new.txt').toString()).toBe('v2');
  });

  it('sed -i style (write temp, rename over original, original was remote): one upload, no stray temp, open handles follow renames', async () => {
    const { fs, client, writeBack } = await mockSetup({ writeBack: { uploadDelayMs: 50 } });
    client.serverPut('conf', 'a=1\n');
    const tmp = await fs.create('/sedXYZ', 0o644, 0o100 | 0o2);
    await fs.write('/sedXYZ', tmp, Buffer.from('a=2\n'), 0);
    await fs.rename('/sedXYZ', '/conf'); // while still open
    await fs.write('', tmp, Buffer.from('b=3\n'), 4);
    await fs.release('/conf', tmp);
    await until(() => writeBack.status().pendingUploads === 0, 5_000, 'upload');
    expect(uploadsTo(client)).toEqual(['conf']);
    expect(client.serverPaths()).toEqual(['conf']);
    expect(client.serverRead('conf').toString()).toBe('a=2\nb=3\n');
  });

  it('rmdir of a folder holding only pending files is ENOTEMPTY; after deleting them it works', async () => {
    const { fs, client } = await mockSetup({ writeBack: { uploadDelayMs: 60_000 } });
    client.serverMkdirs('d');
    await writeFile(fs, '/d/p', 'x');
    await expectErrno(fs.rmdir('/d'), 'ENOTEMPTY');
    await fs.unlink('/d/p');
    await fs.rmdir('/d');
    expect(client.serverPaths()).toEqual([]);
  });
});
