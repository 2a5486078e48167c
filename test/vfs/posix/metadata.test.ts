// POSIX metadata and extended attributes through the filesystem layer, on
// the mock server with write-back: what each operation costs in requests,
// what the server ends up with, and what every mount then shows.
import { constants } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { describe, expect, it } from 'vitest';
import type { RemoteEntry, UploadOptions, UploadSource } from '../../../src/client/files-client.js';
import { KEYS, makeDevice } from '../../../src/vfs/posix/posix-metadata.js';
import { XATTR_CREATE } from '../../../src/vfs/filesystem-api.js';
import { FilesFilesystem } from '../../../src/vfs/filesystem.js';
import { MockFilesClient } from '../../support/mock-files-client.js';
import { expectErrno, setup } from '../helpers.js';
import { mockSetup, O_CREAT, O_RDONLY, O_RDWR, O_WRONLY, until, writeFile } from '../write-back/helpers.js';

const nobody = { uid: 65534, gid: 65534 };

describe('modes and owners of entries on the server', () => {
  it('chmod and chown are one PATCH each, shown at once and by every mount; back to the default removes the key', async () => {
    const { fs, client } = setup();
    client.serverPut('f', 'x');
    client.serverMkdirs('d');
    await fs.readdir('/');
    client.resetCounts();
    await fs.chmod('/f', 0o4750);
    await fs.chown('/f', 0, 42);
    await fs.chmod('/d', 0o1777);
    expect(client.counts.update).toBe(3);
    expect(client.requests).toBe(3);
    expect(await fs.getattr('/f')).toMatchObject({ permissions: 0o4750, uid: 0, gid: 42 });
    expect(await fs.getattr('/d')).toMatchObject({ kind: 'directory', permissions: 0o1777 });
    expect(client.serverStat('f')!.customMetadata).toEqual({ [KEYS.mode]: '4750', [KEYS.uid]: '0', [KEYS.gid]: '42' });

    // Another mount of the site (same defaults) shows the same.
    const otherFs = new FilesFilesystem(client, { uid: 1000, gid: 1000 });
    expect(await otherFs.getattr('/f')).toMatchObject({ permissions: 0o4750, uid: 0, gid: 42 });

    await fs.chmod('/f', 0o644);
    await fs.chown('/f', 1000, 1000);
    expect(client.serverStat('f')!.customMetadata).toEqual({});
  });

  it('keeps keys set by others (the web app) when changing the mode', async () => {
    const { fs, client } = setup();
    client.serverPut('f', 'x');
    client.serverSetMetadata('f', { department: 'sales' });
    await fs.chmod('/f', 0o600);
    expect(client.serverStat('f')!.customMetadata).toEqual({ department: 'sales', [KEYS.mode]: '0600' });
  });

  it('ls -l costs the listing only: modes, owners and types come with it', async () => {
    const { fs, client } = setup({}, { defaultPerPage: 1000 });
    for (let i = 0; i < 50; i++) client.serverPut(`big/f${i}`, 'x');
    client.serverSetMetadata('big/f7', { [KEYS.mode]: '0755', [KEYS.uid]: '0' });
    client.serverSetMetadata('big/f8', { [KEYS.type]: 'symlink', [KEYS.target]: 'f' });
    await fs.getattr('/big'); // the kernel's lookup of the folder, before ls lists it
    client.resetCounts();
    const entries = await fs.readdir('/big');
    for (const e of entries) await fs.getattr(`/big/${e.name}`);
    expect(client.requests).toBe(1);
    const byName = new Map(entries.map((e) => [e.name, e.attributes]));
    expect(byName.get('f7')).toMatchObject({ permissions: 0o755, uid: 0 });
    expect(byName.get('f8')).toMatchObject({ kind: 'symlink', permissions: 0o777 });
    expect(await fs.readlink('/big/f8')).toBe('f');
    expect(client.requests).toBe(1);
  });

  it('mkdir with a mode or by another user: the folder, then one PATCH; with the defaults, one request', async () => {
    const { fs, client } = setup();
    await fs.mkdir('/plain', 0o755);
    expect(client.counts.mkdir).toBe(1);
    expect(client.counts.update).toBe(0);
    await fs.mkdir('/private', 0o700, nobody);
    expect(client.counts.update).toBe(1);
    expect(await fs.getattr('/private')).toMatchObject({ permissions: 0o700, uid: 65534, gid: 65534 });
    expect(client.serverStat('private')!.customMetadata).toEqual({ [KEYS.mode]: '0700', [KEYS.uid]: '65534', [KEYS.gid]: '65534' });
  });

  it('a folder with the set-group-ID bit gives its group to what is created in it, and the bit to new folders', async () => {
    const { fs, client } = setup();
    await fs.mkdir('/shared', 0o755);
    await fs.chown('/shared', -1, 500);
    await fs.chmod('/shared', 0o2775);
    await fs.mkdir('/shared/sub', 0o755, nobody);
    expect(await fs.getattr('/shared/sub')).toMatchObject({ permissions: 0o2755, uid: 65534, gid: 500 });
    expect(client.serverStat('shared/sub')!.customMetadata?.[KEYS.gid]).toBe('500');
  });

  it('with posix metadata off, nothing is read from the metadata and symbolic links and special files are EPERM', async () => {
    const { fs, client } = await mockSetup({ fs: { posixMetadata: false } });
    client.serverPut('f', 'x');
    client.serverSetMetadata('f', { [KEYS.mode]: '0755', [KEYS.uid]: '0' });
    expect(await fs.getattr('/f')).toMatchObject({ kind: 'file', permissions: 0o644, uid: 1000 });
    await expectErrno(fs.symlink('f', '/l'), 'EPERM');
    await expectErrno(fs.mknod('/p', constants.S_IFIFO | 0o644, 0), 'EPERM');
    await fs.mknod('/r', constants.S_IFREG | 0o755, 0);
    await fs.mkdir('/d', 0o700, nobody);
    expect(client.counts.update).toBe(0);
  });
});

describe('files with local changes: the metadata travels with the upload', () => {
  it('a new file created with a mode by another user: uploaded, then one PATCH; nothing extra for a default file', async () => {
    const { fs, client, writeBack } = await mockSetup();
    await writeFile(fs, '/plain.txt', 'a');
    const fh = await fs.create('/run.sh', 0o755, O_CREAT | O_WRONLY, nobody);
    await fs.write('/run.sh', fh, Buffer.from('#!/bin/sh\n'), 0);
    await fs.release('/run.sh', fh);
    expect(await fs.getattr('/run.sh')).toMatchObject({ permissions: 0o755, uid: 65534, gid: 65534 });
    await writeBack.drain();
    expect(client.counts.upload).toBe(2);
    expect(client.counts.update).toBe(1);
    expect(client.serverStat('run.sh')!.customMetadata).toEqual({ [KEYS.mode]: '0755', [KEYS.uid]: '65534', [KEYS.gid]: '65534' });
    expect(client.serverStat('plain.txt')!.customMetadata).toEqual({});
  });

  it('chmod of a pending file (tar: write, close, chmod) makes no request of its own', async () => {
    const { fs, client, writeBack } = await mockSetup({ writeBack: { uploadDelayMs: 60_000 } });
    await writeFile(fs, '/tool', 'bin');
    client.resetCounts();
    await fs.chmod('/tool', 0o700);
    await fs.chown('/tool', 0, 0);
    await fs.setxattr('/tool', 'user.origin', Buffer.from('tar'), 0);
    expect(client.requests).toBe(0);
    expect(await fs.getattr('/tool')).toMatchObject({ permissions: 0o700, uid: 0, gid: 0 });
    expect((await fs.getxattr('/tool', 'user.origin')).toString()).toBe('tar');
    await writeBack.drain();
    expect(client.counts.upload).toBe(1);
    expect(client.counts.update).toBe(1);
    expect(client.serverStat('tool')!.customMetadata).toEqual({ [KEYS.mode]: '0700', [KEYS.uid]: '0', [KEYS.gid]: '0', origin: 'tar' });
  });

  it('a chmod racing the last close (the kernel sends release after close returns) is kept, never dropped', async () => {
    const { fs, client, writeBack, logs } = await mockSetup({ writeBack: { uploadDelayMs: 60_000 } });
    for (let i = 0; i < 20; i++) {
      const path = `/f${i}`;
      const fh = await fs.create(path, 0o644, O_CREAT | O_WRONLY);
      await fs.write(path, fh, Buffer.from('data'), 0);
      await fs.flush(path, fh);
      await Promise.all([fs.release(path, fh), fs.chmod(path, 0o751), fs.utimens(path, null, new Date(Date.UTC(2000, 0, 1)))]);
      expect(await fs.getattr(path)).toMatchObject({ permissions: 0o751, mtime: new Date(Date.UTC(2000, 0, 1)) });
    }
    await writeBack.drain();
    for (let i = 0; i < 20; i++) expect(client.serverStat(`f${i}`)!.customMetadata).toEqual({ [KEYS.mode]: '0751' });
    expect(logs.filter((l) => l.includes('dropped'))).toEqual([]);
  });

  it('a change of metadata only, after the bytes landed, is one PATCH (with the mtime)', async () => {
    const { fs, client, writeBack } = await mockSetup();
    client.serverPut('doc', 'v1');
    const fh = await fs.open('/doc', O_RDWR);
    await fs.chmod('/doc', 0o600);
    await fs.release('/doc', fh);
    await writeBack.drain();
    expect(client.counts.upload).toBe(0);
    expect(client.counts.update).toBe(1);
    expect(client.serverStat('doc')!.customMetadata).toEqual({ [KEYS.mode]: '0600' });
  });

  it('an edited file keeps its mode: no PATCH when the server kept the metadata, one when it dropped it', async () => {
    for (const uploadKeepsMetadata of [true, false]) {
      const { fs, client, writeBack } = await mockSetup({ mock: { uploadKeepsMetadata } });
      client.serverPut('bin/tool', 'v1');
      client.serverSetMetadata('bin/tool', { [KEYS.mode]: '0755', note: 'keep me' });
      await writeFile(fs, '/bin/tool', 'v2');
      await writeBack.drain();
      expect(client.serverRead('bin/tool').toString()).toBe('v2');
      expect(client.serverStat('bin/tool')!.customMetadata).toEqual({ [KEYS.mode]: '0755', note: 'keep me' });
      expect(client.counts.update).toBe(uploadKeepsMetadata ? 0 : 1);
    }
  });

  it('the metadata of a pending file is journaled: after a crash it still reaches the server', async () => {
    const first = await mockSetup({ writeBack: { uploadDelayMs: 60_000 } });
    await writeFile(first.fs, '/script', 'echo');
    await first.fs.chmod('/script', 0o750);
    await first.writeBack.close(); // the mount stops without uploading
    expect(first.client.serverStat('script')).toBeNull();
    const again = await mockSetup({ cacheDir: first.cacheDir, client: first.client });
    expect(await again.fs.getattr('/script')).toMatchObject({ permissions: 0o750 });
    await again.writeBack.drain();
    expect(first.client.serverStat('script')!.customMetadata).toEqual({ [KEYS.mode]: '0750' });
  });
});

describe('symbolic links, FIFOs, sockets, device nodes', () => {
  it('a symbolic link is a file whose content is its target, typed in its metadata; readlink needs no request', async () => {
    const { fs, client, writeBack } = await mockSetup();
    await fs.symlink('../lib/libz.so.1', '/libz.so', nobody);
    expect(await fs.getattr('/libz.so')).toMatchObject({ kind: 'symlink', size: 16, permissions: 0o777, uid: 65534 });
    expect(await fs.readlink('/libz.so')).toBe('../lib/libz.so.1');
    await writeBack.drain();
    expect(client.serverRead('libz.so').toString()).toBe('../lib/libz.so.1');
    expect(client.serverStat('libz.so')!.customMetadata).toMatchObject({ [KEYS.type]: 'symlink', [KEYS.target]: '../lib/libz.so.1' });
    client.resetCounts();
    const fresh = new FilesFilesystem(client, { uid: 1000, gid: 1000 });
    expect(await fresh.readlink('/libz.so')).toBe('../lib/libz.so.1');
    expect(client.counts.readRange).toBe(0);
    await expectErrno(fs.readlink('/'), 'EINVAL');
    await expectErrno(fs.symlink('x', '/libz.so'), 'EEXIST');
  });

  it('a target too long for one metadata value, or a content edited elsewhere, is read from the content', async () => {
    const { fs, client, writeBack } = await mockSetup();
    const long = `${'deep/'.repeat(250)}target`;
    await fs.symlink(long, '/long');
    await writeBack.drain();
    expect(client.serverStat('long')!.customMetadata?.[KEYS.target]).toBeUndefined();
    expect(await fs.readlink('/long')).toBe(long);
    client.serverPut('edited', 'new/target');
    client.serverSetMetadata('edited', { [KEYS.type]: 'symlink', [KEYS.target]: 'old' });
    expect(await fs.readlink('/edited')).toBe('new/target');
  });

  it('mknod: FIFOs, sockets, char and block devices are empty files with their type (and device number)', async () => {
    const { fs, client, writeBack } = await mockSetup();
    await fs.mknod('/fifo', constants.S_IFIFO | 0o640, 0);
    await fs.mknod('/sock', constants.S_IFSOCK | 0o755, 0);
    await fs.mknod('/null', constants.S_IFCHR | 0o666, makeDevice(1, 3));
    await fs.mknod('/sda1', constants.S_IFBLK | 0o660, makeDevice(8, 1));
    await fs.mknod('/plain', constants.S_IFREG | 0o600, 0);
    expect(await fs.getattr('/fifo')).toMatchObject({ kind: 'fifo', permissions: 0o640, size: 0 });
    expect(await fs.getattr('/sock')).toMatchObject({ kind: 'socket', permissions: 0o755 });
    expect(await fs.getattr('/null')).toMatchObject({ kind: 'char-device', rdev: makeDevice(1, 3), permissions: 0o666 });
    expect(await fs.getattr('/sda1')).toMatchObject({ kind: 'block-device', rdev: makeDevice(8, 1) });
    expect(await fs.getattr('/plain')).toMatchObject({ kind: 'file', permissions: 0o600 });
    await expectErrno(fs.mknod('/fifo', constants.S_IFIFO | 0o640, 0), 'EEXIST');
    await writeBack.drain();
    expect(client.serverStat('null')!.customMetadata).toEqual({ [KEYS.type]: 'char', [KEYS.rdev]: '1:3', [KEYS.mode]: '0666' });
    expect(client.serverStat('fifo')!.customMetadata).toEqual({ [KEYS.type]: 'fifo', [KEYS.mode]: '0640' });
    expect(client.serverStat('sda1')!.customMetadata).toEqual({ [KEYS.type]: 'block', [KEYS.rdev]: '8:1', [KEYS.mode]: '0660' });
  });

  it('hard links stay refused', async () => {
    const { fs } = await mockSetup();
    await writeFile(fs, '/a', 'x');
    await expectErrno(fs.link('/a', '/b'), 'EPERM');
  });
});

describe('extended attributes', () => {
  it('user.* are custom_metadata keys: set is one PATCH, get and list cost nothing; the reserved keys are not listed', async () => {
    const { fs, client } = setup();
    client.serverPut('f', 'x');
    client.serverSetMetadata('f', { [KEYS.mode]: '0600', department: 'sales' });
    await fs.getattr('/f');
    client.resetCounts();
    await fs.setxattr('/f', 'user.project', Buffer.from('apollo'), XATTR_CREATE);
    expect(client.counts.update).toBe(1);
    expect(client.serverStat('f')!.customMetadata).toEqual({ [KEYS.mode]: '0600', department: 'sales', project: 'apollo' });
    client.resetCounts();
    expect(await fs.listxattr('/f')).toEqual(['user.department', 'user.project']);
    expect((await fs.getxattr('/f', 'user.project')).toString()).toBe('apollo');
    await expectErrno(fs.getxattr('/f', 'user.missing'), 'ENODATA');
    await expectErrno(fs.getxattr('/f', 'user.filesfs.mode'), 'ENODATA');
    await expectErrno(fs.setxattr('/f', 'user.project', Buffer.from('x'), XATTR_CREATE), 'EEXIST');
    expect(client.requests).toBe(0);
    await fs.removexattr('/f', 'user.department');
    expect(client.serverStat('f')!.customMetadata).toEqual({ [KEYS.mode]: '0600', project: 'apollo' });
    await expectErrno(fs.removexattr('/f', 'user.department'), 'ENODATA');
  });

  it('security.*, system.* and trusted.*: not supported, answered without a request; user.filesfs.* is read-only', async () => {
    const { fs, client } = setup();
    client.serverPut('f', 'x');
    client.resetCounts();
    await expectErrno(fs.getxattr('/f', 'security.capability'), 'EOPNOTSUPP');
    await expectErrno(fs.getxattr('/missing', 'security.capability'), 'EOPNOTSUPP');
    await expectErrno(fs.getxattr('/f', 'system.posix_acl_access'), 'EOPNOTSUPP');
    expect(client.requests).toBe(0);
    await expectErrno(fs.removexattr('/f', 'trusted.x'), 'EOPNOTSUPP');
    await expectErrno(fs.setxattr('/f', 'security.selinux', Buffer.from('x'), 0), 'EOPNOTSUPP');
    await expectErrno(fs.setxattr('/f', 'system.posix_acl_access', Buffer.from('x'), 0), 'EOPNOTSUPP');
    await expectErrno(fs.setxattr('/f', 'user.filesfs.md5', Buffer.from('x'), 0), 'EPERM');
    await expectErrno(fs.removexattr('/f', 'user.filesfs.md5'), 'EPERM');
    expect(client.counts.update).toBe(0);
  });

  it('Files.com\'s limits: a 33rd key is ENOSPC (filesfs\'s own keys count), a long value E2BIG; nothing is sent', async () => {
    const { fs, client } = setup();
    client.serverPut('f', 'x');
    client.serverSetMetadata('f', { ...Object.fromEntries(Array.from({ length: 30 }, (_, i) => [`k${i}`, 'v'])), [KEYS.mode]: '0600' });
    await fs.setxattr('/f', 'user.k30', Buffer.from('v'), 0);
    client.resetCounts();
    await expectErrno(fs.setxattr('/f', 'user.k31', Buffer.from('v'), 0), 'ENOSPC');
    await expectErrno(fs.setxattr('/f', 'user.k0', Buffer.from('v'.repeat(1025)), 0), 'E2BIG');
    await expectErrno(fs.chown('/f', 0, -1), 'ENOSPC');
    expect(client.requests).toBe(0);
  });

  it('checksums are read-only attributes, read by name (never listed) once the server has them; one that arrives late is asked for', async () => {
    const { fs, client } = setup();
    client.serverPut('f', 'x');
    await fs.getattr('/f');
    expect(await fs.listxattr('/f')).toEqual([]);
    client.resetCounts();
    const stat = client.stat.bind(client);
    client.stat = async (path, options) => ({ ...(await stat(path, options)), md5: '9dd4e461268c8034f5c8564e155c67a6', sha256: 'abc' });
    expect((await fs.getxattr('/f', 'user.filesfs.md5')).toString()).toBe('9dd4e461268c8034f5c8564e155c67a6');
    expect(client.counts.stat).toBe(1);
    expect(await fs.listxattr('/f')).toEqual([]);
    expect((await fs.getxattr('/f', 'user.filesfs.sha256')).toString()).toBe('abc');
    await expectErrno(fs.getxattr('/f', 'user.filesfs.sha1'), 'ENODATA');
  });

  it('a file with local changes shows its upload state', async () => {
    const { fs, writeBack } = await mockSetup({ writeBack: { uploadDelayMs: 60_000 } });
    await writeFile(fs, '/p', 'x');
    expect(await fs.listxattr('/p')).toEqual([]);
    expect((await fs.getxattr('/p', 'user.filesfs.upload')).toString()).toBe('pending');
    const fh = await fs.open('/p', O_RDWR);
    expect((await fs.getxattr('/p', 'user.filesfs.upload')).toString()).toBe('open');
    await fs.release('/p', fh);
    await writeBack.drain();
    await expectErrno(fs.getxattr('/p', 'user.filesfs.upload'), 'ENODATA');
  });
});

describe('times, link counts, names', () => {
  it('a folder\'s mtime and ctime move when an entry is created or removed in it, at once', async () => {
    let now = Date.UTC(2030, 0, 1, 12, 0, 0, 400);
    const { fs, client } = await mockSetup({ fs: { clock: () => now }, writeBack: { uploadDelayMs: 60_000 } });
    client.serverMkdirs('d');
    client.serverSetMetadata('d', {});
    await client.update('d', { mtime: new Date(Date.UTC(2001, 0, 1)) }); // a time set earlier (rsync -t)
    expect((await fs.getattr('/d')).mtime).toEqual(new Date(Date.UTC(2001, 0, 1)));
    await writeFile(fs, '/d/new', 'x');
    let after = await fs.getattr('/d');
    expect(after.mtime).toEqual(new Date(Date.UTC(2030, 0, 1, 12, 0, 0)));
    expect(after.ctime).toEqual(after.mtime);
    now += 3_000;
    await fs.mkdir('/d/sub', 0o755);
    await fs.rmdir('/d/sub');
    after = await fs.getattr('/d');
    expect(after.mtime).toEqual(new Date(Date.UTC(2030, 0, 1, 12, 0, 3)));
    now += 3_000;
    await fs.unlink('/d/new');
    expect((await fs.getattr('/d')).ctime).toEqual(new Date(Date.UTC(2030, 0, 1, 12, 0, 6)));
  });

  it('chmod moves the ctime, not the mtime; utimens keeps the atime it was given', async () => {
    let now = Date.UTC(2024, 0, 1);
    const { fs, client } = setup({ clock: () => now });
    client.serverPut('f', 'x', { mtime: new Date(Date.UTC(2020, 0, 1)) });
    now += 60_000;
    await fs.chmod('/f', 0o600);
    let a = await fs.getattr('/f');
    expect(a.mtime).toEqual(new Date(Date.UTC(2020, 0, 1)));
    expect(a.ctime).toEqual(new Date(now));
    const atime = new Date(Date.UTC(2021, 5, 5));
    await fs.utimens('/f', atime, null);
    a = await fs.getattr('/f');
    expect(a.atime).toEqual(atime);
    expect(client.counts.setMtime).toBe(0);
  });

  it('a folder\'s link count is 2 plus its subfolders once its listing is known', async () => {
    const { fs, client } = setup();
    client.serverMkdirs('p/a');
    client.serverMkdirs('p/b');
    client.serverPut('p/f', 'x');
    await fs.readdir('/p');
    expect((await fs.getattr('/p')).nlink).toBe(4);
    await fs.mkdir('/p/c', 0o755);
    expect((await fs.getattr('/p')).nlink).toBe(5);
    await fs.rmdir('/p/a');
    expect((await fs.getattr('/p')).nlink).toBe(4);
  });

  it('a name longer than 255 bytes is ENAMETOOLONG wherever it appears, without a request', async () => {
    const { fs, client } = setup();
    const long = 'x'.repeat(256);
    await expectErrno(fs.getattr(`/${long}`), 'ENAMETOOLONG');
    await expectErrno(fs.getattr(`/${long}/f`), 'ENAMETOOLONG');
    await expectErrno(fs.open(`/${long}`, O_RDONLY), 'ENAMETOOLONG');
    await expectErrno(fs.getattr(`/${'x'.repeat(255)}`), 'ENOENT');
    expect(client.counts.stat + client.counts.list).toBe(1);
  });
});

describe('a file unlinked while open', () => {
  it('stays answerable under libfuse\'s hidden name with no links; that name never reaches the server', async () => {
    const { fs, client } = await mockSetup();
    await writeFile(fs, '/victim', 'hello');
    const fh = await fs.open('/victim', O_RDONLY);
    const hidden = '/.fuse_hidden0000000200000001';
    client.resetCounts();
    await expectErrno(fs.getattr(hidden), 'ENOENT');
    expect(client.requests).toBe(0);
    await fs.rename('/victim', hidden);
    await expectErrno(fs.getattr('/victim'), 'ENOENT');
    expect(await fs.getattr(hidden)).toMatchObject({ size: 5, nlink: 0 });
    expect(await fs.fgetattr(hidden, fh)).toMatchObject({ nlink: 0 });
    expect((await fs.readdir('/')).map((e) => e.name)).not.toContain(hidden.slice(1));
    const buffer = Buffer.alloc(5);
    expect(await fs.read(hidden, fh, buffer, 0)).toBe(5);
    expect(buffer.toString()).toBe('hello');
    await fs.release(hidden, fh);
    await fs.unlink(hidden);
    await expectErrno(fs.getattr(hidden), 'ENOENT');
    await until(() => client.serverStat('victim') === null);
    expect(client.calls.every((c) => !c.path.includes('fuse_hidden'))).toBe(true);
  });
});

describe('mock client', () => {
  it('keeps custom_metadata across moves and copies', async () => {
    const client = new MockFilesClient();
    client.serverPut('a', 'x');
    client.serverSetMetadata('a', { k: 'v' });
    await client.move('a', 'b');
    await client.copy('b', 'c');
    expect(client.serverStat('b')!.customMetadata).toEqual({ k: 'v' });
    expect(client.serverStat('c')!.customMetadata).toEqual({ k: 'v' });
  });
});

describe('an unlink while the upload\'s end call is in flight', () => {
  /** A server that finishes `end` even when its client went away, a moment later (as Files.com and the emulator do). */
  class LateEndServer extends MockFilesClient {
    duringEnd?: () => Promise<void>;
    override async upload(path: string, source: UploadSource, options: UploadOptions = {}): Promise<RemoteEntry> {
      return super.upload(path, source, {
        ...options,
        beforePublish: async (target) => {
          await options.beforePublish?.(target);
          await this.duringEnd?.();
          if (options.signal?.aborted) {
            const data = 'file' in source ? (await readFile(source.file)).subarray(0, source.size) : Buffer.alloc(0);
            setTimeout(() => this.serverPut(path, data), 30);
            throw options.signal.reason;
          }
        },
      });
    }
  }

  it('waits for the end call: the file is published, then deleted; it never reappears', async () => {
    const client = new LateEndServer();
    const { fs } = await mockSetup({ client, writeBack: { uploadDelayMs: 0 } });
    let unlinked: Promise<void> | undefined;
    client.duringEnd = async () => {
      client.duringEnd = undefined;
      unlinked = fs.unlink('/doomed');
      await new Promise((r) => setTimeout(r, 20));
    };
    await writeFile(fs, '/doomed', 'bytes');
    await until(() => unlinked !== undefined);
    await unlinked;
    await new Promise((r) => setTimeout(r, 100));
    expect(client.serverStat('doomed')).toBeNull();
    await expectErrno(fs.getattr('/doomed'), 'ENOENT');
  });
});
