// POSIX metadata through a real mount of the emulator, with shell tools:
//   - a tree with executables, a private folder, a symbolic link, a FIFO and
//     a file of another owner survives `tar -x` into the mount and `tar -c`
//     out of it: `tar -tv` of both archives is the same, and again after an
//     unmount and a fresh mount with another cache dir (so the modes, owners
//     and types came from the server);
//   - `setfattr -n user.project` shows in the entry's custom_metadata
//     through the API, and `getfattr -d` shows it with the server's checksums;
//   - a file unlinked while open answers fstat(2), with no link left;
//   - chmod +x, ln -s, mkfifo, setfattr and cp -a (in and out) keep what
//     they set across a remount with another cache dir.
// Runs as root (tar restores owners, mkfifo). Needs tar, getfattr/setfattr
// (Debian `attr`) and python3.
import { mkdirSync, writeFileSync, symlinkSync, chmodSync, chownSync, mkdtempSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, test } from 'vitest';
import { useEmulator } from '../support/emulator.js';
import { q, scratch, sh, startMount, stopMounts } from '../support/mount.js';

const API_KEY = 'posixMetadataKey7';
const emu = useEmulator({ apiKey: API_KEY });

afterEach(stopMounts);

async function entryOf(path: string): Promise<Record<string, unknown>> {
  const res = await fetch(`${emu().url}/api/rest/v1/file_actions/metadata/${path}`, { headers: { 'X-FilesAPI-Key': API_KEY } });
  expect(res.status).toBe(200);
  return (await res.json()) as Record<string, unknown>;
}

/** A tree with what tar keeps: modes, an owner, a symbolic link, a FIFO, an empty folder. */
function sourceTree(): string {
  const root = mkdtempSync(join(scratch('posix-src'), 't-'));
  mkdirSync(join(root, 'bin'));
  writeFileSync(join(root, 'bin', 'run.sh'), '#!/bin/sh\necho hi\n');
  chmodSync(join(root, 'bin', 'run.sh'), 0o755);
  writeFileSync(join(root, 'bin', 'tool'), 'binary');
  chmodSync(join(root, 'bin', 'tool'), 0o4750);
  writeFileSync(join(root, 'README'), 'read me\n');
  writeFileSync(join(root, 'owned'), 'someone else\'s\n');
  chownSync(join(root, 'owned'), 1234, 5678);
  mkdirSync(join(root, 'private'));
  writeFileSync(join(root, 'private', 'key'), 'secret');
  chmodSync(join(root, 'private', 'key'), 0o600);
  chmodSync(join(root, 'private'), 0o700);
  mkdirSync(join(root, 'empty'));
  symlinkSync('bin/run.sh', join(root, 'run'));
  symlinkSync('../README', join(root, 'bin', 'readme-link'));
  return root;
}

describe('tar through the mount', () => {
  test('tar -tv of the archive made from the mount is the one extracted into it, also after a fresh mount with another cache dir', async () => {
    const src = sourceTree();
    const work = scratch('posix-tar');
    expect((await sh(`mkfifo ${q(join(src, 'pipe'))} && chmod 640 ${q(join(src, 'pipe'))}`)).code).toBe(0);
    const tar = (dir: string, archive: string): string => `tar --sort=name --numeric-owner -C ${q(dir)} -cf ${q(archive)} .`;
    const list = async (archive: string): Promise<string> => {
      const r = await sh(`tar --numeric-owner -tvf ${q(archive)}`);
      expect(r.code, r.stderr).toBe(0);
      return r.stdout;
    };
    expect((await sh(tar(src, `${work}/a.tar`))).code).toBe(0);

    const first = await startMount({ url: emu().url, apiKey: API_KEY });
    const target = join(first.mountpoint, 'tree');
    const x = await sh(`mkdir ${q(target)} && tar -xpf ${q(`${work}/a.tar`)} -C ${q(target)} && ${tar(target, `${work}/b.tar`)}`);
    expect(x.code, x.stderr).toBe(0);
    const a = await list(`${work}/a.tar`);
    expect(a).toMatch(/^-rwsr-x--- 0\/0 .* \.\/bin\/tool$/m);
    expect(a).toMatch(/^prw-r----- 0\/0 .* \.\/pipe$/m);
    expect(a).toMatch(/^lrwxrwxrwx 0\/0 .* \.\/run -> bin\/run\.sh$/m);
    expect(a).toMatch(/^-rw-r--r-- 1234\/5678 .* \.\/owned$/m);
    expect(await list(`${work}/b.tar`)).toBe(a);
    // tar -x chmods and chowns what it made, which the uploads carry: then they can go.
    await first.stop();

    const second = await startMount({ url: emu().url, apiKey: API_KEY });
    const again = await sh(tar(join(second.mountpoint, 'tree'), `${work}/c.tar`));
    expect(again.code, again.stderr).toBe(0);
    expect(await list(`${work}/c.tar`)).toBe(a);

    // What the site holds: the executable's mode, the link as a file with its target.
    expect((await entryOf('tree/bin/run.sh')).custom_metadata).toEqual({ 'filesfs.mode': '0755' });
    expect((await entryOf('tree/owned')).custom_metadata).toEqual({ 'filesfs.uid': '1234', 'filesfs.gid': '5678' });
    expect((await entryOf('tree/run')).custom_metadata).toEqual({ 'filesfs.type': 'symlink', 'filesfs.target': 'bin/run.sh' });
    expect((await entryOf('tree/pipe')).custom_metadata).toEqual({ 'filesfs.type': 'fifo', 'filesfs.mode': '0640' });
    expect((await entryOf('tree/README')).custom_metadata).toEqual({});
  });
});

describe('extended attributes', () => {
  test('--no-xattrs: getfattr and setfattr say "Operation not supported", and the data and modes are unaffected', async () => {
    const m = await startMount({ url: emu().url, apiKey: API_KEY, args: ['--no-xattrs'] });
    const file = join(m.mountpoint, 'no-xattrs.txt');
    const r = await sh(`echo data > ${q(file)} && chmod 640 ${q(file)}; getfattr -n user.x ${q(file)}; setfattr -n user.x -v 1 ${q(file)}; stat -c %a ${q(file)}; cat ${q(file)}`);
    expect(r.stderr).toMatch(/user\.x: Operation not supported/);
    expect(r.stderr).toMatch(/setfattr: .*no-xattrs\.txt: Operation not supported/);
    expect(r.stdout).toBe('640\ndata\n');
  });

  test('setfattr -n user.project shows in custom_metadata through the API; getfattr -d shows it, the checksums are read by name', async () => {
    const m = await startMount({ url: emu().url, apiKey: API_KEY });
    const file = join(m.mountpoint, 'plan.txt');
    const set = await sh(`echo plan > ${q(file)} && setfattr -n user.project -v apollo ${q(file)} && getfattr -n user.project --only-values ${q(file)}`);
    expect(set.code, set.stderr).toBe(0);
    expect(set.stdout).toBe('apollo');
    await m.stop(); // the upload, then the metadata, reach the server
    expect((await entryOf('plan.txt')).custom_metadata).toEqual({ project: 'apollo' });

    const again = await startMount({ url: emu().url, apiKey: API_KEY });
    const shown = join(again.mountpoint, 'plan.txt');
    // The emulator computes checksums shortly after the upload: wait for them.
    let md5 = '';
    for (let i = 0; i < 50 && !/^[0-9a-f]{32}$/.test(md5); i++) {
      md5 = (await sh(`getfattr -n user.filesfs.md5 --only-values ${q(shown)}`)).stdout;
      if (!/^[0-9a-f]{32}$/.test(md5)) await new Promise((r) => setTimeout(r, 200));
    }
    expect(md5).toMatch(/^[0-9a-f]{32}$/);
    // Listed: the file's own attributes only (copying tools would carry the read-only ones elsewhere).
    const dump = (await sh(`getfattr -d ${q(shown)}`)).stdout;
    expect(dump).toContain('user.project="apollo"');
    expect(dump).not.toContain('filesfs.');
    const refused = await sh(`setfattr -n user.filesfs.md5 -v x ${q(shown)}; setfattr -n security.test -v x ${q(shown)}`);
    expect(refused.stderr).toContain('Operation not permitted');
    expect(refused.stderr).toContain('Operation not supported');
  });
});

describe('copying attributes with the tools', () => {
  test('cp -a out and back in carries a file\'s own attributes only, and a symlink lists nothing it cannot read', async () => {
    const m = await startMount({ url: emu().url, apiKey: API_KEY, args: ['--upload-delay', '0'] });
    const local = scratch('xattr-copy');
    const r = await sh([
      `cd ${q(local)} && echo data > src && setfattr -n user.color -v blue src`,
      `cp -a src ${q(join(m.mountpoint, 'xattr-copied'))}`,
      `ln -s xattr-copied ${q(join(m.mountpoint, 'xattr-link'))}`,
      // Wait until the server has the file's checksums (its md5 readable by name), then copy it out and in again.
      `for i in $(seq 50); do getfattr --absolute-names -n user.filesfs.md5 ${q(join(m.mountpoint, 'xattr-copied'))} >/dev/null 2>&1 && break; sleep 0.2; done`,
      `cp -a ${q(join(m.mountpoint, 'xattr-copied'))} back && getfattr --absolute-names -d back`,
      `cp -a back ${q(join(m.mountpoint, 'xattr-again'))} && getfattr --absolute-names -d ${q(join(m.mountpoint, 'xattr-again'))}`,
      `getfattr --absolute-names -h -d ${q(join(m.mountpoint, 'xattr-link'))}; echo "link rc=$?"`,
    ].join(' && '));
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toBe('');
    expect(r.stdout.match(/user\.color="blue"/g)).toHaveLength(2);
    expect(r.stdout).not.toContain('filesfs.');
    expect(r.stdout).toContain('link rc=0');
  });
});

describe('attributes outside user.*', () => {
  test('the kernel\'s questions before every write and ls -l\'s are answered without reaching the filesystem layer', async () => {
    const m = await startMount({ url: emu().url, apiKey: API_KEY, args: ['--log-level', 'trace'] });
    const r = await sh(`cd ${q(m.mountpoint)} && dd if=/dev/zero of=w bs=64k count=32 2>/dev/null && ls -l w >/dev/null && getfattr -n security.capability w; getfattr -n system.posix_acl_access w; setfattr -x trusted.x w; getfattr -n user.none w`);
    // Not supported (not "no such attribute"): ls -l then stops asking the device's other entries.
    expect(r.stderr).toContain('security.capability: Operation not supported');
    expect(r.stderr).toContain('system.posix_acl_access: Operation not supported');
    expect(r.stderr).toMatch(/setfattr: w: Operation not supported/);
    expect(r.stderr).toContain('user.none: No such attribute');
    const lines = m.stderr().split('\n');
    expect(lines.filter((l) => / write "\/w"/.test(l)).length).toBeGreaterThanOrEqual(1);
    // Only the user.* question went to the filesystem layer.
    const asked = lines.filter((l) => /TRACE \[mount:fuse\] getxattr/.test(l));
    expect(asked, asked.join('\n')).toHaveLength(1);
  });
});

describe('a file unlinked while open', () => {
  test('fstat answers, with no link left; the folder lists nothing and can be removed', async () => {
    const m = await startMount({ url: emu().url, apiKey: API_KEY });
    const script = [
      'import os',
      `os.chdir(${JSON.stringify(m.mountpoint)})`,
      "os.mkdir('d')",
      "fd = os.open('d/f', os.O_CREAT | os.O_RDWR, 0o644)",
      "os.write(fd, b'Hello, World!')",
      "os.unlink('d/f')",
      'st = os.fstat(fd)',
      'print(st.st_nlink, st.st_size)',
      "print(os.pread(fd, 5, 0).decode())",
      "print(os.listdir('d'))",
      'os.close(fd)',
      "os.rmdir('d')",
      "print('ok')",
    ].join('\n');
    const r = await sh(`python3 -c ${q(script)}`);
    expect(r.stderr).toBe('');
    expect(r.stdout.trim().split('\n')).toEqual(['0 13', 'Hello', '[]', 'ok']);
  });
});

describe('shell tools, across a remount with another cache dir', () => {
  test('chmod +x on a file already on the server, ln -s and readlink, mkfifo, setfattr user.*, cp -a in and out keep what they set', async () => {
    const local = mkdtempSync(join(scratch('posix-cp'), 't-'));
    mkdirSync(join(local, 'tree'));
    writeFileSync(join(local, 'tree', 'exe'), '#!/bin/sh\n');
    chmodSync(join(local, 'tree', 'exe'), 0o750);
    writeFileSync(join(local, 'tree', 'secret'), 'x');
    chmodSync(join(local, 'tree', 'secret'), 0o600);
    symlinkSync('exe', join(local, 'tree', 'link'));
    chmodSync(join(local, 'tree'), 0o751);
    // Modes, owners, types and names: what cp -a keeps (times are checked by the tar test's listings).
    const listing = (dir: string): string => `cd ${q(dir)} && find . -printf '%M %U %G %p %l\\n' | sort`;

    // A file that is on the server before its mode changes: chmod is a PATCH of an existing entry.
    const first = await startMount({ url: emu().url, apiKey: API_KEY });
    expect((await sh(`printf 'echo hi\\n' > ${q(join(first.mountpoint, 'tool.sh'))}`)).code).toBe(0);
    await first.stop();
    expect((await entryOf('tool.sh')).custom_metadata).toEqual({});

    const second = await startMount({ url: emu().url, apiKey: API_KEY });
    const made = await sh([
      `cd ${q(second.mountpoint)}`,
      'chmod +x tool.sh',
      'ln -s tool.sh run',
      'mkfifo -m 0620 pipe',
      'setfattr -n user.owner -v ops tool.sh',
      `cp -a ${q(join(local, 'tree'))} copied`,
    ].join(' && '));
    expect(made.code, made.stderr).toBe(0);
    const before = await sh(listing(join(second.mountpoint, 'copied')));
    expect(before.code, before.stderr).toBe(0);
    expect(before.stdout).toBe((await sh(listing(join(local, 'tree')))).stdout);
    await second.stop();
    expect((await entryOf('tool.sh')).custom_metadata).toEqual({ 'filesfs.mode': '0755', owner: 'ops' });

    const third = await startMount({ url: emu().url, apiKey: API_KEY });
    const seen = await sh([
      `cd ${q(third.mountpoint)}`,
      "stat -c '%A %n' tool.sh run pipe",
      'readlink run',
      'test -p pipe && echo fifo',
      'getfattr -n user.owner --only-values tool.sh && echo',
      './tool.sh',
    ].join(' && '));
    expect(seen.code, seen.stderr).toBe(0);
    expect(seen.stdout.split('\n')).toEqual(['-rwxr-xr-x tool.sh', 'lrwxrwxrwx run', 'prw--w---- pipe', 'tool.sh', 'fifo', 'ops', 'hi', '']);
    // Out again with cp -a: the same modes, owners, types and link targets as the tree that went in.
    const out = join(scratch('posix-cp-out'), 'tree');
    const back = await sh(`cp -a ${q(join(third.mountpoint, 'copied'))} ${q(out)}`);
    expect(back.code, back.stderr).toBe(0);
    expect((await sh(listing(out))).stdout).toBe(before.stdout);
    expect((await sh(listing(join(third.mountpoint, 'copied')))).stdout).toBe(before.stdout);
  });
});
