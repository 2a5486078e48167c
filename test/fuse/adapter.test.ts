// The adapter without a kernel: argument decoding and the checks on what the
// filesystem returns, driven by calling the operations object directly.
import { constants } from 'node:fs';
import { constants as osConstants } from 'node:os';
import { describe, expect, test } from 'vitest';
import { createOperations } from '../../src/fuse/adapter.js';
import type { FilesfsOperations } from '../../src/fuse/operations.js';
import { createLogger } from '../../src/log/logger.js';
import type { FileAttributes, Filesystem } from '../../src/vfs/filesystem-api.js';
import { FsError } from '../../src/vfs/fs-error.js';

const E = osConstants.errno;
const attrs: FileAttributes = { kind: 'file', size: 3, mtime: new Date(0), permissions: 0o644, uid: 0, gid: 0 };

function adapter(fs: Partial<Filesystem>): { ops: FilesfsOperations; lines: string[] } {
  const lines: string[] = [];
  const ops = createOperations(fs as Filesystem, { logger: createLogger({ level: 'trace', sink: (l) => lines.push(l) }) });
  return { ops, lines };
}

/** Calls an operation and resolves with the arguments of its callback. */
function call(invoke: (cb: (...args: unknown[]) => void) => void): Promise<unknown[]> {
  return new Promise((resolve) => invoke((...args) => resolve(args)));
}

describe('replies', () => {
  test('a value, or the errno of the rejection', async () => {
    const { ops, lines } = adapter({ getattr: async (p) => { if (p === '/a') return attrs; throw new FsError('ENOENT'); } });
    const [code, stat] = await call((cb) => ops.getattr('/a', cb));
    expect(code).toBe(0);
    expect(stat).toMatchObject({ mode: constants.S_IFREG | 0o644, size: 3 });
    expect(await call((cb) => ops.getattr('/b', cb))).toEqual([-E.ENOENT!]);
    expect(lines.some((l) => /TRACE getattr "\/a" → ok/.test(l))).toBe(true);
    expect(lines.some((l) => /TRACE getattr "\/b" → ENOENT/.test(l))).toBe(true);
    // The filesystem layer logs its failures; the adapter only encodes them.
    expect(lines.some((l) => /WARN|DEBUG/.test(l))).toBe(false);
  });

  test('a rejection that is not an FsError breaks the contract: EIO and a warning naming it', async () => {
    const { ops, lines } = adapter({ getattr: async () => { throw new TypeError('x is undefined'); } });
    expect(await call((cb) => ops.getattr('/a', cb))).toEqual([-E.EIO!]);
    expect(lines.filter((l) => l.includes('WARN'))).toHaveLength(1);
    expect(lines.find((l) => l.includes('WARN'))).toMatch(/getattr "\/a": the filesystem rejected with something other than an FsError \(a bug\): TypeError: x is undefined/);
  });

  test('a method that throws synchronously is answered like a rejection', async () => {
    const { ops } = adapter({ unlink: () => { throw new FsError('EBUSY'); } });
    expect(await call((cb) => ops.unlink('/x', cb))).toEqual([-E.EBUSY!]);
  });

  test('fgetattr without a handle asks getattr; with one, fgetattr', async () => {
    const seen: string[] = [];
    const { ops } = adapter({
      getattr: async () => { seen.push('getattr'); return attrs; },
      fgetattr: async (_p, fh) => { seen.push(`fgetattr ${fh}`); return attrs; },
    });
    await call((cb) => ops.fgetattr('/a', 0, cb));
    await call((cb) => ops.fgetattr('/a', 9, cb));
    expect(seen).toEqual(['getattr', 'fgetattr 9']);
  });
});

describe('what the filesystem returns is checked', () => {
  test.each([0, -1, 1.5, 2 ** 31, Number.NaN])('open returning handle %s → EIO', async (fh) => {
    const { ops } = adapter({ open: async () => fh });
    expect(await call((cb) => ops.open('/a', 0, cb))).toEqual([-E.EIO!]);
  });

  test('opendir may return 0 (no handle)', async () => {
    const { ops } = adapter({ opendir: async () => 0 });
    expect(await call((cb) => ops.opendir('/', 0, cb))).toEqual([0, 0]);
  });

  test('read returning more than asked → EIO; a count within the request passes', async () => {
    const big = adapter({ read: async () => 10 });
    expect(await call((cb) => big.ops.read('/a', 1, Buffer.alloc(4), 4, 0, cb))).toEqual([-E.EIO!]);
    const ok = adapter({ read: async (_p, _fh, buffer) => buffer.write('abc') });
    const buffer = Buffer.alloc(4);
    expect(await call((cb) => ok.ops.read('/a', 1, buffer, 4, 2 ** 33, cb))).toEqual([3]);
    expect(buffer.subarray(0, 3).toString()).toBe('abc');
  });
});

describe('argument decoding', () => {
  test('modes lose their file type bits; chown -1 passes as -1', async () => {
    const seen: unknown[] = [];
    const { ops } = adapter({
      mkdir: async (p, mode) => { seen.push(['mkdir', mode]); },
      chmod: async (p, mode) => { seen.push(['chmod', mode]); },
      chown: async (p, uid, gid) => { seen.push(['chown', uid, gid]); },
      create: async (p, mode, flags) => { seen.push(['create', mode, flags]); return 4; },
    });
    await call((cb) => ops.mkdir('/d', constants.S_IFDIR | 0o1755, cb));
    await call((cb) => ops.chmod('/f', constants.S_IFREG | 0o600, cb));
    await call((cb) => ops.chown('/f', 0xffffffff, 5, cb));
    expect(await call((cb) => ops.create('/n', constants.S_IFREG | 0o644, constants.O_WRONLY | constants.O_EXCL, cb))).toEqual([0, 4]);
    expect(seen).toEqual([['mkdir', 0o1755], ['chmod', 0o600], ['chown', -1, 5], ['create', 0o644, constants.O_WRONLY | constants.O_EXCL]]);
  });

  test('utimens: null stays null, times become Dates', async () => {
    const seen: unknown[] = [];
    const { ops } = adapter({ utimens: async (_p, a, m) => { seen.push(a, m); } });
    await call((cb) => ops.utimens('/f', null, 981173106000, cb));
    expect(seen).toEqual([null, new Date(981173106000)]);
  });

  test('fsync passes datasync as a boolean and the handle', async () => {
    const seen: unknown[] = [];
    const { ops } = adapter({ fsync: async (p, fh, datasync) => { seen.push([p, fh, datasync]); } });
    await call((cb) => ops.fsync('/f', 1, 7, cb));
    await call((cb) => ops.fsync('/f', 0, 7, cb));
    expect(seen).toEqual([['/f', 7, true], ['/f', 7, false]]);
  });
});

describe('readdir', () => {
  test('adds . and .., keeps server names, leaves out names FUSE cannot carry', async () => {
    const { ops, lines } = adapter({
      readdir: async () => [
        { name: 'Report Q1.pdf', attributes: attrs },
        { name: 'sub', attributes: { ...attrs, kind: 'directory' } },
        { name: 'é'.repeat(600), attributes: attrs },
        { name: 'a/b', attributes: attrs },
      ],
    });
    const [code, names, stats] = await call((cb) => ops.readdir('/', cb)) as [number, string[], Array<{ mode: number }>];
    expect(code).toBe(0);
    expect(names).toEqual(['.', '..', 'Report Q1.pdf', 'sub']);
    expect(stats.map((s) => s.mode & constants.S_IFMT)).toEqual([constants.S_IFDIR, constants.S_IFDIR, constants.S_IFREG, constants.S_IFDIR]);
    expect(lines.filter((l) => l.includes('WARN'))).toHaveLength(2);
  });
});

describe('links, special files, extended attributes: passed to the filesystem', () => {
  test('symlink, readlink, link and mknod carry their arguments (and the caller) and encode the answer', async () => {
    const seen: unknown[][] = [];
    const caller = { uid: 65534, gid: 65533 };
    const { ops } = adapter({
      symlink: async (target, path, who) => { seen.push(['symlink', target, path, who]); },
      readlink: async (path) => (path === '/l' ? '../target' : Promise.reject(new FsError('EINVAL'))),
      link: async () => { throw new FsError('EPERM'); },
      mknod: async (path, mode, dev, who) => { seen.push(['mknod', path, mode, dev, who]); },
    });
    const withCaller = createOperations({
      symlink: async (target: string, path: string, who?: unknown) => { seen.push(['symlink', target, path, who]); },
      mknod: async (path: string, mode: number, dev: number, who?: unknown) => { seen.push(['mknod', path, mode, dev, who]); },
    } as unknown as Filesystem, { caller: () => caller });
    expect(await call((cb) => ops.symlink('target', '/l', cb))).toEqual([0]);
    expect(await call((cb) => ops.readlink('/l', cb))).toEqual([0, '../target']);
    expect(await call((cb) => ops.readlink('/f', cb))).toEqual([-E.EINVAL!]);
    expect(await call((cb) => ops.link('/a', '/b', cb))).toEqual([-E.EPERM!]);
    expect(await call((cb) => ops.mknod('/p', constants.S_IFIFO | 0o644, 0, cb))).toEqual([0]);
    expect(await call((cb) => withCaller.symlink('t', '/m', cb))).toEqual([0]);
    expect(await call((cb) => withCaller.mknod('/d', constants.S_IFCHR | 0o600, 0x0102, cb))).toEqual([0]);
    expect(seen).toEqual([
      ['symlink', 'target', '/l', undefined],
      ['mknod', '/p', constants.S_IFIFO | 0o644, 0, undefined],
      ['symlink', 't', '/m', caller],
      ['mknod', '/d', constants.S_IFCHR | 0o600, 0x0102, caller],
    ]);
  });

  test('xattrs: values and names pass through; ENODATA and the rest are the filesystem\'s errno', async () => {
    const set: unknown[][] = [];
    const { ops } = adapter({
      getxattr: async (_p, name) => (name === 'user.a' ? Buffer.from('v') : Promise.reject(new FsError('ENODATA'))),
      listxattr: async () => ['user.a', 'user.filesfs.md5'],
      setxattr: async (path, name, value, flags) => { set.push([path, name, value.toString(), flags]); },
      removexattr: async () => { throw new FsError('ENODATA'); },
    });
    expect(await call((cb) => ops.getxattr!('/a', 'user.a', 0, cb))).toEqual([0, Buffer.from('v')]);
    expect(await call((cb) => ops.getxattr!('/a', 'security.capability', 0, cb))).toEqual([-E.ENODATA!]);
    expect(await call((cb) => ops.listxattr!('/a', cb))).toEqual([0, ['user.a', 'user.filesfs.md5']]);
    expect(await call((cb) => ops.setxattr!('/a', 'user.x', Buffer.from('1'), 0, 1, cb))).toEqual([0]);
    expect(await call((cb) => ops.removexattr!('/a', 'user.x', cb))).toEqual([-E.ENODATA!]);
    expect(set).toEqual([['/a', 'user.x', '1', 1]]);
  });

  test('a filesystem without extended attributes offers no xattr operations (libfuse answers ENOSYS; the kernel stops asking)', () => {
    const { ops } = adapter({ extendedAttributes: false });
    expect([ops.getxattr, ops.setxattr, ops.listxattr, ops.removexattr]).toEqual([undefined, undefined, undefined, undefined]);
    expect(typeof adapter({}).ops.getxattr).toBe('function');
  });

  test('create and mkdir pass the caller read when the operation starts', async () => {
    const seen: unknown[] = [];
    let current: { uid: number; gid: number } | undefined = { uid: 7, gid: 8 };
    const ops = createOperations({
      create: async (_p: string, _m: number, _f: number, who?: unknown) => { seen.push(who); return 1; },
      mkdir: async (_p: string, _m: number, who?: unknown) => { seen.push(who); },
    } as unknown as Filesystem, { caller: () => current });
    const created = call((cb) => ops.create('/f', 0o644, constants.O_CREAT, cb));
    current = undefined; // read synchronously, before the filesystem runs
    await created;
    await call((cb) => ops.mkdir('/d', 0o755, cb));
    expect(seen).toEqual([{ uid: 7, gid: 8 }, undefined]);
  });
});
