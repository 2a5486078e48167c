// Real mount of the in-memory test filesystem, driven by the shell tools
// people use: what the kernel, libfuse, fuse-native and our adapter together
// make of each operation, checked both from the tool's side (output, exit
// status, error text) and from the filesystem's side (the calls it received).
import { constants } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { constants as osConstants } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, test } from 'vitest';
import { createLogger } from '../../src/log/logger.js';
import { createOperations } from '../../src/fuse/adapter.js';
import type { Mount } from '../../src/fuse/mount.js';
import { lazyUnmount, mountFilesystem } from '../../src/fuse/mount.js';
import { findMount } from '../../src/fuse/mountinfo.js';
import { HUGE_SIZE, MemoryFilesystem, O_ACCMODE, hugeByte } from './support/memory-filesystem.js';
import { scratchDir, sh } from './support/shell.js';

let fs: MemoryFilesystem;
let mount: Mount | undefined;
let scratch: string;
let mnt: string;
const logLines: string[] = [];

beforeAll(async () => {
  fs = new MemoryFilesystem();
  scratch = await scratchDir('shell-tools');
  mnt = join(scratch, 'mnt');
  await mkdir(mnt);
  mount = await mountFilesystem(fs, mnt, { logger: createLogger({ level: 'debug', sink: (line) => logLines.push(line) }) });
});

afterAll(async () => {
  await mount?.unmount().catch(() => undefined);
  await lazyUnmount(mnt);
});

beforeEach(() => {
  fs.calls.length = 0;
  fs.writeSizes.length = 0;
});

const q = (s: string): string => `'${s.replace(/'/g, `'\\''`)}'`;

function lastCall(op: string, path?: string) {
  const calls = fs.callsOf(op).filter((c) => path === undefined || c.path === path);
  return calls[calls.length - 1];
}

/** Waits until `condition` holds (the kernel sends release after close(2) returns). */
async function until(condition: () => boolean, timeoutMs = 5_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error('timed out waiting');
    await new Promise((r) => setTimeout(r, 10));
  }
}

describe('mount', () => {
  test('is listed as fuse.filesfs with the options we own', async () => {
    const entry = await findMount(mnt);
    expect(entry).toMatchObject({ fstype: 'fuse.filesfs', source: 'filesfs' });
    expect(entry!.superOptions).toContain('default_permissions');
    expect(entry!.superOptions).toContain('max_read=1048576');
    for (const o of ['max_write=1048576', 'max_readahead=1048576']) expect(mount!.options).toContain(o);
    expect(mount!.options).not.toContain('auto_cache');
    expect(mount!.options).not.toContain('hard_remove');
  });

  test('processes the mounting process starts do not inherit /dev/fuse', async () => {
    // Otherwise a child outliving a crashed mount keeps the dead connection
    // open, and the mount hangs instead of failing (libfuse 3 opens it
    // close-on-exec; native/fuse-native.c, item 6).
    const r = await sh('ls -l /proc/$$/fd');
    expect(r.code).toBe(0);
    expect(r.stdout).not.toContain('/dev/fuse');
  });
});

describe('reading', () => {
  test('ls -l shows files and folders with sizes and dates; ls -a shows . and ..', async () => {
    const r = await sh(`LC_ALL=C ls -l --time-style=+%F ${q(mnt)}`);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^-rw-r--r-- 1 \S+ \S+ +12 2024-05-06 hello\.txt$/m);
    expect(r.stdout).toMatch(/^drwxr-xr-x 2 \S+ \S+ +4096 2024-05-06 docs$/m);
    expect(r.stdout).toMatch(/ 5368709120 2024-05-06 huge\.bin$/m);
    const all = await sh(`ls -a ${q(mnt)}/docs`);
    expect(all.stdout.split('\n').slice(0, 2)).toEqual(['.', '..']);
    expect(fs.callsOf('opendir').some((c) => ((c.flags as number) & constants.O_DIRECTORY) !== 0)).toBe(true);
  });

  test('stat shows type, permissions, size, mtime, links, blocks and I/O size', async () => {
    const file = await sh(`stat -c '%f %a %s %Y %h %b %B %o' ${q(mnt)}/hello.txt`);
    expect(file.stdout.trim()).toBe(`81a4 644 12 ${Date.parse('2024-05-06T07:08:09Z') / 1000} 1 1 512 1048576`);
    const dir = await sh(`stat -c '%F %a %s %h' ${q(mnt)}/docs`);
    expect(dir.stdout.trim()).toBe('directory 755 4096 2');
    const huge = await sh(`stat -c '%s %b' ${q(mnt)}/huge.bin`);
    expect(huge.stdout.trim()).toBe(`${HUGE_SIZE} ${HUGE_SIZE / 512}`);
  });

  test('cat reads whole files', async () => {
    expect((await sh(`cat ${q(mnt)}/hello.txt ${q(mnt)}/docs/readme.md`)).stdout).toBe('hello world\n# readme\n');
  });

  test('head -c, dd skip= and tail -c read at offsets beyond 4 GiB', async () => {
    const expected = (offset: number, length: number): string => {
      const b = Buffer.alloc(length);
      for (let i = 0; i < length; i++) b[i] = hugeByte(offset + i);
      return b.toString('hex');
    };
    const head = await sh(`head -c 24 ${q(mnt)}/huge.bin | od -An -v -tx1 | tr -d ' \\n'`);
    expect(head.stdout).toBe(expected(0, 24));
    const beyond = 4 * 1024 ** 3 + 3 * 4096; // past 2^32: the offset's high half matters
    const dd = await sh(`dd if=${q(mnt)}/huge.bin bs=4096 skip=${beyond / 4096} count=2 status=none | od -An -v -tx1 | tr -d ' \\n'`);
    expect(dd.code).toBe(0);
    expect(dd.stdout).toBe(expected(beyond, 8192));
    const tail = await sh(`tail -c 40 ${q(mnt)}/huge.bin | od -An -v -tx1 | tr -d ' \\n'`);
    expect(tail.stdout).toBe(expected(HUGE_SIZE - 40, 40));
    expect(fs.callsOf('read').some((c) => (c.position as number) >= 2 ** 32)).toBe(true);
  });

  test('statfs reports sizes beyond 32-bit block counts', async () => {
    const r = await sh(`stat -f -c '%S %b %a %l' ${q(mnt)}`);
    const [frsize, blocks, avail, namemax] = r.stdout.trim().split(' ').map(Number);
    expect(frsize! * blocks!).toBe(4096 * 2 ** 40);
    expect(frsize! * avail!).toBe(4096 * 2 ** 39);
    expect(namemax).toBe(255);
  });
});

describe('times', () => {
  test('touch -d sets both times; stat shows the mtime', async () => {
    const r = await sh(`touch -d '2001-02-03 04:05:06 UTC' ${q(mnt)}/hello.txt && stat -c %Y ${q(mnt)}/hello.txt`);
    expect(r.stdout.trim()).toBe(String(Date.parse('2001-02-03T04:05:06Z') / 1000));
    const call = lastCall('utimens', '/hello.txt')!;
    expect(call.atime).toEqual(new Date('2001-02-03T04:05:06Z'));
    expect(call.mtime).toEqual(new Date('2001-02-03T04:05:06Z'));
  });

  test('touch -m -d reaches the filesystem with atime omitted (null); touch -a with mtime omitted', async () => {
    await sh(`touch -m -d '2002-03-04 05:06:07 UTC' ${q(mnt)}/hello.txt`);
    expect(lastCall('utimens', '/hello.txt')).toMatchObject({ atime: null, mtime: new Date('2002-03-04T05:06:07Z') });
    await sh(`touch -a -d '2003-01-01 00:00:00 UTC' ${q(mnt)}/hello.txt`);
    expect(lastCall('utimens', '/hello.txt')).toMatchObject({ atime: new Date('2003-01-01T00:00:00Z'), mtime: null });
  });

  test('plain touch sets the current time (UTIME_NOW), not 1970', async () => {
    const before = Date.now();
    await sh(`touch ${q(mnt)}/hello.txt`);
    const call = lastCall('utimens', '/hello.txt')!;
    for (const t of [call.atime, call.mtime] as Date[]) {
      expect(t.getTime()).toBeGreaterThanOrEqual(before - 2000);
      expect(t.getTime()).toBeLessThanOrEqual(Date.now() + 2000);
    }
  });

  test('a time before 1970 arrives as a negative time, not as "omit"', async () => {
    await sh(`touch -m -d '1960-01-01 00:00:00 UTC' ${q(mnt)}/docs/readme.md`);
    expect(lastCall('utimens', '/docs/readme.md')).toMatchObject({ atime: null, mtime: new Date('1960-01-01T00:00:00Z') });
  });

  test('cp -p keeps the mtime; create gets its open flags and fgetattr its handle', async () => {
    const local = join(scratch, 'local.txt');
    await writeFile(local, 'copied with times\n');
    const r = await sh(`touch -d '2005-06-07 08:09:10 UTC' ${q(local)} && cp -p ${q(local)} ${q(mnt)}/copied.txt && stat -c %Y ${q(mnt)}/copied.txt && cat ${q(mnt)}/copied.txt`);
    expect(r.code).toBe(0);
    expect(r.stdout).toBe(`${Date.parse('2005-06-07T08:09:10Z') / 1000}\ncopied with times\n`);
    const create = lastCall('create', '/copied.txt')!;
    expect((create.flags as number) & O_ACCMODE).toBe(constants.O_WRONLY);
    expect((create.flags as number) & constants.O_CREAT).toBe(constants.O_CREAT);
    expect(fs.callsOf('fgetattr').some((c) => c.path === '/copied.txt' && (c.fh as number) > 0)).toBe(true);
  });

  test('chmod and chown reach the filesystem; chown of the group only passes uid -1', async () => {
    const r = await sh(`chmod 600 ${q(mnt)}/copied.txt && chown 123:456 ${q(mnt)}/copied.txt && chgrp 789 ${q(mnt)}/copied.txt`);
    expect(r.code).toBe(0);
    expect(lastCall('chmod', '/copied.txt')).toMatchObject({ mode: 0o600 });
    expect(fs.callsOf('chown')).toEqual([
      expect.objectContaining({ path: '/copied.txt', uid: 123, gid: 456 }),
      expect.objectContaining({ path: '/copied.txt', uid: -1, gid: 789 }),
    ]);
  });
});

describe('namespace', () => {
  test('mkdir, write, mv of a file and a folder, rm, rmdir', async () => {
    const r = await sh([
      `cd ${q(mnt)}`, 'mkdir a', 'echo x > a/f', 'mv a/f a/g', 'mv a b', 'ls b', 'rm b/g', 'rmdir b', 'ls',
    ].join(' && '));
    expect(r.code).toBe(0);
    expect(r.stdout.split('\n')[0]).toBe('g');
    expect(r.stdout).not.toMatch(/^b$/m);
    expect(fs.calls.map((c) => c.op).filter((op) => ['mkdir', 'create', 'rename', 'unlink', 'rmdir'].includes(op)))
      .toEqual(['mkdir', 'create', 'rename', 'rename', 'unlink', 'rmdir']);
    expect(lastCall('rename', '/a')).toMatchObject({ to: '/b' });
    expect(fs.nodes.has('/b')).toBe(false);
  });

  test('echo > existing file opens it with O_TRUNC (atomic_o_trunc), no separate truncate', async () => {
    fs.addFile('/trunc.txt', 'old content that is longer\n');
    const r = await sh(`printf new > ${q(mnt)}/trunc.txt && cat ${q(mnt)}/trunc.txt`);
    expect(r.stdout).toBe('new');
    const [writeOpen, readOpen] = fs.callsOf('open').filter((c) => c.path === '/trunc.txt');
    expect((writeOpen!.flags as number) & constants.O_TRUNC).toBe(constants.O_TRUNC);
    expect((readOpen!.flags as number) & constants.O_TRUNC).toBe(0);
    expect(fs.callsOf('truncate').length + fs.callsOf('ftruncate').length).toBe(0);
  });

  test('truncate(1) reaches truncate or ftruncate with the size', async () => {
    fs.addFile('/sized.txt', 'abcdef');
    const r = await sh(`truncate -s 3 ${q(mnt)}/sized.txt && cat ${q(mnt)}/sized.txt`);
    expect(r.stdout).toBe('abc');
    expect([...fs.callsOf('truncate'), ...fs.callsOf('ftruncate')].map((c) => c.size)).toContain(3);
  });

  test('unlink of an open file reaches the filesystem as a rename to a .fuse_hidden name, unlinked at the last close', async () => {
    // No hard_remove: libfuse keeps a name for the open file, so fstat(2) can
    // be answered (the filesystem layer treats the rename as the unlink and
    // never shows that name; this memory filesystem just renames).
    fs.addFile('/victim.txt', 'still readable\n');
    const r = await sh(`cd ${q(mnt)} && exec 3<victim.txt && rm victim.txt && python3 -c 'import os,sys; sys.stdout.write(os.read(3, 100).decode())' && exec 3<&-`);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('still readable\n');
    const renamed = fs.callsOf('rename').find((c) => c.path === '/victim.txt');
    const hidden = String(renamed?.to);
    expect(hidden).toMatch(/^\/\.fuse_hidden[0-9a-f]{16}$/);
    expect(fs.callsOf('read').some((c) => c.path === hidden && (c.fh as number) > 0)).toBe(true);
    await until(() => fs.callsOf('unlink').some((c) => c.path === hidden));
    expect(fs.callsOf('unlink').map((c) => c.path)).not.toContain('/victim.txt');
  });

  test('a file unlinked while open: read, write, the size through its handle, ftruncate and close go on by handle', async () => {
    fs.addFile('/open-unlinked.txt', '0123456789');
    const script = [
      'import errno, os',
      `os.chdir(${JSON.stringify(mnt)})`,
      "fd = os.open('open-unlinked.txt', os.O_RDWR)",
      "os.unlink('open-unlinked.txt')",
      "print(os.path.exists('open-unlinked.txt'))",
      // fstat(2) carries no handle to the filesystem (the kernel's getattr
      // has none) and the unlink made the kernel's attributes stale: libfuse
      // asks by the hidden name it renamed the file to.
      'try:',
      '    os.fstat(fd); print("fstat ok")',
      'except OSError as e:',
      '    print(errno.errorcode[e.errno])',
      'print(os.pread(fd, 4, 2).decode())',
      "print(os.pwrite(fd, b'abcdefghijklmnop', 5))",
      'print(os.lseek(fd, 0, os.SEEK_END))',
      'print(os.pread(fd, 100, 0).decode())',
      'os.ftruncate(fd, 7)',
      'print(os.lseek(fd, 0, os.SEEK_END))',
      'os.close(fd)',
    ].join('\n');
    const r = await sh(`python3 -c ${q(script)}`);
    expect(r.stderr).toBe('');
    expect(r.stdout.trim().split('\n')).toEqual(['False', 'fstat ok', '2345', '16', '21', '01234abcdefghijklmnop', '7']);
    // Everything goes on by handle, under the hidden name.
    const hidden = /^\/\.fuse_hidden[0-9a-f]{16}$/;
    expect(fs.callsOf('fgetattr').some((c) => hidden.test(c.path) && (c.fh as number) > 0)).toBe(true);
    expect(fs.callsOf('write').some((c) => hidden.test(c.path) && c.position === 5)).toBe(true);
    expect(fs.callsOf('ftruncate').some((c) => hidden.test(c.path) && c.size === 7)).toBe(true);
    expect(fs.callsOf('release').some((c) => hidden.test(c.path))).toBe(true);
  });
});

describe('locks', () => {
  test('flock and fcntl locks stay local to this machine: the adapter registers neither lock nor flock', async () => {
    // Registering them would send every lock to the filesystem layer (and
    // libfuse 3 would claim flock support and answer ENOSYS without them).
    const script = [
      'import fcntl, os, struct',
      `os.chdir(${JSON.stringify(mnt)})`,
      "a = os.open('hello.txt', os.O_RDONLY)",
      "b = os.open('hello.txt', os.O_RDONLY)",
      'fcntl.flock(a, fcntl.LOCK_EX)',
      'try:',
      "    fcntl.flock(b, fcntl.LOCK_EX | fcntl.LOCK_NB); print('no conflict')",
      'except BlockingIOError:',
      "    print('EWOULDBLOCK')",
      'fcntl.flock(a, fcntl.LOCK_UN)',
      'fcntl.flock(b, fcntl.LOCK_SH | fcntl.LOCK_NB)',
      "w = os.open('hello.txt', os.O_RDWR)",
      "fcntl.fcntl(w, fcntl.F_SETLK, struct.pack('@hhqqi4x', fcntl.F_WRLCK, 0, 0, 0, 0))",
      "print('locked')",
    ].join('\n');
    const r = await sh(`python3 -c ${q(script)}`);
    expect(r.stderr).toBe('');
    expect(r.stdout.trim().split('\n')).toEqual(['EWOULDBLOCK', 'locked']);
    const ops = createOperations(fs);
    expect('lock' in ops).toBe(false);
    expect('flock' in ops).toBe(false);
  });
});

describe('errors', () => {
  const cases: Array<[string, string, RegExp]> = [
    ['rmdir of a non-empty folder (FilesError folder-not-empty)', 'rmdir docs', /Directory not empty/],
    ['rmdir of a missing folder (FilesError not-found)', 'rmdir nope', /No such file or directory/],
    ['create in a read-only folder (FsError EROFS)', 'touch readonly/new', /Read-only file system/],
    ['rm in a read-only folder', 'rm readonly/fixed.txt', /Read-only file system/],
    ['a name over 255 bytes (FsError ENAMETOOLONG)', `touch ${'n'.repeat(300)}`, /File name too long/],
    ['a refused read (FilesError not-authorized)', 'cat forbidden.txt', /Permission denied/],
    ['a file gone between stat and open (FilesError not-found)', 'cat ghost.txt', /No such file or directory/],
    ['a transient server failure (FilesError service-unavailable)', 'cat flaky.txt', /Input\/output error/],
    ['a locked file (processing-failure/file-locked)', 'rm locked.txt', /Device or resource busy/],
    ['symlink', 'ln -s hello.txt link', /Operation not permitted/],
    ['hard link', 'ln hello.txt hard', /Operation not permitted/],
    ['a FIFO', 'mkfifo fifo', /Operation not permitted/],
  ];
  test.each(cases)('%s', async (_name, command, message) => {
    const r = await sh(`cd ${q(mnt)} && LC_ALL=C ${command}`);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toMatch(message);
  });

  test('an unknown failure gives EIO and a warning with its message', async () => {
    const r = await sh(`LC_ALL=C cat ${q(mnt)}/buggy.txt`);
    expect(r.stderr).toMatch(/Input\/output error/);
    expect(logLines.some((l) => l.includes('WARN') && l.includes('boom: the memory filesystem failed on purpose'))).toBe(true);
  });

  test('mknod and the extended attributes reach the filesystem, with their arguments and its errno', async () => {
    const script = [
      'import os, stat',
      `os.chdir(${JSON.stringify(mnt)})`,
      "os.mknod('made.txt', stat.S_IFREG | 0o640)",
      "print(os.stat('made.txt').st_size)",
      'try:',
      "    os.mkfifo('fifo', 0o604)",
      'except OSError as e:',
      '    print(e.errno)',
      "print(os.getxattr('xattr.txt', 'user.test').decode())",
      "print(os.listxattr('xattr.txt'))",
      'for f in (lambda: os.getxattr("hello.txt", "user.x"), lambda: os.setxattr("hello.txt", "user.x", b"1"), lambda: os.listxattr("hello.txt"), lambda: os.removexattr("hello.txt", "user.x")):',
      '    try:',
      '        print(f())',
      '    except OSError as e:',
      '        print(e.errno)',
    ].join('\n');
    fs.addFile('/xattr.txt', 'x');
    const r = await sh(`python3 -c ${q(script)}`);
    expect(r.stderr).toBe('');
    const { ENODATA, ENOTSUP } = osConstants.errno; // ENOTSUP = EOPNOTSUPP on Linux: "Operation not supported"
    // The memory filesystem makes regular files only.
    expect(r.stdout.trim().split('\n')).toEqual(['0', String(osConstants.errno.EPERM), 'value', "['user.test']", String(ENODATA), String(ENOTSUP), '[]', String(ENODATA)]);
    // libfuse makes a regular file with create (the filesystem has one), anything else with mknod.
    const create = lastCall('create', '/made.txt')!;
    expect(create.mode).toBe(0o640);
    expect((create.flags as number) & constants.O_EXCL).toBe(constants.O_EXCL);
    expect(lastCall('mknod', '/fifo')!.mode).toBe(constants.S_IFIFO | 0o604);
    expect(lastCall('setxattr', '/hello.txt')).toMatchObject({ name: 'user.x', value: '1', flags: 0 });
  });

  test('ls -l and cp -a stay quiet about extended attributes and ACLs', async () => {
    const r = await sh(`cd ${q(mnt)} && ls -l >/dev/null && cp -a docs docs-copy && ls docs-copy`);
    expect(r.stderr).toBe('');
    expect(r.stdout.trim()).toBe('readme.md');
  });
});

describe('request sizes', () => {
  const MiB = 1024 * 1024;

  test('dd bs=1M reaches the filesystem as 1 MiB writes', async () => {
    const r = await sh(`dd if=/dev/zero of=${q(mnt)}/big bs=1M count=64 status=none`);
    expect(r.code).toBe(0);
    const total = fs.writeSizes.reduce((a, b) => a + b, 0);
    expect(total).toBe(64 * MiB);
    const histogram = new Map<number, number>();
    for (const size of fs.writeSizes) histogram.set(size, (histogram.get(size) ?? 0) + 1);
    console.log(`write sizes for dd bs=1M count=64: ${[...histogram].map(([size, n]) => `${n} × ${size} B`).join(', ')}`);
    expect(fs.writeSizes).toEqual(new Array(64).fill(MiB));
    expect((await sh(`stat -c %s ${q(mnt)}/big`)).stdout.trim()).toBe(String(64 * MiB));
  });

  test('a sequential read reaches the filesystem as 1 MiB reads (max_read, max_readahead, read_ahead_kb)', async () => {
    const r = await sh(`dd if=${q(mnt)}/huge.bin of=/dev/null bs=1M count=64 status=none`);
    expect(r.code).toBe(0);
    const lengths = fs.callsOf('read').filter((c) => c.path === '/huge.bin').map((c) => c.length as number);
    const histogram = new Map<number, number>();
    for (const size of lengths) histogram.set(size, (histogram.get(size) ?? 0) + 1);
    console.log(`read sizes for dd bs=1M count=64: ${[...histogram].map(([size, n]) => `${n} × ${size} B`).join(', ')}`);
    expect(Math.max(...lengths)).toBe(MiB);
    const inWholeMiB = lengths.filter((n) => n === MiB).reduce((a, b) => a + b, 0);
    expect(inWholeMiB / lengths.reduce((a, b) => a + b, 0)).toBeGreaterThanOrEqual(0.9);
  });
});
