// Case- and accent-insensitive, case-preserving paths (docs/semantics.md, "Paths and names").
import { describe, expect, it } from 'vitest';
import { expectErrno, O_RDONLY, readAll, setup } from './helpers.js';

describe('case and accent variants', () => {
  it('getattr and open of any case or accent variant find the file', async () => {
    const { fs, client } = setup();
    client.serverPut('Reports/Q1.pdf', 'quarter one');
    client.serverPut('Réunion/Café.txt', 'coffee');
    expect((await fs.getattr('/REPORTS/q1.PDF')).size).toBe(11);
    expect((await fs.getattr('/reports/Q1.pdf')).size).toBe(11);
    expect((await readAll(fs, '/reports/q1.pdf')).toString()).toBe('quarter one');
    expect((await fs.getattr('/reunion/cafe.txt')).size).toBe(6);
    expect((await fs.getattr('/RÉUNION/CAFÉ.TXT')).size).toBe(6);
  });

  it('variants share cache entries: one request for all of them', async () => {
    const { fs, client } = setup();
    client.serverPut('Straße.txt', 'x');
    await fs.getattr('/Straße.txt');
    await fs.getattr('/STRASSE.TXT');
    await fs.getattr('/strasse.txt');
    expect(client.counts.stat).toBe(1);
  });

  it('a variant is found in a fresh listing without a request, and readdir shows the server names', async () => {
    const { fs, client } = setup();
    client.serverPut('Docs/ReadMe.MD', 'x');
    expect((await fs.readdir('/DOCS')).map((e) => e.name)).toEqual(['ReadMe.MD']);
    expect((await fs.readdir('/')).map((e) => e.name)).toEqual(['Docs']);
    client.resetCounts();
    expect((await fs.getattr('/docs/readme.md')).kind).toBe('file');
    expect(client.requests).toBe(0);
  });

  it('never shows two entries for one file: a duplicate in a listing is dropped and logged', async () => {
    const { fs, client, logs } = setup();
    client.serverPut('d/a.txt', 'first');
    client.serverPutDuplicate('d/A.TXT', 'dup');
    const names = (await fs.readdir('/d')).map((e) => e.name);
    expect(names).toHaveLength(1);
    expect(logs.some((l) => l.includes('WARN') && l.includes('same path'))).toBe(true);
  });

  it('skips names longer than 255 bytes in readdir, with one warning', async () => {
    const { fs, client, logs } = setup();
    const long = 'é'.repeat(200); // 200 characters, 400 bytes: fine for Files.com, not for Linux
    client.serverPut(`d/${long}`, 'x');
    client.serverPut('d/short', 'y');
    expect((await fs.readdir('/d')).map((e) => e.name)).toEqual(['short']);
    await fs.readdir('/d');
    expect(logs.filter((l) => l.includes('WARN') && l.includes('255')).length).toBe(1);
  });

  it('mkdir of a name that exists in another case is EEXIST', async () => {
    const { fs, client } = setup();
    client.serverMkdirs('Photos');
    await fs.getattr('/photos');
    await expectErrno(fs.mkdir('/PHOTOS', 0o755), 'EEXIST');
    expect(client.counts.mkdir).toBe(0);
  });

  it('a case-only rename works (server move), and the new name shows at once', async () => {
    const { fs, client } = setup();
    client.serverPut('d/a.txt', 'content');
    await fs.readdir('/d');
    await fs.rename('/d/a.txt', '/d/A.txt');
    expect(client.counts.move).toBe(1);
    expect(client.calls.find((c) => c.method === 'move')!.args[1]).toEqual({ overwrite: false });
    expect(client.serverPaths()).toEqual(['d', 'd/A.txt']);
    client.resetCounts();
    expect((await fs.readdir('/d')).map((e) => e.name)).toEqual(['A.txt']);
    expect((await readAll(fs, '/d/a.TXT')).toString()).toBe('content');
  });

  it('a case-only rename goes through a temporary name when the server refuses it directly', async () => {
    const { fs, client } = setup({}, { caseOnlyMove: 'refuse' });
    client.serverMkdirs('Music/Old');
    client.serverPut('Music/Old/song.mp3', 'la la');
    await fs.rename('/Music/Old', '/Music/OLD');
    expect(client.counts.move).toBe(3);
    expect(client.serverPaths()).toEqual(['Music', 'Music/OLD', 'Music/OLD/song.mp3']);
    expect((await fs.readdir('/music')).map((e) => e.name)).toEqual(['OLD']);
    expect((await readAll(fs, '/music/old/SONG.mp3')).toString()).toBe('la la');
  });

  it('rename to exactly the same name is a no-op', async () => {
    const { fs, client } = setup();
    client.serverPut('a.txt', 'x');
    await fs.rename('/a.txt', '/a.txt');
    expect(client.counts.move).toBe(0);
  });

  it('open for reading of a variant reads the server file (not a new one)', async () => {
    const { fs, client } = setup();
    client.serverPut('Mixed/Case.BIN', 'bytes');
    const fh = await fs.open('/mixed/case.bin', O_RDONLY);
    const buf = Buffer.alloc(10);
    expect(await fs.read('/mixed/case.bin', fh, buf, 0)).toBe(5);
    expect(client.ranges[0]!.path).toBe('Mixed/Case.BIN');
  });
});

describe('names the server refuses fail locally, before any request', () => {
  it.each([
    ['/bad ', 'EINVAL'],
    ['/tab\t', 'EINVAL'],
    ['/back\\slash', 'EINVAL'],
    ['/' + 'x'.repeat(513), 'ENAMETOOLONG'],
  ])('mkdir %j → %s', async (path, code) => {
    const { fs, client } = setup();
    await expectErrno(fs.mkdir(path, 0o755), code);
    expect(client.requests).toBe(0);
  });

  it('rename to a refused name fails with EINVAL', async () => {
    const { fs, client } = setup();
    client.serverPut('a', 'x');
    await expectErrno(fs.rename('/a', '/b '), 'EINVAL');
    expect(client.counts.move).toBe(0);
  });

  it('create with a refused name fails with EINVAL before EROFS', async () => {
    const { fs, client } = setup();
    await expectErrno(fs.create('/x ', 0o644, 0o100 | 1), 'EINVAL');
    expect(client.requests).toBe(0);
  });

  it('names that were not valid UTF-8 (the binding hands them over with U+FFFD) are refused, so two never merge', async () => {
    const { fs, client } = setup();
    client.serverPut('a', 'x');
    // open(b'bad\xff.txt') and open(b'bad\xfe.txt') both arrive as "bad\uFFFD.txt".
    await expectErrno(fs.create('/bad\uFFFD.txt', 0o644, 0o100 | 1), 'EINVAL');
    await expectErrno(fs.mkdir('/dir\uFFFD', 0o755), 'EINVAL');
    await expectErrno(fs.rename('/a', '/b\uFFFD'), 'EINVAL');
    expect(client.requests).toBe(0);
  });
});
