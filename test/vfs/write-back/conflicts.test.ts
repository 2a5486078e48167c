// A shared site (mock client): a local change never silently replaces a
// server version it did not start from. Each change remembers its base (what
// the server had, or nothing); right before an upload publishes, the server
// must still have it, else both versions are kept (a conflict copy), or the
// --on-conflict policy says otherwise.
import { describe, expect, it } from 'vitest';
import { conflictPath } from '../../../src/vfs/write-back/conflict.js';
import { MockFilesClient } from '../../support/mock-files-client.js';
import { readAll } from '../helpers.js';
import { cacheDirFor, mockSetup, O_APPEND, O_CREAT, O_WRONLY, until, writeFile } from './helpers.js';

const when = new Date(2026, 11, 7, 13, 4, 5);

describe('conflict copy names', () => {
  it('put "(conflict date time host)" before the extension', () => {
    expect(conflictPath('docs/report.docx', when, 'laptop.example.com')).toBe('docs/report (conflict 2026-12-07 130405 laptop).docx');
    expect(conflictPath('notes', when, 'h')).toBe('notes (conflict 2026-12-07 130405 h)');
    expect(conflictPath('.bashrc', when, 'h')).toBe('.bashrc (conflict 2026-12-07 130405 h)');
    expect(conflictPath('a.tar.gz', when, 'h', 2)).toBe('a.tar (conflict 2026-12-07 130405 h 2).gz');
    expect(conflictPath('x.txt', when, '???')).toBe('x (conflict 2026-12-07 130405 filesfs).txt');
  });
});

/** The server's files whose names start with `prefix`, by content. */
const serverFiles = (client: MockFilesClient, prefix: string): Record<string, string> =>
  Object.fromEntries(client.serverPaths().filter((p) => p.startsWith(prefix)).map((p) => [p, client.serverRead(p).toString()]));

describe('a local change racing a remote one', () => {
  it('a pending change whose file was rewritten elsewhere meanwhile: both versions end on the server', async () => {
    const client = new MockFilesClient();
    client.serverPut('shared.txt', 'original');
    const { fs, writeBack, logs } = await mockSetup({ client, writeBack: { uploadDelayMs: 60_000, hostName: 'laptop' } });
    await writeFile(fs, '/shared.txt', 'mine'); // O_TRUNC over the server's file: its base is "original"
    client.serverPut('shared.txt', 'theirs, written elsewhere'); // a colleague's version lands first
    await writeBack.drain();
    const files = serverFiles(client, 'shared');
    expect(files['shared.txt']).toBe('theirs, written elsewhere');
    const copies = Object.keys(files).filter((p) => /^shared \(conflict \d{4}-\d\d-\d\d \d{6} laptop\)\.txt$/.test(p));
    expect(copies).toHaveLength(1);
    expect(files[copies[0]!]).toBe('mine');
    expect(logs.some((l) => l.includes('WARN') && l.includes('both are kept'))).toBe(true);
    const status = writeBack.status();
    expect(status.conflictCount).toBe(1);
    expect(status.conflicts[0]).toMatchObject({ path: '/shared.txt', copy: `/${copies[0]}` });
    // The mount shows the server's version at the name, and ours beside it.
    expect((await readAll(fs, '/shared.txt')).toString()).toBe('theirs, written elsewhere');
    expect((await readAll(fs, `/${copies[0]}`)).toString()).toBe('mine');
  });

  it('an append to a version rewritten elsewhere keeps the rewrite, and the append lands beside it', async () => {
    const client = new MockFilesClient();
    client.serverPut('app.log', 'line 1\n');
    const { fs, writeBack } = await mockSetup({ client, writeBack: { uploadDelayMs: 60_000, hostName: 'h' } });
    const fh = await fs.open('/app.log', O_WRONLY | O_APPEND); // stages the server's content
    client.serverPut('app.log', 'rewritten elsewhere\n');
    await fs.write('/app.log', fh, Buffer.from('line 2\n'), 0);
    await fs.flush('/app.log', fh);
    await fs.release('/app.log', fh);
    await writeBack.drain();
    const files = serverFiles(client, 'app');
    expect(files['app.log']).toBe('rewritten elsewhere\n');
    expect(Object.entries(files).filter(([p]) => p !== 'app.log').map(([, c]) => c)).toEqual(['line 1\nline 2\n']);
  });

  it('a new local file whose name someone created meanwhile: theirs stays, ours lands beside it', async () => {
    const { fs, client, writeBack } = await mockSetup({ writeBack: { uploadDelayMs: 60_000, hostName: 'h' } });
    await writeFile(fs, '/new.txt', 'ours');
    client.serverPut('new.txt', 'theirs');
    await writeBack.drain();
    const files = serverFiles(client, 'new');
    expect(files['new.txt']).toBe('theirs');
    expect(Object.values(files).sort()).toEqual(['ours', 'theirs']);
  });

  it('a file deleted elsewhere while it has local changes: the local version is uploaded under its name, and the log says so', async () => {
    const client = new MockFilesClient();
    client.serverPut('gone.txt', 'old');
    const { fs, writeBack, logs } = await mockSetup({ client, writeBack: { uploadDelayMs: 60_000 } });
    await writeFile(fs, '/gone.txt', 'kept');
    client.serverDelete('gone.txt');
    await writeBack.drain();
    expect(serverFiles(client, 'gone')).toEqual({ 'gone.txt': 'kept' });
    expect(logs.some((l) => l.includes('WARN') && l.includes('gone.txt was deleted or moved out of its folder on the server'))).toBe(true);
  });

  it('a file renamed elsewhere while it has local changes: the renamed file stays, the local version lands as a conflict copy beside the old name', async () => {
    const client = new MockFilesClient({ checksums: true });
    client.serverMkdirs('team');
    client.serverPut('team/plan.txt', 'the plan');
    const { fs, writeBack, logs } = await mockSetup({ client, writeBack: { uploadDelayMs: 60_000, hostName: 'h' } });
    await writeFile(fs, '/team/plan.txt', 'my edit');
    await client.move('team/plan.txt', 'team/plan (final).txt');
    await writeBack.drain();
    const files = serverFiles(client, 'team/');
    expect(files['team/plan (final).txt']).toBe('the plan');
    expect(files['team/plan.txt']).toBeUndefined();
    const copies = Object.keys(files).filter((p) => /^team\/plan \(conflict \d{4}-\d\d-\d\d \d{6} h\)\.txt$/.test(p));
    expect(copies).toHaveLength(1);
    expect(files[copies[0]!]).toBe('my edit');
    expect(logs.some((l) => l.includes('WARN') && l.includes('renamed on the server to team/plan (final).txt') && l.includes("the server's at team/plan (final).txt"))).toBe(true);
  });

  it('a file deleted elsewhere beside a file of the same size written in the same second is not taken for renamed: it is uploaded under its name', async () => {
    for (const checksums of [false, true]) {
      // Without checksums: the bases come from our own uploads' answers (the server hashes later).
      const client = new MockFilesClient({ checksums });
      const { fs, writeBack, logs } = await mockSetup({ client, writeBack: { uploadDelayMs: 0, hostName: 'h' } });
      await fs.mkdir('/r', 0o755);
      await writeFile(fs, '/r/x.txt', 'aaaaa\n');
      await writeFile(fs, '/r/y.txt', 'bbbbb\n');
      await writeBack.drain();
      const fh = await fs.open('/r/x.txt', O_WRONLY | O_APPEND);
      await fs.write('/r/x.txt', fh, Buffer.from('local change\n'), 0);
      client.serverDelete('r/x.txt');
      await fs.flush('/r/x.txt', fh);
      await fs.release('/r/x.txt', fh);
      await writeBack.drain();
      expect(serverFiles(client, 'r/')).toEqual({ 'r/x.txt': 'aaaaa\nlocal change\n', 'r/y.txt': 'bbbbb\n' });
      expect(writeBack.status().conflictCount).toBe(0);
      expect(logs.some((l) => l.includes('renamed on the server'))).toBe(false);
    }
  });

  it('a new file whose name someone created during a long transfer: the server is asked again before it publishes, and theirs stays', async () => {
    class SlowTransfer extends MockFilesClient {
      override async upload(path: string, source: Parameters<MockFilesClient['upload']>[1], options: Parameters<MockFilesClient['upload']>[2] = {}): ReturnType<MockFilesClient['upload']> {
        // begin_upload found nothing; the transfer then took a while, and a colleague created the name meanwhile.
        const began = { exists: this.serverStat(path) !== null, checkedAt: Date.now() - 30_000 };
        if (path === 'big.bin') this.serverPut('big.bin', 'theirs');
        const { beforePublish } = options;
        return super.upload(path, source, { ...options, beforePublish: beforePublish && (() => beforePublish(began)) });
      }
    }
    const client = new SlowTransfer();
    const { fs, writeBack } = await mockSetup({ client, writeBack: { uploadDelayMs: 0, hostName: 'h' } });
    await writeFile(fs, '/big.bin', 'ours');
    await writeBack.drain();
    const files = serverFiles(client, 'big');
    expect(files['big.bin']).toBe('theirs');
    expect(Object.values(files).sort()).toEqual(['ours', 'theirs']);
    expect(writeBack.status().conflictCount).toBe(1);
  });

  it('a new small file whose begin_upload answered just now publishes without another request', async () => {
    const { fs, client, writeBack } = await mockSetup({ writeBack: { uploadDelayMs: 0 } });
    await writeFile(fs, '/small.txt', 'hello');
    await writeBack.drain();
    expect(client.serverRead('small.txt').toString()).toBe('hello');
    const upload = client.calls.findIndex((c) => c.method === 'upload' && c.path === 'small.txt');
    expect(upload).toBeGreaterThanOrEqual(0);
    expect(client.calls.slice(upload).filter((c) => c.method === 'stat')).toEqual([]);
  });

  it('a conflict copy whose name another mount took in the same second lands under the next number', async () => {
    class TwinMount extends MockFilesClient {
      override async upload(path: string, source: Parameters<MockFilesClient['upload']>[1], options: Parameters<MockFilesClient['upload']>[2] = {}): ReturnType<MockFilesClient['upload']> {
        // The other mount's copy of the same second lands right after our begin_upload found the name free.
        const began = { exists: this.serverStat(path) !== null, checkedAt: Date.now() };
        if (path.includes('(conflict') && !path.includes(' h 2)')) this.serverPut(path, 'the other mount\'s');
        const { beforePublish } = options;
        return super.upload(path, source, { ...options, beforePublish: beforePublish && (() => beforePublish(began)) });
      }
    }
    const client = new TwinMount();
    client.serverPut('doc.txt', 'base');
    const { fs, writeBack } = await mockSetup({ client, writeBack: { uploadDelayMs: 60_000, hostName: 'h' } });
    await writeFile(fs, '/doc.txt', 'mine');
    client.serverPut('doc.txt', 'theirs');
    await writeBack.drain();
    const files = serverFiles(client, 'doc');
    expect(files['doc.txt']).toBe('theirs');
    expect(Object.values(files).sort()).toEqual(['mine', 'the other mount\'s', 'theirs']);
    expect(Object.keys(files).some((p) => / h 2\)\.txt$/.test(p))).toBe(true);
  });

  it('a save that uploads its temporary file (fsync) and renames it over a file changed elsewhere keeps the other version', async () => {
    for (const policy of ['keep-both', 'remote-wins', 'local-wins'] as const) {
      const client = new MockFilesClient();
      client.serverPut('doc.txt', 'v1');
      const { fs, writeBack, logs } = await mockSetup({ client, writeBack: { uploadDelayMs: 60_000, hostName: 'h', onConflict: policy } });
      expect((await readAll(fs, '/doc.txt')).toString()).toBe('v1'); // the mount shows v1
      client.serverPut('doc.txt', 'v2, saved elsewhere');
      const fh = await fs.create('/.doc.txt.tmp', 0o644, O_CREAT | O_WRONLY);
      await fs.write('/.doc.txt.tmp', fh, Buffer.from('mine'), 0);
      await fs.fsync('/.doc.txt.tmp', fh, false); // on the server now: the rename is a server move
      await fs.release('/.doc.txt.tmp', fh);
      expect(client.serverStat('.doc.txt.tmp')).not.toBeNull();
      await fs.rename('/.doc.txt.tmp', '/doc.txt');
      await writeBack.drain();
      const files = serverFiles(client, '');
      if (policy === 'local-wins') {
        expect(files).toEqual({ 'doc.txt': 'mine' });
        continue;
      }
      const copies = Object.keys(files).filter((p) => /^doc \(conflict \d{4}-\d\d-\d\d \d{6} h\)\.txt$/.test(p));
      expect(files['doc.txt']).toBe('v2, saved elsewhere');
      expect(files['.doc.txt.tmp']).toBeUndefined();
      expect(copies).toHaveLength(policy === 'keep-both' ? 1 : 0);
      if (policy === 'keep-both') expect(files[copies[0]!]).toBe('mine');
      expect(writeBack.status().conflictCount).toBe(1);
      expect(logs.some((l) => l.includes('WARN') && l.includes('doc.txt changed on the server since this mount showed it'))).toBe(true);
      // The mount shows the server's version at the name.
      expect((await readAll(fs, '/doc.txt')).toString()).toBe('v2, saved elsewhere');
    }
  });

  it('a rename over a file nobody else changed replaces it, with one look at the server', async () => {
    const client = new MockFilesClient();
    client.serverPut('doc.txt', 'v1');
    const { fs, writeBack } = await mockSetup({ client, writeBack: { uploadDelayMs: 60_000 } });
    expect((await readAll(fs, '/doc.txt')).toString()).toBe('v1');
    client.serverPut('new.txt', 'v2');
    await fs.rename('/new.txt', '/doc.txt');
    await writeBack.drain();
    expect(serverFiles(client, '')).toEqual({ 'doc.txt': 'v2' });
    expect(writeBack.status().conflictCount).toBe(0);
  });

  it('the same bytes already at the name (our upload that landed before a crash, an empty file made twice) are no conflict: no duplicate copy', async () => {
    const client = new MockFilesClient({ checksums: true });
    client.serverPut('old.txt', 'v1');
    const { fs, writeBack } = await mockSetup({ client, writeBack: { uploadDelayMs: 60_000, hostName: 'h' } });
    await writeFile(fs, '/new.txt', 'hello crash');
    await writeFile(fs, '/old.txt', 'v2 here');
    await writeFile(fs, '/lock', '');
    // What the server holds when the mount comes back: its own uploads, landed before the journal knew.
    client.serverPut('new.txt', 'hello crash');
    client.serverPut('old.txt', 'v2 here');
    client.serverPut('lock', ''); // another program made the same empty file
    await writeBack.drain();
    expect(serverFiles(client, '')).toEqual({ 'new.txt': 'hello crash', 'old.txt': 'v2 here', lock: '' });
    expect(writeBack.status().conflictCount).toBe(0);
  });

  it('the same bytes at the name whose checksum the server computes a moment later are no conflict (a crash right after our upload landed)', async () => {
    const client = new MockFilesClient({ checksums: false });
    const { fs, writeBack } = await mockSetup({ client, writeBack: { uploadDelayMs: 60_000, hostName: 'h' } });
    await writeFile(fs, '/landed.txt', 'ours, already there');
    client.serverPut('landed.txt', 'ours, already there');
    setTimeout(() => (client.checksums = true), 600); // the server's hashing finishes
    await writeBack.drain();
    expect(serverFiles(client, 'landed')).toEqual({ 'landed.txt': 'ours, already there' });
    expect(writeBack.status().conflictCount).toBe(0);
  });

  it('other bytes of the same size at the name are a conflict, and so are bytes whose checksum the server has not computed yet', async () => {
    for (const checksums of [true, false]) {
      const client = new MockFilesClient({ checksums });
      const { fs, writeBack } = await mockSetup({ client, writeBack: { uploadDelayMs: 60_000, hostName: 'h' } });
      await writeFile(fs, '/n.txt', checksums ? 'ours' : 'same');
      client.serverPut('n.txt', checksums ? 'them' : 'same');
      await writeBack.drain();
      expect(Object.keys(serverFiles(client, 'n'))).toHaveLength(2);
      expect(writeBack.status().conflictCount).toBe(1);
    }
  });

  it('a file renamed over a server file before its upload, then removed or renamed away: the server version it replaced goes too (it never shows again)', async () => {
    const client = new MockFilesClient();
    for (const name of ['m', 'd1', 'k1']) client.serverPut(`res/${name}`, 'v1');
    const { fs, writeBack } = await mockSetup({ client, writeBack: { uploadDelayMs: 60_000 } });
    // git's lock files, an editor's rename-save: write beside, rename over, then remove or rename again.
    await writeFile(fs, '/res/m.lock', 'v2');
    await fs.rename('/res/m.lock', '/res/m');
    await fs.unlink('/res/m');
    await writeFile(fs, '/res/d1.tmp', 'v2');
    await fs.rename('/res/d1.tmp', '/res/d1');
    await fs.rename('/res/d1', '/res/d2');
    await writeFile(fs, '/res/k1.tmp', 'v2');
    await fs.rename('/res/k1.tmp', '/res/k1');
    await fs.rename('/res/k1', '/res/k1.bak');
    await writeFile(fs, '/res/k1', 'v3');
    await writeBack.drain();
    expect(serverFiles(client, 'res/')).toEqual({ 'res/d2': 'v2', 'res/k1': 'v3', 'res/k1.bak': 'v2' });
    expect(writeBack.status().conflictCount).toBe(0);
    expect((await fs.readdir('/res')).map((e) => e.name).filter((n) => n !== '.' && n !== '..').sort()).toEqual(['d2', 'k1', 'k1.bak']);
  });

  it('a server version replaced here but changed elsewhere before the replacement is removed: theirs stays', async () => {
    const client = new MockFilesClient();
    client.serverPut('m', 'v1');
    const { fs, writeBack, logs } = await mockSetup({ client, writeBack: { uploadDelayMs: 60_000 } });
    await writeFile(fs, '/m.lock', 'v2');
    await fs.rename('/m.lock', '/m');
    client.serverPut('m', 'v3, saved elsewhere');
    await fs.unlink('/m');
    await writeBack.drain();
    expect(serverFiles(client, '')).toEqual({ m: 'v3, saved elsewhere' });
    expect(logs.some((l) => l.includes('WARN') && l.includes("m changed on the server since this mount replaced it here; the server's version stays"))).toBe(true);
  });

  it('our own uploads one after another never conflict with each other', async () => {
    const { fs, client, writeBack } = await mockSetup({ writeBack: { uploadDelayMs: 0 } });
    for (let i = 1; i <= 4; i++) {
      await writeFile(fs, '/mine.txt', `version ${i}`);
      await until(() => client.serverStat('mine.txt') !== null && client.serverRead('mine.txt').toString() === `version ${i}`, 5_000, `version ${i}`);
    }
    const fh = await fs.open('/mine.txt', O_WRONLY | O_APPEND);
    await fs.write('/mine.txt', fh, Buffer.from('+'), 0);
    await fs.release('/mine.txt', fh);
    await writeBack.drain();
    expect(serverFiles(client, 'mine')).toEqual({ 'mine.txt': 'version 4+' });
    expect(writeBack.status().conflictCount).toBe(0);
  });
});

describe('--on-conflict', () => {
  it('local-wins: the last upload wins, without a check', async () => {
    const client = new MockFilesClient();
    client.serverPut('f.txt', 'original');
    const { fs, writeBack } = await mockSetup({ client, writeBack: { uploadDelayMs: 60_000, onConflict: 'local-wins' } });
    await writeFile(fs, '/f.txt', 'mine');
    client.serverPut('f.txt', 'theirs');
    const stats = client.counts.stat;
    await writeBack.drain();
    expect(serverFiles(client, 'f')).toEqual({ 'f.txt': 'mine' });
    expect(client.counts.stat).toBe(stats);
  });

  it('remote-wins: the local change is dropped, logged, and listed in status', async () => {
    const client = new MockFilesClient();
    client.serverPut('f.txt', 'original');
    const { fs, writeBack, logs } = await mockSetup({ client, writeBack: { uploadDelayMs: 60_000, onConflict: 'remote-wins' } });
    await writeFile(fs, '/f.txt', 'mine');
    client.serverPut('f.txt', 'theirs');
    await writeBack.drain();
    expect(serverFiles(client, 'f')).toEqual({ 'f.txt': 'theirs' });
    expect(writeBack.status().conflicts[0]).toMatchObject({ path: '/f.txt', copy: null });
    expect(logs.some((l) => l.includes('remote-wins'))).toBe(true);
    expect((await readAll(fs, '/f.txt')).toString()).toBe('theirs');
  });
});

describe('our own rewrites and the content cache', () => {
  it('a rewrite of the same size within the same second: reads show the new bytes, not the cached old ones, and after a remount too', async () => {
    const second = Date.UTC(2026, 11, 8, 1, 2, 3);
    const client = new MockFilesClient({ now: () => second });
    const cacheDir = cacheDirFor('rewrite');
    for (const [i, content] of ['AAAA', 'CCCC'].entries()) {
      const { fs, writeBack } = await mockSetup({ client, cacheDir, writeBack: { uploadDelayMs: 0 }, fs: { clock: () => second } });
      if (i === 1) expect((await readAll(fs, '/p.txt')).toString()).toBe('AAAA'); // cached by the first mount
      await writeFile(fs, '/p.txt', content);
      await writeBack.drain();
      await until(() => writeBack.status().pendingUploads === 0, 5_000, 'the upload leaves the pending set');
      expect(client.serverRead('p.txt').toString()).toBe(content);
      expect((await readAll(fs, '/p.txt')).toString()).toBe(content);
      await writeBack.close();
    }
    const { fs } = await mockSetup({ client, cacheDir, fs: { clock: () => second } });
    expect((await readAll(fs, '/p.txt')).toString()).toBe('CCCC');
  });
});
