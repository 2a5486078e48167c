// A shared site (mock client): a local change never silently replaces a
// server version it did not start from. Each change remembers its base (what
// the server had, or nothing); right before an upload publishes, the server
// must still have it, else both versions are kept (a conflict copy), or the
// --on-conflict policy says otherwise.
import { describe, expect, it } from 'vitest';
import { conflictPath } from '../../../src/vfs/write-back/conflict.js';
import { MockFilesClient } from '../../support/mock-files-client.js';
import { readAll } from '../helpers.js';
import { mockSetup, O_APPEND, O_WRONLY, until, writeFile } from './helpers.js';

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
    const client = new MockFilesClient();
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
