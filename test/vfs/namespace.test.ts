// mkdir, rmdir, unlink, rename, utimens, chmod/chown, statfs, access.
import { describe, expect, it } from 'vitest';
import { FolderNotEmptyError, NetworkError, NotFoundError } from '../../src/client/errors.js';
import { expectErrno, readAll, setup } from './helpers.js';

describe('mkdir', () => {
  it('creates a folder on the server, one level at a time (mkdir -p)', async () => {
    const { fs, client } = setup();
    for (const p of ['/a', '/a/b', '/a/b/c']) {
      await expectErrno(fs.getattr(p), 'ENOENT'); // the kernel looks up before mkdir
      await fs.mkdir(p, 0o755);
    }
    expect(client.serverPaths()).toEqual(['a', 'a/b', 'a/b/c']);
    expect(client.calls.filter((c) => c.method === 'mkdir').map((c) => c.args[0])).toEqual([{ parents: false }, { parents: false }, { parents: false }]);
  });

  it('EEXIST for an existing name, known locally or answered by the server', async () => {
    const { fs, client } = setup();
    client.serverMkdirs('x');
    await fs.getattr('/x');
    await expectErrno(fs.mkdir('/x', 0o755), 'EEXIST');
    expect(client.counts.mkdir).toBe(0);
    // Created elsewhere after we cached "missing": the server's refusal passes through.
    await expectErrno(fs.getattr('/y'), 'ENOENT');
    client.serverMkdirs('Y');
    await expectErrno(fs.mkdir('/y', 0o755), 'EEXIST');
    expect((await fs.getattr('/y')).kind).toBe('directory'); // and the cache learnt it
  });

  it('ENOENT when the parent is missing, ENOTDIR when it is a file', async () => {
    const { fs, client } = setup();
    client.serverPut('file', 'x');
    await expectErrno(fs.mkdir('/nope/sub', 0o755), 'ENOENT');
    await expectErrno(fs.mkdir('/file/sub', 0o755), 'ENOTDIR');
    expect(client.counts.mkdir).toBe(0);
  });

  it('uses the server spelling of the parent', async () => {
    const { fs, client } = setup();
    client.serverMkdirs('Parent');
    await fs.mkdir('/PARENT/child', 0o755);
    expect(client.calls.find((c) => c.method === 'mkdir')!.path).toBe('Parent/child');
  });
});

describe('rmdir', () => {
  it('removes an empty folder', async () => {
    const { fs, client } = setup();
    client.serverMkdirs('e');
    await fs.rmdir('/e');
    expect(client.serverPaths()).toEqual([]);
  });

  it('ENOTEMPTY known locally from a fresh listing, without a request', async () => {
    const { fs, client } = setup();
    client.serverPut('full/x', '1');
    await fs.readdir('/full');
    await expectErrno(fs.rmdir('/full'), 'ENOTEMPTY');
    expect(client.counts.delete).toBe(0);
  });

  it('ENOTEMPTY from the server (the folder filled elsewhere), and the listing is refreshed', async () => {
    const { fs, client } = setup();
    client.serverMkdirs('full');
    expect(await fs.readdir('/full')).toEqual([]);
    client.serverPut('full/late', '1');
    const err = await fs.rmdir('/full').catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'ENOTEMPTY' });
    expect((err as Error).cause).toBeInstanceOf(FolderNotEmptyError);
    expect((await fs.readdir('/full')).map((e) => e.name)).toEqual(['late']);
  });

  it('ENOTDIR on a file, ENOENT when missing, EBUSY on the mount root', async () => {
    const { fs, client } = setup();
    client.serverPut('f', '1');
    await expectErrno(fs.rmdir('/f'), 'ENOTDIR');
    await expectErrno(fs.rmdir('/missing'), 'ENOENT');
    await expectErrno(fs.rmdir('/'), 'EBUSY');
  });
});

describe('unlink', () => {
  it('deletes a file on the server', async () => {
    const { fs, client } = setup();
    client.serverPut('d/f', '1');
    await fs.unlink('/d/F');
    expect(client.serverPaths()).toEqual(['d']);
  });

  it('EISDIR on a folder, ENOENT when missing', async () => {
    const { fs, client } = setup();
    client.serverMkdirs('d');
    await expectErrno(fs.unlink('/d'), 'EISDIR');
    await expectErrno(fs.unlink('/missing'), 'ENOENT');
    expect(client.counts.delete).toBe(0);
  });

  it('a file deleted elsewhere meanwhile: ENOENT, and the cache forgets it', async () => {
    const { fs, client } = setup();
    client.serverPut('f', '1');
    await fs.getattr('/f');
    client.serverDelete('f');
    await expectErrno(fs.unlink('/f'), 'ENOENT');
    client.resetCounts();
    await expectErrno(fs.getattr('/f'), 'ENOENT');
    expect(client.requests).toBe(0);
  });
});

describe('rename', () => {
  it('moves a file to a new name and folder', async () => {
    const { fs, client } = setup();
    client.serverPut('a/x.txt', 'data');
    client.serverMkdirs('b');
    await fs.rename('/a/x.txt', '/b/y.txt');
    expect(client.serverPaths()).toEqual(['a', 'b', 'b/y.txt']);
    client.resetCounts();
    await expectErrno(fs.getattr('/a/x.txt'), 'ENOENT');
    expect((await fs.getattr('/b/y.txt')).size).toBe(4);
    expect(client.requests).toBe(0);
  });

  it('replaces an existing file (POSIX), with overwrite', async () => {
    const { fs, client } = setup();
    client.serverPut('src', 'new');
    client.serverPut('dst', 'old content');
    await fs.rename('/src', '/dst');
    expect(client.calls.find((c) => c.method === 'move')!.args[1]).toEqual({ overwrite: true });
    expect(client.serverRead('dst').toString()).toBe('new');
    expect((await fs.getattr('/dst')).size).toBe(3);
    expect((await readAll(fs, '/dst')).toString()).toBe('new');
  });

  it('replaces an existing file that differs only in case', async () => {
    const { fs, client } = setup();
    client.serverPut('x.txt', 'new');
    client.serverPut('a.txt', 'old');
    await fs.rename('/x.txt', '/A.TXT');
    expect(client.serverPaths()).toEqual(['A.TXT']);
    expect((await fs.readdir('/')).map((e) => e.name)).toEqual(['A.TXT']);
  });

  it('moves a folder with its content; everything cached below the old path is forgotten', async () => {
    const { fs, client } = setup();
    client.serverPut('old/sub/f.txt', 'deep');
    await fs.readdir('/old');
    await fs.readdir('/old/sub');
    await fs.getattr('/old/sub/f.txt');
    await expectErrno(fs.getattr('/new'), 'ENOENT');
    await fs.rename('/old', '/new');
    expect(client.serverPaths()).toEqual(['new', 'new/sub', 'new/sub/f.txt']);
    client.resetCounts();
    await expectErrno(fs.getattr('/old/sub/f.txt'), 'ENOENT');
    await expectErrno(fs.readdir('/old/sub'), 'ENOENT');
    expect(client.requests).toBe(0);
    expect((await readAll(fs, '/new/sub/f.txt')).toString()).toBe('deep');
    expect((await fs.readdir('/')).map((e) => e.name)).toEqual(['new']);
  });

  it('replaces an empty folder with a folder', async () => {
    const { fs, client } = setup();
    client.serverPut('src/f', '1');
    client.serverMkdirs('dst');
    await fs.rename('/src', '/dst');
    expect(client.serverPaths()).toEqual(['dst', 'dst/f']);
  });

  it('onto a non-empty folder: ENOTEMPTY', async () => {
    const { fs, client } = setup();
    client.serverMkdirs('src');
    client.serverPut('dst/keep', '1');
    await expectErrno(fs.rename('/src', '/dst'), 'ENOTEMPTY');
    expect(client.counts.move + client.counts.delete).toBe(0);
  });

  it('a file onto a folder: EISDIR; a folder onto a file: ENOTDIR', async () => {
    const { fs, client } = setup();
    client.serverPut('file', '1');
    client.serverMkdirs('dir');
    await expectErrno(fs.rename('/file', '/dir'), 'EISDIR');
    await expectErrno(fs.rename('/dir', '/file'), 'ENOTDIR');
    expect(client.counts.move).toBe(0);
  });

  it('a folder into itself: EINVAL; a missing source: ENOENT; a missing target parent: ENOENT', async () => {
    const { fs, client } = setup();
    client.serverMkdirs('a/b');
    await expectErrno(fs.rename('/a', '/a/b/c'), 'EINVAL');
    await expectErrno(fs.rename('/missing', '/x'), 'ENOENT');
    await expectErrno(fs.rename('/a', '/nope/a'), 'ENOENT');
    expect(client.counts.move).toBe(0);
  });

  it('an open read handle keeps reading after its file is renamed', async () => {
    const { fs, client } = setup();
    client.serverPut('a.bin', 'x'.repeat(3_000_000));
    const fh = await fs.open('/a.bin', 0);
    const buf = Buffer.alloc(10);
    await fs.read('/a.bin', fh, buf, 0);
    await fs.rename('/a.bin', '/b.bin');
    expect(await fs.read('/b.bin', fh, buf, 2_900_000)).toBe(10);
    expect(client.ranges.at(-1)!.path).toBe('b.bin');
  });
});

describe('utimens, chmod, chown', () => {
  it('utimens with a null mtime changes nothing; on a missing path ENOENT', async () => {
    const { fs, client } = setup();
    client.serverPut('f', '1');
    await fs.utimens('/f', new Date(), null);
    expect(client.counts.setMtime).toBe(0);
    await expectErrno(fs.utimens('/missing', null, new Date()), 'ENOENT');
  });

  it('utimens on a folder sets its time too', async () => {
    const { fs, client } = setup();
    client.serverMkdirs('d');
    const when = new Date('2020-01-01T00:00:00Z');
    await fs.utimens('/d', null, when);
    expect((await fs.getattr('/d')).mtime).toEqual(when);
  });

  it('chmod and chown to what the entry shows cost no request; ENOENT when missing', async () => {
    const { fs, client } = setup();
    client.serverPut('f', '1');
    await fs.getattr('/f');
    client.resetCounts();
    await fs.chmod('/f', 0o644);
    await fs.chown('/f', 1000, -1);
    await fs.chown('/f', -1, -1);
    expect(client.requests).toBe(0);
    await expectErrno(fs.chmod('/missing', 0o600), 'ENOENT');
  });

  it('with posix metadata off, chmod and chown are accepted without effect or request (cp -a)', async () => {
    const { fs, client } = setup({ posixMetadata: false });
    client.serverPut('f', '1');
    await fs.getattr('/f');
    client.resetCounts();
    await fs.chmod('/f', 0o600);
    await fs.chown('/f', 0, 0);
    expect(client.requests).toBe(0);
    expect((await fs.getattr('/f')).permissions).toBe(0o644);
    await expectErrno(fs.chmod('/missing', 0o600), 'ENOENT');
  });
});

describe('statfs and access', () => {
  it('statfs reports large values without a request', async () => {
    const { fs, client } = setup();
    const s = await fs.statfs('/');
    expect(s.blockSize * s.totalBlocks).toBe(2 ** 50); // 1 PiB
    expect(s.freeBlocks).toBe(s.totalBlocks);
    expect(s.maxNameLength).toBe(255);
    for (const v of Object.values(s)) expect(v).toBeLessThanOrEqual(0xffff_ffff); // fuse-native sends uint32
    expect(client.requests).toBe(0);
  });

  it('access: F_OK finds, W_OK is EROFS on a read-only mount, X_OK on a file is EACCES', async () => {
    const { fs, client } = setup();
    client.serverPut('f', '1');
    client.serverMkdirs('d');
    await fs.access('/f', 0);
    await fs.access('/f', 4 | 2);
    await fs.access('/d', 1);
    await expectErrno(fs.access('/f', 1), 'EACCES');
    await expectErrno(fs.access('/missing', 0), 'ENOENT');
    const ro = setup({ readOnly: true });
    ro.client.serverPut('f', '1');
    await ro.fs.access('/f', 4);
    await expectErrno(ro.fs.access('/f', 2), 'EROFS');
  });
});

describe('read-only mount', () => {
  it('refuses every change with EROFS, after ENOENT/EEXIST', async () => {
    const { fs, client } = setup({ readOnly: true });
    client.serverPut('f', '1');
    client.serverMkdirs('d');
    await expectErrno(fs.mkdir('/new', 0o755), 'EROFS');
    await expectErrno(fs.mkdir('/d', 0o755), 'EEXIST');
    await expectErrno(fs.rmdir('/d'), 'EROFS');
    await expectErrno(fs.unlink('/f'), 'EROFS');
    await expectErrno(fs.unlink('/missing'), 'ENOENT');
    await expectErrno(fs.rename('/f', '/g'), 'EROFS');
    await expectErrno(fs.utimens('/f', null, new Date()), 'EROFS');
    await expectErrno(fs.chmod('/f', 0o600), 'EROFS');
    expect(client.requests - client.counts.stat - client.counts.list).toBe(0);
    expect((await fs.getattr('/f')).permissions).toBe(0o444);
  });
});

describe('remote root', () => {
  it('shows a remote folder as the mount root', async () => {
    const { fs, client } = setup({ remoteRoot: '/Team/Share' });
    client.serverPut('Team/Share/a.txt', 'in');
    client.serverPut('Team/outside.txt', 'out');
    expect((await fs.readdir('/')).map((e) => e.name)).toEqual(['a.txt']);
    expect((await readAll(fs, '/A.TXT')).toString()).toBe('in');
    await expectErrno(fs.getattr('/outside.txt'), 'ENOENT');
    await fs.mkdir('/sub', 0o755);
    expect(client.serverPaths()).toContain('Team/Share/sub');
    await expectErrno(fs.rmdir('/'), 'EBUSY');
  });

  it('a missing remote root is ENOENT for the mount root', async () => {
    const { fs } = setup({ remoteRoot: 'nope' });
    await expectErrno(fs.getattr('/'), 'ENOENT');
  });
});

describe('errors from the client become the errno the table chooses', () => {
  it('a FilesError from the server leaves the layer as an FsError with its errno and the FilesError as cause, logged once', async () => {
    const { fs, client, logs } = setup();
    client.serverPut('f', '1');
    client.serverPut('g', '1');
    const boom = new NotFoundError({ message: 'gone', status: 404, type: 'not-found' });
    client.failNext('delete', boom);
    expect(await fs.unlink('/f').catch((e: unknown) => e)).toMatchObject({ code: 'ENOENT' });
    const err = new NetworkError({ message: 'socket hang up', operation: 'PATCH /files/g' });
    client.failNext('setMtime', err);
    const failure = await fs.utimens('/g', null, new Date()).catch((e: unknown) => e);
    expect(failure).toMatchObject({ code: 'EIO', unexpected: true });
    expect((failure as Error).cause).toBe(err);
    // The unexpected failure is one warning with the client's details; the ordinary ENOENT is a debug line.
    expect(logs.filter((l) => l.includes('socket hang up'))).toHaveLength(1);
    expect(logs.filter((l) => l.includes('WARN'))).toHaveLength(1);
    expect(logs.filter((l) => l.includes('WARN'))[0]).toMatch(/utimens "\/g": EIO failed: socket hang up \[kind network, PATCH \/files\/g\]/);
  });
});
