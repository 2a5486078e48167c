// What mountFilesystem refuses, with which message, and how unmount copes with
// a busy mount. Each test cleans up its own mounts (lazily if need be).
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { mkdir, stat, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, test } from 'vitest';
import { ConfigError } from '../../src/options/config-error.js';
import { createLogger } from '../../src/log/logger.js';
import type { Mount } from '../../src/fuse/mount.js';
import { MountError, isMountpoint, lazyUnmount, mountFilesystem } from '../../src/fuse/mount.js';
import { createOperations } from '../../src/fuse/adapter.js';
import { FilesfsFuse } from '../../src/fuse/filesfs-fuse.js';
import { ACCEPTED_OPTIONS } from '../../src/fuse/mount-options.js';
import { MemoryFilesystem } from './support/memory-filesystem.js';
import { scratchDir, sh } from './support/shell.js';

const here = dirname(fileURLToPath(import.meta.url));
const mounts: Mount[] = [];
const mountpoints: string[] = [];
const children: ChildProcess[] = [];

afterEach(async () => {
  for (const child of children.splice(0)) child.kill('SIGKILL');
  for (const m of mounts.splice(0)) await m.unmount().catch(() => undefined);
  for (const p of mountpoints.splice(0)) await lazyUnmount(p).catch(() => undefined);
});

async function freshMountpoint(name: string): Promise<string> {
  const mnt = join(await scratchDir(name), 'mnt');
  await mkdir(mnt);
  mountpoints.push(mnt);
  return mnt;
}

async function mountTracked(mnt: string, options: Parameters<typeof mountFilesystem>[2] = {}): Promise<Mount> {
  const m = await mountFilesystem(new MemoryFilesystem(), mnt, options);
  mounts.push(m);
  return m;
}

async function refusal(promise: Promise<unknown>): Promise<MountError> {
  const err = await promise.then(() => undefined, (e: unknown) => e);
  expect(err).toBeInstanceOf(MountError);
  expect(err).toBeInstanceOf(ConfigError);
  return err as MountError;
}

/** Starts a process holding a stock fuse-native mount at `mnt`; resolves once mounted. */
function holdMount(mnt: string): Promise<ChildProcess> {
  const requireHere = createRequire(import.meta.url);
  const child = spawn(process.execPath, [join(here, 'support', 'hold-mount.cjs'), mnt], {
    stdio: ['ignore', 'pipe', 'inherit'],
    env: { ...process.env, NODE_PATH: join(dirname(requireHere.resolve('fuse-native/package.json')), '..') },
  });
  children.push(child);
  return new Promise((resolve, reject) => {
    child.stdout!.on('data', (chunk: Buffer) => { if (chunk.toString().includes('mounted')) resolve(child); });
    child.on('exit', (code) => reject(new Error(`hold-mount exited with ${code}`)));
  });
}

describe('mountpoint checks', () => {
  test('a missing mountpoint', async () => {
    const base = await scratchDir('missing');
    const err = await refusal(mountFilesystem(new MemoryFilesystem(), join(base, 'nope')));
    expect(err.reason).toBe('mountpoint-missing');
    expect(err.message).toContain(`mkdir -p ${join(base, 'nope')}`);
  });

  test('a file as mountpoint', async () => {
    const file = join(await scratchDir('file'), 'f');
    await writeFile(file, 'x');
    expect((await refusal(mountFilesystem(new MemoryFilesystem(), file))).reason).toBe('mountpoint-not-directory');
  });

  test('a non-empty folder is refused unless allowNonEmpty (-o nonempty)', async () => {
    const mnt = await freshMountpoint('nonempty');
    await writeFile(join(mnt, 'existing.txt'), 'x');
    const err = await refusal(mountFilesystem(new MemoryFilesystem(), mnt));
    expect(err.reason).toBe('mountpoint-not-empty');
    expect(err.message).toMatch(/is not empty \(1 entry, e\.g\. "existing\.txt"\).*-o nonempty/);
    const m = await mountTracked(mnt, { allowNonEmpty: true });
    expect((await sh(`ls '${mnt}'`)).stdout).toContain('hello.txt');
    await m.unmount();
    const viaOption = await mountTracked(mnt, { extraOptions: ['nonempty'] });
    await viaOption.unmount();
    expect(await isMountpoint(mnt)).toBe(false);
  });

  test('a folder that already has a mount', async () => {
    const mnt = await freshMountpoint('twice');
    await mountTracked(mnt);
    const err = await refusal(mountFilesystem(new MemoryFilesystem(), mnt));
    expect(err.reason).toBe('already-mounted');
    expect(err.message).toContain('fuse.filesfs');
  });

  test('a stale mount left by a killed process: clear message, then cleaned on request', async () => {
    const mnt = await freshMountpoint('stale');
    const child = await holdMount(mnt);
    child.kill('SIGKILL');
    await new Promise((r) => child.once('exit', r));
    const statError = await stat(mnt).then(() => undefined, (e: NodeJS.ErrnoException) => e.code);
    expect(statError).toBe('ENOTCONN');
    expect(await isMountpoint(mnt)).toBe(true);

    const err = await refusal(mountFilesystem(new MemoryFilesystem(), mnt));
    expect(err.reason).toBe('stale-mount');
    expect(err.message).toBe(`${mnt} is a stale filesfs/FUSE mount (Transport endpoint is not connected: the process that served it is gone); run \`fusermount3 -uz ${mnt}\` (or \`filesfs unmount ${mnt}\`)`);

    const lines: string[] = [];
    await mountTracked(mnt, { cleanStaleMount: true, logger: createLogger({ level: 'warn', sink: (l) => lines.push(l) }) });
    expect(lines.join('\n')).toMatch(/stale FUSE mount/);
    expect((await sh(`cat '${mnt}/hello.txt'`)).stdout).toBe('hello world\n');
  });

  test('FUSE missing on the machine: every problem with what to do', async () => {
    const mnt = await freshMountpoint('nofuse');
    const err = await refusal(mountFilesystem(new MemoryFilesystem(), mnt, {
      detect: () => ({ ok: false, libfuse: undefined, fusermount: undefined, problems: [{ check: 'fusermount', problem: 'fusermount3 is not on PATH', fix: 'sudo apt-get install libfuse3-3 fuse3' }] }),
    }));
    expect(err.reason).toBe('fuse-unavailable');
    expect(err.message).toContain('fusermount3 is not on PATH: sudo apt-get install libfuse3-3 fuse3');
    expect(await isMountpoint(mnt)).toBe(false);
  });

  test('a -o option filesfs owns is refused before mounting', async () => {
    const mnt = await freshMountpoint('badopt');
    const err = await mountFilesystem(new MemoryFilesystem(), mnt, { extraOptions: ['max_write=4096'] }).then(() => undefined, (e: unknown) => e);
    expect(err).toBeInstanceOf(ConfigError);
    expect((err as Error).message).toMatch(/-o max_write: not accepted/);
    expect(await isMountpoint(mnt)).toBe(false);
  });
});

describe('what libfuse 3 itself refuses', () => {
  test('every option -o accepts is one libfuse 3 (or our binding) accepts: the mount works', async () => {
    const samples: Record<string, string> = {
      max_read: '1048576', max_readahead: '131072', max_background: '16', congestion_threshold: '12', remember: '5',
      max_threads: '8', intr_signal: '10', uid: '0', gid: '0',
    };
    const skip = new Set(['debug', 'ro']); // debug floods stderr; ro, for once, would hide nothing but is tested below
    const options = Object.entries(ACCEPTED_OPTIONS).filter(([name]) => !skip.has(name)).map(([name, kind]) => {
      if (kind === 'flag') return name;
      if (kind === 'seconds') return `${name}=1`;
      if (kind === 'octal') return `${name}=022`;
      expect(samples[name], `a sample value for ${name}`).toBeDefined();
      return `${name}=${samples[name]}`;
    });
    const mnt = await freshMountpoint('all-options');
    const m = await mountTracked(mnt, { extraOptions: [options.join(',')] });
    expect(m.options).toContain('max_threads=8');
    expect((await sh(`cat '${mnt}/hello.txt'`)).stdout).toBe('hello world\n');
  });

  test('an option libfuse refuses fails the mount with a message and leaves no mount behind', async () => {
    const mnt = await freshMountpoint('libfuse-refuses');
    const fuse = new FilesfsFuse(mnt, createOperations(new MemoryFilesystem()), '-ofsname=x,no_such_libfuse_option', 0);
    const err = await new Promise<Error | null>((resolve) => fuse.mount(resolve));
    expect(err?.message).toBe('libfuse refused the mount options');
    expect(await isMountpoint(mnt)).toBe(false);
  });
});

describe('options that change behaviour', () => {
  test('readOnly mounts ro: writes fail with EROFS in the kernel', async () => {
    const mnt = await freshMountpoint('ro');
    await mountTracked(mnt, { readOnly: true });
    const r = await sh(`LC_ALL=C touch '${mnt}/new'; LC_ALL=C mkdir '${mnt}/d'; cat '${mnt}/hello.txt'`);
    expect(r.stderr).toMatch(/touch: .*Read-only file system/);
    expect(r.stderr).toMatch(/mkdir: .*Read-only file system/);
    expect(r.stdout).toBe('hello world\n');
  });

  test('a given source name shows as the mount source', async () => {
    const mnt = await freshMountpoint('source');
    await mountTracked(mnt, { sourceName: 'example.files.com/Reports, Q1' });
    const r = await sh(`grep ' ${mnt} ' /proc/self/mountinfo`);
    expect(r.stdout).toContain(' - fuse.filesfs example.files.com/Reports__Q1 ');
  });
});

describe('unmount', () => {
  test('a busy mount is unmounted lazily, with a warning, and is gone afterwards', async () => {
    const mnt = await freshMountpoint('busy');
    const lines: string[] = [];
    const m = await mountTracked(mnt, { logger: createLogger({ level: 'warn', sink: (l) => lines.push(l) }) });
    // Not spawn(..., { cwd: mnt }): libuv blocks this process until the child
    // has changed directory, and that needs this process to answer FUSE.
    const sleeper = spawn('bash', ['-c', `cd '${mnt}' && echo ready && exec sleep 30`], { stdio: ['ignore', 'pipe', 'ignore'] });
    children.push(sleeper);
    await new Promise((r) => sleeper.stdout!.once('data', r));
    await m.unmount();
    expect(await isMountpoint(mnt)).toBe(false);
    expect(lines.join('\n')).toMatch(/is busy .*fusermount3 -uz/);
  });

  test('unmount twice is harmless; an externally unmounted mount unmounts cleanly', async () => {
    const mnt = await freshMountpoint('external');
    const m = await mountTracked(mnt);
    await sh(`fusermount3 -u '${mnt}'`);
    await m.unmount();
    await m.unmount();
    expect(await isMountpoint(mnt)).toBe(false);
  });
});
