// The control channel without a mount: the socket as the cache dir's lock
// (live holder refused, stale socket taken over), requests with streamed
// progress, errors, and the mount registry.
import { spawn } from 'node:child_process';
import { mkdirSync, statSync, writeFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, test } from 'vitest';
import { ConfigError } from '../../src/options/config-error.js';
import { ControlRequestError, ControlServer, ControlUnavailableError, controlRequest, findMount, listMounts, registerMount, registryDir, type MountInfo } from '../../src/control/index.js';
import { scratch } from '../support/mount.js';

const servers: ControlServer[] = [];
afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => s.close()));
});

function info(overrides: Partial<MountInfo> = {}): MountInfo {
  return { pid: process.pid, mountpoint: '/mnt/x', cacheDir: '/c', baseUrl: 'http://h', root: '', startedAt: new Date().toISOString(), version: '0', ...overrides };
}

async function bind(dir: string, i: MountInfo = info()): Promise<ControlServer> {
  const s = await ControlServer.bind(dir, i);
  servers.push(s);
  return s;
}

describe('the control socket', () => {
  test('is a private socket in the cache dir answering "info"', async () => {
    const dir = scratch('control');
    const s = await bind(dir, info({ mountpoint: '/mnt/files' }));
    expect(s.socketPath).toBe(join(dir, 'control.sock'));
    expect(statSync(s.socketPath).isSocket()).toBe(true);
    expect(statSync(s.socketPath).mode & 0o777).toBe(0o600);
    expect(await controlRequest<MountInfo>(s.socketPath, 'info')).toMatchObject({ mountpoint: '/mnt/files', pid: process.pid });
  });

  test('locks the cache dir: a second bind names the mount holding it', async () => {
    const dir = scratch('control');
    await bind(dir, info({ mountpoint: '/mnt/first', pid: 4242 }));
    const err = await ControlServer.bind(dir, info()).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ConfigError);
    expect((err as Error).message).toBe(`cache dir ${dir} is in use by the filesfs mount at /mnt/first (pid 4242); unmount it first, or use --cache-dir to choose another cache dir`);
  });

  test('a stale socket (its process was killed) is taken over', async () => {
    const dir = scratch('control');
    // A process binds the socket and is SIGKILLed: the file stays, nobody listens.
    const child = spawn(process.execPath, ['-e', `require('net').createServer().listen(${JSON.stringify(join(dir, 'control.sock'))}, () => console.log('up'))`], { stdio: ['ignore', 'pipe', 'inherit'] });
    await new Promise<void>((r) => child.stdout!.once('data', () => r()));
    child.kill('SIGKILL');
    await new Promise<void>((r) => child.once('exit', () => r()));
    expect(readdirSync(dir)).toContain('control.sock');
    await expect(controlRequest(join(dir, 'control.sock'), 'info')).rejects.toBeInstanceOf(ControlUnavailableError);
    const s = await bind(dir, info({ mountpoint: '/mnt/new' }));
    expect(await controlRequest<MountInfo>(s.socketPath, 'info')).toMatchObject({ mountpoint: '/mnt/new' });
  });

  test('streams progress lines before the result; errors come back as one line', async () => {
    const s = await bind(scratch('control'));
    s.handle('work', async (args, { progress }) => {
      for (let i = 1; i <= 3; i++) progress({ message: `step ${i}`, done: i });
      return { echoed: args };
    });
    s.handle('fail', async () => { throw new Error('cannot do that'); });
    const seen: unknown[] = [];
    const result = await controlRequest(s.socketPath, 'work', { args: { n: 1 }, onProgress: (p) => seen.push(p) });
    expect(seen).toEqual([{ message: 'step 1', done: 1 }, { message: 'step 2', done: 2 }, { message: 'step 3', done: 3 }]);
    expect(result).toEqual({ echoed: { n: 1 } });
    await expect(controlRequest(s.socketPath, 'fail')).rejects.toThrow(new ControlRequestError('cannot do that'));
    await expect(controlRequest(s.socketPath, 'nope')).rejects.toThrow(/unknown control request "nope" \(this mount handles: info, work, fail\)/);
    expect(() => s.handle('work', async () => 1)).toThrow(/already has a handler/);
  });

  test('a handler learns when its client goes away', async () => {
    const s = await bind(scratch('control'));
    let aborted: () => void;
    const sawAbort = new Promise<void>((r) => { aborted = r; });
    s.handle('wait', async (_args, { signal }) => {
      await new Promise<void>((r) => signal.addEventListener('abort', () => r()));
      aborted();
      return null;
    });
    const gone = new AbortController();
    const request = controlRequest(s.socketPath, 'wait', { signal: gone.signal });
    setTimeout(() => gone.abort(), 100);
    await expect(request).rejects.toThrow();
    await sawAbort;
  });

  test('close() removes the socket; later requests cannot connect', async () => {
    const s = await ControlServer.bind(scratch('control'), info());
    await s.close();
    await expect(controlRequest(s.socketPath, 'info')).rejects.toBeInstanceOf(ControlUnavailableError);
  });

  test('a cache dir too long for a socket path is refused with what to do', async () => {
    const dir = join(scratch('control'), 'x'.repeat(100));
    mkdirSync(dir);
    await expect(ControlServer.bind(dir, info())).rejects.toThrow(/too long for the mount's control socket .* use a shorter --cache-dir/);
  });
});

describe('the mount registry', () => {
  test('finds a live mount by its mountpoint; private files; removed by its owner', async () => {
    const env = { XDG_RUNTIME_DIR: scratch('runtime') };
    const mnt = join(scratch('reg'), 'mnt');
    const remove = await registerMount({ ...info({ mountpoint: mnt }), socket: '/s' }, env);
    expect(registryDir(env)).toBe(join(env.XDG_RUNTIME_DIR, 'filesfs', 'mounts'));
    expect(statSync(registryDir(env)).mode & 0o777).toBe(0o700);
    const [file] = readdirSync(registryDir(env));
    expect(statSync(join(registryDir(env), file!)).mode & 0o777).toBe(0o600);
    expect(await findMount(mnt, env)).toMatchObject({ mountpoint: mnt, pid: process.pid, socket: '/s' });
    expect(await findMount(`${mnt}/`, env)).toMatchObject({ mountpoint: mnt });
    expect(await listMounts(env)).toHaveLength(1);
    await remove();
    expect(await findMount(mnt, env)).toBeUndefined();
  });

  test('a record whose process is gone is ignored and removed', async () => {
    const env = { XDG_RUNTIME_DIR: scratch('runtime') };
    const mnt = join(scratch('reg'), 'mnt');
    const child = spawn(process.execPath, ['-e', '0']);
    await new Promise<void>((r) => child.once('exit', () => r()));
    await registerMount({ ...info({ mountpoint: mnt, pid: child.pid! }), socket: '/s' }, env);
    expect(await findMount(mnt, env)).toBeUndefined();
    expect(readdirSync(registryDir(env))).toEqual([]);
  });

  test('without XDG_RUNTIME_DIR it lives in /run/filesfs (root) or /tmp/filesfs-<uid>; a folder of someone else is refused', async () => {
    expect(registryDir({})).toBe(process.getuid!() === 0 ? '/run/filesfs/mounts' : `/tmp/filesfs-${process.getuid!()}/mounts`);
    const runtime = scratch('runtime');
    writeFileSync(join(runtime, 'filesfs'), 'not a folder');
    await expect(registerMount({ ...info(), socket: '/s' }, { XDG_RUNTIME_DIR: runtime })).rejects.toThrow();
  });
});
