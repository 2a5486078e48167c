/// <reference path="../../native/fuse-native.d.ts" />
// Operations our libfuse 3 binding (native/fuse-native.c, with the patched
// index.js) passes through to JavaScript although filesfs's adapter does not
// register them yet, checked on a real mount of a small filesystem written
// straight against fuse-native (support/binding-filesystem.ts): symlink,
// readlink, link, mknod, the four xattr operations (size queries, ERANGE),
// rename's flags, and the lock (fcntl) and flock operations with their lock
// owners. Each check looks at both sides: what the tool saw, and the
// arguments the filesystem received.
import { spawn } from 'node:child_process';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import Fuse from 'fuse-native';
import { afterAll, beforeAll, beforeEach, describe, expect, test } from 'vitest';
import { buildMountOptions, optionsArgument } from '../../src/fuse/mount-options.js';
import { lazyUnmount, waitForMount } from '../../src/fuse/mountinfo.js';
import { BindingFilesystem, F_GETLK, F_RDLCK, F_SETLK, F_SETLKW, F_UNLCK, F_WRLCK, LOCK_EX, LOCK_NB, LOCK_SH, LOCK_UN } from './support/binding-filesystem.js';
import { scratchDir, sh } from './support/shell.js';

class TestFuse extends Fuse {
  readonly #argument: string;

  constructor(mnt: string, ops: Fuse.Operations, argument: string) {
    super(mnt, ops, { timeout: false });
    this.#argument = argument;
  }

  protected override _fuseOptions(): string {
    return this.#argument;
  }
}

let fs: BindingFilesystem;
let fuse: TestFuse | undefined;
let mnt: string;

beforeAll(async () => {
  fs = new BindingFilesystem();
  mnt = join(await scratchDir('binding-ops'), 'mnt');
  await mkdir(mnt);
  fuse = new TestFuse(mnt, fs.ops, optionsArgument(buildMountOptions({ sourceName: 'binding-test' })));
  await new Promise<void>((resolve, reject) => fuse!.mount((err) => (err ? reject(err) : resolve())));
  expect(await waitForMount(mnt, true, 2000)).toBe(true);
});

afterAll(async () => {
  if (fuse) await new Promise<void>((resolve) => fuse!.unmount(() => resolve()));
  await lazyUnmount(mnt);
});

beforeEach(() => {
  fs.calls.length = 0;
});

const q = (s: string): string => `'${s.replace(/'/g, `'\\''`)}'`;

/**
 * Runs a Python script in the mount (asynchronously: this process serves the
 * mount). With `release`, the script's stdin gets a line once `release`
 * resolves, for a script that must wait for something only the filesystem
 * side can see.
 */
async function python(lines: string[], release?: () => Promise<void>): Promise<string[]> {
  const child = spawn('python3', ['-c', lines.join('\n')], { cwd: mnt, stdio: ['pipe', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => { stdout += d.toString(); });
  child.stderr.on('data', (d: Buffer) => { stderr += d.toString(); });
  const exited = new Promise<number | null>((resolve) => child.on('close', resolve));
  if (release) await release();
  child.stdin.end('\n');
  const code = await exited;
  expect(stderr).toBe('');
  expect(code).toBe(0);
  return stdout.trim().split('\n');
}

describe('links and special files', () => {
  test('symlink and readlink: ln -s, readlink, ls -l', async () => {
    const long = 'd/'.repeat(1500) + 'end'; // 3003 bytes, well past libfuse 2's old 1024-byte buffers
    const r = await sh(`cd ${q(mnt)} && ln -s hello.txt link && ln -s ${long} long && readlink link && readlink long | wc -c && LC_ALL=C ls -l link`);
    expect(r.code).toBe(0);
    const [short, longLength, listing] = r.stdout.trim().split('\n');
    expect(short).toBe('hello.txt');
    expect(longLength).toBe(String(long.length + 1));
    expect(listing).toMatch(/^l.* link -> hello\.txt$/);
    expect(fs.callsOf('symlink')).toEqual([{ op: 'symlink', target: 'hello.txt', path: '/link' }, { op: 'symlink', target: long, path: '/long' }]);
    expect(fs.callsOf('readlink').map((c) => c.path)).toContain('/link');
  });

  test('link: ln passes the existing name first, the new one second', async () => {
    fs.addFile('/a.txt', 'linked\n');
    const r = await sh(`cd ${q(mnt)} && ln a.txt b.txt && cat b.txt && stat -c %h b.txt`);
    expect(r.stdout).toBe('linked\n2\n');
    expect(fs.callsOf('link')).toEqual([{ op: 'link', src: '/a.txt', dest: '/b.txt' }]);
  });

  test('mknod: a FIFO with its type bits, a character device with its device number', async () => {
    const r = await sh(`cd ${q(mnt)} && umask 022 && mkfifo -m 640 fifo && mknod dev c 1 3 && stat -c '%F %t:%T' dev`);
    expect(r.code).toBe(0);
    expect(r.stdout.trim()).toBe('character special file 1:3');
    const [fifo, dev] = fs.callsOf('mknod');
    expect(fifo).toMatchObject({ path: '/fifo', dev: 0 });
    expect((fifo!.mode as number) & 0o170000).toBe(0o010000);
    expect(dev).toMatchObject({ path: '/dev', dev: (1 << 8) | 3 });
    expect((dev!.mode as number) & 0o170000).toBe(0o020000);
  });
});

describe('extended attributes', () => {
  test('set, get, list and remove, with flags; a value longer than the first buffer (ERANGE, then a larger one)', async () => {
    fs.addFile('/x.txt', 'x');
    const big = 'v'.repeat(300); // CPython tries a 128-byte buffer first and retries larger on ERANGE
    const out = await python([
      'import os, errno',
      "os.setxattr('x.txt', 'user.small', b'hello')",
      `os.setxattr('x.txt', 'user.big', b'${big}')`,
      'try:',
      "    os.setxattr('x.txt', 'user.small', b'again', os.XATTR_CREATE); print('no error')",
      'except OSError as e:',
      '    print(errno.errorcode[e.errno])',
      "print(os.getxattr('x.txt', 'user.small').decode())",
      "print(len(os.getxattr('x.txt', 'user.big')))",
      "print(sorted(os.listxattr('x.txt')))",
      "os.removexattr('x.txt', 'user.small')",
      'try:',
      "    os.getxattr('x.txt', 'user.small'); print('no error')",
      'except OSError as e:',
      '    print(errno.errorcode[e.errno])',
    ]);
    expect(out).toEqual(['EEXIST', 'hello', '300', "['user.big', 'user.small']", 'ENODATA']);
    expect(fs.callsOf('setxattr').map((c) => [c.name, (c.value as Buffer).length, c.position, c.flags])).toEqual([
      ['user.small', 5, 0, 0], ['user.big', 300, 0, 0], ['user.small', 5, 0, 1],
    ]);
    expect(fs.callsOf('removexattr')).toEqual([{ op: 'removexattr', path: '/x.txt', name: 'user.small' }]);
  });

  test('size queries (size 0) answer the exact length; a buffer one byte short is ERANGE', async () => {
    fs.addFile('/y.txt', 'y');
    const out = await python([
      'import ctypes, os',
      "libc = ctypes.CDLL(None, use_errno=True)",
      "os.setxattr('y.txt', 'user.one', b'12345')",
      "os.setxattr('y.txt', 'user.two', b'')",
      "print(libc.getxattr(b'y.txt', b'user.one', None, 0))",
      'buf = ctypes.create_string_buffer(4)',
      "print(libc.getxattr(b'y.txt', b'user.one', buf, 4), ctypes.get_errno() == 34)",
      "print(libc.getxattr(b'y.txt', b'user.two', None, 0))",
      "print(libc.listxattr(b'y.txt', None, 0))",
      'names = ctypes.create_string_buffer(17)',
      "print(libc.listxattr(b'y.txt', names, 17), ctypes.get_errno() == 34)",
      'names = ctypes.create_string_buffer(18)',
      "print(libc.listxattr(b'y.txt', names, 18), names.raw)",
    ]);
    // "user.one\0user.two\0" is 18 bytes.
    expect(out).toEqual(['5', '-1 True', '0', '18', '-1 True', "18 b'user.one\\x00user.two\\x00'"]);
  });
});

describe('rename flags', () => {
  test('renameat2 with RENAME_NOREPLACE fails with EINVAL without reaching rename; a plain rename does', async () => {
    // (The kernel answers EEXIST itself when the target exists; a free name reaches the filesystem.)
    fs.addFile('/from.txt', 'f');
    const out = await python([
      'import ctypes, os',
      "libc = ctypes.CDLL(None, use_errno=True)",
      'AT_FDCWD = -100',
      "print(libc.renameat2(AT_FDCWD, b'from.txt', AT_FDCWD, b'to.txt', 1), ctypes.get_errno() == 22)",
      "print(libc.renameat2(AT_FDCWD, b'from.txt', AT_FDCWD, b'to.txt', 1), ctypes.get_errno() == 22)",
      "os.rename('from.txt', 'moved.txt')",
      "print(sorted(n for n in os.listdir('.') if n.endswith('.txt')))",
    ]);
    expect(out[0]).toBe('-1 True');
    expect(out[1]).toBe('-1 True');
    expect(out[2]).toContain("'moved.txt'");
    expect(out[2]).not.toContain("'to.txt'");
    expect(fs.callsOf('rename')).toEqual([{ op: 'rename', src: '/from.txt', dest: '/moved.txt' }]);
  });
});

describe('locks reach the filesystem when it registers lock and flock', () => {
  // struct flock on x86-64 Linux: short l_type, short l_whence, off_t l_start, off_t l_len, pid_t l_pid.
  const FLOCK = "'@hhqqi4x'";

  test('fcntl: F_SETLK, a conflicting F_SETLK (EAGAIN), F_GETLK of a lock held elsewhere, F_SETLKW waiting for an unlock', async () => {
    fs.addFile('/locked.txt', '0123456789abcdefghij');
    fs.remoteLock('/locked.txt', { type: F_RDLCK, start: 100, end: 149, pid: process.pid });
    const out = await python([
      'import fcntl, os, struct, sys',
      `FLOCK = ${FLOCK}`,
      "fd = os.open('locked.txt', os.O_RDWR)",
      'fcntl.fcntl(fd, fcntl.F_SETLK, struct.pack(FLOCK, fcntl.F_WRLCK, 0, 10, 10, 0, ))',
      'r, w = os.pipe()',
      'pid = os.fork()',
      'if pid == 0:',
      "    fd2 = os.open('locked.txt', os.O_RDWR)",
      '    try:',
      "        fcntl.fcntl(fd2, fcntl.F_SETLK, struct.pack(FLOCK, fcntl.F_WRLCK, 0, 15, 1, 0)); os.write(w, b'locked ')",
      '    except OSError as e:',
      "        os.write(w, b'EAGAIN ' if e.errno == 11 else b'other ')",
      '    held = struct.unpack(FLOCK, fcntl.fcntl(fd2, fcntl.F_GETLK, struct.pack(FLOCK, fcntl.F_WRLCK, 0, 120, 5, 0)))',
      "    os.write(w, ('%d:%d:%d:%d ' % (held[0], held[2], held[3], held[4])).encode())",
      '    fcntl.fcntl(fd2, fcntl.F_SETLKW, struct.pack(FLOCK, fcntl.F_WRLCK, 0, 15, 1, 0))',
      "    os.write(w, b'waited')",
      '    os._exit(0)',
      'print(pid, flush=True)',
      'sys.stdin.readline()  # the test says when the child waits in F_SETLKW',
      'fcntl.fcntl(fd, fcntl.F_SETLK, struct.pack(FLOCK, fcntl.F_UNLCK, 0, 10, 10, 0))',
      'os.waitpid(pid, 0)',
      'os.close(w)',
      'print(os.read(r, 1000).decode())',
    ], async () => {
      for (let i = 0; i < 400 && !fs.callsOf('lock').some((c) => c.cmd === F_SETLKW); i++) await new Promise((r) => setTimeout(r, 50));
    });
    const [childPid, seen] = out;
    expect(seen).toBe(`EAGAIN ${F_RDLCK}:100:50:${process.pid} waited`);
    const locks = fs.callsOf('lock').filter((c) => c.path === '/locked.txt');
    const parentSet = locks.find((c) => c.cmd === F_SETLK && c.type === F_WRLCK && c.start === 10)!;
    expect(parentSet).toMatchObject({ whence: 0, len: 10 });
    expect(typeof parentSet.owner).toBe('bigint');
    expect(parentSet.fd as number).toBeGreaterThan(0);
    const childTry = locks.find((c) => c.cmd === F_SETLK && c.start === 15)!;
    expect(childTry).toMatchObject({ type: F_WRLCK, len: 1, pid: Number(childPid) });
    expect(childTry.owner).not.toBe(parentSet.owner);
    expect(locks.find((c) => c.cmd === F_GETLK)).toMatchObject({ type: F_WRLCK, start: 120, len: 5 });
    const waited = locks.find((c) => c.cmd === F_SETLKW)!;
    expect(waited).toMatchObject({ type: F_WRLCK, start: 15, len: 1, owner: childTry.owner });
    const unlock = locks.find((c) => c.type === F_UNLCK && c.owner === parentSet.owner && c.cmd === F_SETLK);
    expect(unlock).toBeDefined();
    expect(locks.indexOf(waited)).toBeLessThan(locks.indexOf(unlock!));
  });

  test('flock: exclusive, a conflicting LOCK_NB (EWOULDBLOCK), unlock, shared; each open file is its own owner', async () => {
    fs.addFile('/flocked.txt', 'f');
    const out = await python([
      'import fcntl, os',
      "a = os.open('flocked.txt', os.O_RDONLY)",
      "b = os.open('flocked.txt', os.O_RDONLY)",
      'fcntl.flock(a, fcntl.LOCK_EX)',
      'try:',
      "    fcntl.flock(b, fcntl.LOCK_EX | fcntl.LOCK_NB); print('no error')",
      'except BlockingIOError:',
      "    print('EWOULDBLOCK')",
      'fcntl.flock(a, fcntl.LOCK_UN)',
      'fcntl.flock(b, fcntl.LOCK_SH | fcntl.LOCK_NB)',
      'fcntl.flock(a, fcntl.LOCK_SH | fcntl.LOCK_NB)',
      "print('shared')",
    ]);
    expect(out).toEqual(['EWOULDBLOCK', 'shared']);
    const flocks = fs.callsOf('flock').filter((c) => c.path === '/flocked.txt');
    expect(flocks.slice(0, 5).map((c) => c.operation)).toEqual([LOCK_EX, LOCK_EX | LOCK_NB, LOCK_UN, LOCK_SH | LOCK_NB, LOCK_SH | LOCK_NB]);
    const [first, second] = flocks;
    expect(typeof first!.owner).toBe('bigint');
    expect(first!.owner).not.toBe(second!.owner);
    expect(flocks[2]!.owner).toBe(first!.owner);
    // The process asking comes with each flock (the kernel sends no pid of its own with it).
    expect(flocks.slice(0, 5).every((c) => typeof c.pid === 'number' && (c.pid as number) > 0)).toBe(true);
    // The last close of each file ends its flock locks: the binding sends LOCK_UN before the release.
    const closing = (): Array<Record<string, unknown>> => fs.callsOf('flock').filter((c) => c.path === '/flocked.txt').slice(5);
    for (let i = 0; i < 100 && closing().length < 2; i++) await new Promise((r) => setTimeout(r, 50));
    expect(closing().map((c) => c.operation)).toEqual([LOCK_UN, LOCK_UN]);
    expect(new Set(closing().map((c) => c.owner))).toEqual(new Set([first!.owner, second!.owner]));
  });
});
