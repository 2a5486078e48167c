// Staging on the filesystem layer (mock client): every write lands in a
// private staging file; the file shows its local size and mtime at once and
// reads come from staging; remote files opened for writing are fetched first
// (once for concurrent opens), except with O_TRUNC.
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { expectErrno, pattern, readAll } from '../helpers.js';
import { mockSetup, O_APPEND, O_CREAT, O_EXCL, O_RDONLY, O_RDWR, O_TRUNC, O_WRONLY, until, writeFile } from './helpers.js';

describe('staging', () => {
  it('a new file shows its local size and mtime at once, and reads come from staging, before any upload', async () => {
    const { fs, client } = await mockSetup({ writeBack: { uploadDelayMs: 60_000 } });
    client.serverPut('d/server.txt', 'on the server');
    const fh = await fs.create('/d/new.txt', 0o644, O_CREAT | O_WRONLY);
    expect(await fs.write('/d/new.txt', fh, Buffer.from('hello '), 0)).toBe(6);
    // Visible while still open, by path and through the handle.
    expect((await fs.getattr('/d/new.txt')).size).toBe(6);
    expect((await fs.fgetattr('/d/new.txt', fh)).size).toBe(6);
    await fs.write('/d/new.txt', fh, Buffer.from('world'), 6);
    await fs.release('/d/new.txt', fh);
    const attr = await fs.getattr('/d/NEW.TXT');
    expect(attr.size).toBe(11);
    expect(Date.now() - attr.mtime.getTime()).toBeLessThan(5_000);
    expect((await fs.readdir('/d')).map((e) => [e.name, e.attributes.size]).sort()).toEqual([['new.txt', 11], ['server.txt', 13]]);
    expect((await readAll(fs, '/d/new.txt')).toString()).toBe('hello world');
    expect(client.counts.upload).toBe(0);
    expect(client.counts.readRange).toBe(0);
  });

  it('files copied into a folder made through the mount cost no request before their upload (cp -r: lookup, create, write, close)', async () => {
    const { fs, client } = await mockSetup({ writeBack: { uploadDelayMs: 60_000 } });
    await fs.mkdir('/new', 0o755);
    client.resetCounts();
    for (let i = 0; i < 20; i++) {
      await expectErrno(fs.getattr(`/new/f${i}`), 'ENOENT'); // the kernel's lookup of the new name
      await writeFile(fs, `/new/f${i}`, `file ${i}`);
    }
    expect(client.requests).toBe(0);
    expect((await fs.readdir('/new')).length).toBe(20);
  });

  it('the cache dir is 0700, staging and journal dirs 0700, staging files and records 0600', async () => {
    const { fs, cacheDir } = await mockSetup({ writeBack: { uploadDelayMs: 60_000 } });
    await writeFile(fs, '/secret.txt', 'x');
    const mode = (p: string) => statSync(p).mode & 0o777;
    expect(mode(cacheDir)).toBe(0o700);
    expect(mode(join(cacheDir, 'staging'))).toBe(0o700);
    expect(mode(join(cacheDir, 'journal'))).toBe(0o700);
    const staged = readdirSync(join(cacheDir, 'staging'));
    const records = readdirSync(join(cacheDir, 'journal'));
    expect(staged).toHaveLength(1);
    expect(records).toHaveLength(1);
    expect(mode(join(cacheDir, 'staging', staged[0]!))).toBe(0o600);
    expect(mode(join(cacheDir, 'journal', records[0]!))).toBe(0o600);
  });

  it('O_EXCL on an existing pending file is EEXIST; create without O_EXCL opens it', async () => {
    const { fs } = await mockSetup({ writeBack: { uploadDelayMs: 60_000 } });
    await writeFile(fs, '/a.txt', 'abc');
    await expectErrno(fs.create('/A.TXT', 0o644, O_CREAT | O_EXCL | O_WRONLY), 'EEXIST');
    const fh = await fs.create('/A.txt', 0o644, O_CREAT | O_WRONLY);
    await fs.write('/A.txt', fh, Buffer.from('X'), 1);
    await fs.release('/A.txt', fh);
    expect((await readAll(fs, '/a.txt')).toString()).toBe('aXc');
  });

  it('O_APPEND writes go to the end whatever the offset; O_TRUNC empties', async () => {
    const { fs } = await mockSetup({ writeBack: { uploadDelayMs: 60_000 } });
    await writeFile(fs, '/log', 'one\n');
    const fh = await fs.open('/log', O_WRONLY | O_APPEND);
    await fs.write('/log', fh, Buffer.from('two\n'), 0);
    await fs.write('/log', fh, Buffer.from('three\n'), 1);
    await fs.release('/log', fh);
    expect((await readAll(fs, '/log')).toString()).toBe('one\ntwo\nthree\n');
    const t = await fs.open('/log', O_WRONLY | O_TRUNC);
    expect((await fs.getattr('/log')).size).toBe(0);
    await fs.release('/log', t);
    expect((await readAll(fs, '/log')).length).toBe(0);
  });

  it('truncate extends sparsely (zeros read back, no zeros written) and shrinks', async () => {
    const { fs, writeBack } = await mockSetup({ writeBack: { uploadDelayMs: 60_000 } });
    await writeFile(fs, '/sparse', 'abc');
    await fs.truncate('/sparse', 64 * 1024 * 1024);
    expect((await fs.getattr('/sparse')).size).toBe(64 * 1024 * 1024);
    const stagingFile = writeBack.status().files[0]!.stagingFile;
    // 64 MiB long, a few blocks on disk.
    expect(statSync(stagingFile).size).toBe(64 * 1024 * 1024);
    expect(statSync(stagingFile).blocks * 512).toBeLessThan(1024 * 1024);
    const fh = await fs.open('/sparse', O_RDONLY);
    const buf = Buffer.alloc(8);
    expect(await fs.read('/sparse', fh, buf, 0)).toBe(8);
    expect(buf.toString('latin1')).toBe('abc\0\0\0\0\0');
    await fs.release('/sparse', fh);
    await fs.truncate('/sparse', 2);
    expect((await readAll(fs, '/sparse')).toString()).toBe('ab');
  });

  it('opening a remote file for writing without O_TRUNC fetches it once for concurrent opens; random writes apply to its content', async () => {
    const { fs, client } = await mockSetup();
    const original = pattern(3 * 1024 * 1024, 7);
    client.serverPut('big.bin', original);
    client.delay('createReadStream', 30);
    const [a, b] = await Promise.all([fs.open('/big.bin', O_RDWR), fs.open('/BIG.bin', O_WRONLY)]);
    expect(client.counts.createReadStream).toBe(1);
    await fs.write('/big.bin', b, Buffer.from('PATCH'), 1_000_000); // dd conv=notrunc seek=
    const check = Buffer.alloc(5);
    await fs.read('/big.bin', a, check, 1_000_000);
    expect(check.toString()).toBe('PATCH');
    await fs.release('/big.bin', a);
    await fs.release('/big.bin', b);
    const expected = Buffer.from(original);
    expected.write('PATCH', 1_000_000);
    await until(() => client.serverRead('big.bin').equals(expected), 5_000, 'the patched upload');
    expect(client.counts.upload).toBe(1);
  });

  it('O_TRUNC on a remote file stages an empty file without downloading it', async () => {
    const { fs, client } = await mockSetup();
    client.serverPut('r.txt', 'old content');
    const fh = await fs.open('/r.txt', O_WRONLY | O_TRUNC);
    expect(client.counts.createReadStream + client.counts.readRange).toBe(0);
    expect((await fs.getattr('/r.txt')).size).toBe(0);
    await fs.write('/r.txt', fh, Buffer.from('new'), 0);
    await fs.release('/r.txt', fh);
    await until(() => client.serverRead('r.txt').toString() === 'new', 5_000, 'upload');
  });

  it('opening a remote file for writing and closing it unchanged uploads nothing and leaves no staging behind', async () => {
    const { fs, client, writeBack, cacheDir } = await mockSetup();
    client.serverPut('same.txt', 'unchanged');
    const fh = await fs.open('/same.txt', O_RDWR);
    await fs.release('/same.txt', fh);
    await new Promise((r) => setTimeout(r, 100));
    expect(client.counts.upload).toBe(0);
    expect(writeBack.status().pendingUploads).toBe(0);
    expect(readdirSync(join(cacheDir, 'staging'))).toEqual([]);
  });

  it('a failed fetch fails the open and leaves nothing pending', async () => {
    const { fs, client, writeBack } = await mockSetup();
    client.serverPut('f.txt', 'x');
    client.failNext('createReadStream', new Error('network down'));
    await expect(fs.open('/f.txt', O_WRONLY)).rejects.toThrow('network down');
    expect(writeBack.status().pendingUploads).toBe(0);
    expect((await fs.getattr('/f.txt')).size).toBe(1);
  });

  it('a handle keeps working after its file was unlinked, and nothing is uploaded', async () => {
    const { fs, client } = await mockSetup({ writeBack: { uploadDelayMs: 0 } });
    const fh = await fs.create('/gone.txt', 0o644, O_CREAT | O_RDWR);
    await fs.write('/gone.txt', fh, Buffer.from('abc'), 0);
    await fs.unlink('/gone.txt');
    await expectErrno(fs.getattr('/gone.txt'), 'ENOENT');
    expect(await fs.write('', fh, Buffer.from('def'), 3)).toBe(3);
    const buf = Buffer.alloc(6);
    expect(await fs.read('', fh, buf, 0)).toBe(6);
    expect(buf.toString()).toBe('abcdef');
    await fs.fsync('', fh, false);
    await fs.flush('', fh);
    await fs.release('', fh);
    await new Promise((r) => setTimeout(r, 50));
    expect(client.counts.upload).toBe(0);
  });
});
