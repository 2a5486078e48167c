// A mount process's life as a user drives it: mounted once `mountpoint -q`
// succeeds; SIGINT/SIGTERM unmount and exit 0, leaving no registry record or
// socket; `filesfs unmount` of a foreground or --daemon mount; an outside
// `fusermount3 -u` ends the process; nothing mounted is reported as such; no
// secret ever reaches the output, even at --log-level trace.
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, test } from 'vitest';
import { findMount } from '../../src/control/registry.js';
import { processAlive } from '../../src/control/registry.js';
import { useEmulator } from '../support/emulator.js';
import { cliEnv, inMountTable, isMounted, q, runCli, runProgram, scratch, sh, startMount, stopMounts, waitUnmounted } from '../support/mount.js';

const API_KEY = 'lifecycleKey42XYZ';
const emu = useEmulator({ apiKey: API_KEY });

afterEach(stopMounts);

async function until(condition: () => boolean, timeoutMs = 5_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition() && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
}

describe('stopping a foreground mount', () => {
  test.each(['SIGINT', 'SIGTERM'] as const)('%s unmounts, exits 0 and leaves nothing behind', async (signal) => {
    const m = await startMount({ url: emu().url, apiKey: API_KEY });
    // The line comes just after the kernel has the mount.
    await until(() => m.stderr().includes('] mounted '));
    expect(m.stderr()).toMatch(new RegExp(`INFO  \\[mount\\] mounted ${emu().url.replace(/[.]/g, '\\.')} at ${m.mountpoint} \\(cache dir ${m.cacheDir}\\); unmount with filesfs unmount ${m.mountpoint}`));
    const record = await findMount(m.mountpoint, m.env);
    expect(record).toMatchObject({ pid: m.pid, mountpoint: m.mountpoint, cacheDir: m.cacheDir, baseUrl: emu().url, root: '', socket: join(m.cacheDir, 'control.sock') });
    expect(statSync(m.cacheDir).mode & 0o777).toBe(0o700);

    const exit = await m.stop(signal);
    expect(exit).toEqual({ code: 0, signal: null });
    expect(await inMountTable(m.mountpoint)).toBe(false);
    expect(m.stderr()).toContain(`${signal} received: unmounting`);
    expect(m.stderr()).toContain(`unmounted ${m.mountpoint}`);
    expect(await findMount(m.mountpoint, m.env)).toBeUndefined();
    expect(readdirSync(join(m.env.XDG_RUNTIME_DIR!, 'filesfs', 'mounts'))).toEqual([]);
    expect(readdirSync(m.cacheDir)).not.toContain('control.sock');
  });

  test('SIGINT as soon as `mountpoint -q` succeeds is an ordinary stop: exit 0, unmounted', async () => {
    const m = await startMount({ url: emu().url, apiKey: API_KEY });
    expect(await m.stop('SIGINT')).toEqual({ code: 0, signal: null });
    expect(await inMountTable(m.mountpoint)).toBe(false);
    expect(await findMount(m.mountpoint, m.env)).toBeUndefined();
  });

  test('filesfs unmount as soon as `mountpoint -q` succeeds finds the mount process', async () => {
    const m = await startMount({ url: emu().url, apiKey: API_KEY });
    const r = await runCli(['unmount', m.mountpoint], { env: m.env });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).not.toContain('fusermount');
    expect(await m.exited).toEqual({ code: 0, signal: null });
  });

  test('filesfs unmount asks the mount process, waits for it to exit, exit 0', async () => {
    const m = await startMount({ url: emu().url, apiKey: API_KEY });
    const r = await runCli(['unmount', m.mountpoint], { env: m.env });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr.trim()).toBe(`filesfs: unmounted ${m.mountpoint}`);
    expect(processAlive(m.pid)).toBe(false);
    expect(await m.exited).toEqual({ code: 0, signal: null });
    expect(await inMountTable(m.mountpoint)).toBe(false);
    expect(m.stderr()).toContain('unmount requested (filesfs unmount): unmounting');
  });

  test('an outside fusermount3 -u ends the mount process with exit 0', async () => {
    const m = await startMount({ url: emu().url, apiKey: API_KEY });
    expect((await runProgram('fusermount3', ['-u', m.mountpoint])).code).toBe(0);
    expect(await m.exited).toEqual({ code: 0, signal: null });
    expect(m.stderr()).toContain(`${m.mountpoint} was unmounted from outside (umount or fusermount3 -u): pending uploads, if any, go on from the cache dir ${m.cacheDir} before this process exits`);
    expect(m.stderr()).toContain(`${m.mountpoint} was unmounted from outside: unmounting`);
    expect(await findMount(m.mountpoint, m.env)).toBeUndefined();
  });

  test('a busy mount is detached lazily on SIGTERM; the process still exits 0', async () => {
    const m = await startMount({ url: emu().url, apiKey: API_KEY });
    // A process holding a file open inside the mount (not its working folder: see test/support/mount.ts).
    const holder = await sh(`(exec 3<${q(`${m.mountpoint}`)}/. ; sleep 30) >/dev/null 2>&1 & echo $!`);
    const holderPid = Number(holder.stdout.trim());
    try {
      await new Promise((r) => setTimeout(r, 200));
      expect(await m.stop('SIGTERM')).toEqual({ code: 0, signal: null });
      expect(await inMountTable(m.mountpoint)).toBe(false);
      expect(m.stderr()).toContain('unmounting lazily with fusermount3 -uz');
    } finally {
      process.kill(holderPid, 'SIGKILL');
    }
  });
});

describe('--daemon', () => {
  test('detaches once mounted, says where the log is; filesfs unmount stops it', async () => {
    const env = cliEnv({ FILES_API_KEY: API_KEY });
    const mnt = join(scratch('daemon'), 'mnt');
    const cacheDir = join(scratch('cache'), 'c');
    await runProgram('mkdir', ['-p', mnt]);
    const r = await runCli(['mount', mnt, '--base-url', emu().url, '--cache-dir', cacheDir, '--daemon'], { env });
    let pid: number | undefined;
    try {
      expect(r.code, r.stderr).toBe(0);
      const logFile = join(cacheDir, 'filesfs.log');
      expect(r.stdout).toMatch(new RegExp(`^filesfs: mounted at ${mnt} in the background \\(pid \\d+\\); log: ${logFile}\\n`));
      pid = Number(/\(pid (\d+)\)/.exec(r.stdout)![1]);
      expect(await isMounted(mnt)).toBe(true);
      expect(processAlive(pid)).toBe(true);
      expect(statSync(logFile).mode & 0o777).toBe(0o600);
      expect(readFileSync(logFile, 'utf8')).toContain(`mounted ${emu().url} at ${mnt}`);
      // The detached process does not hold the caller's folder.
      expect(readFileSync(`/proc/${pid}/cmdline`, 'utf8')).not.toContain('--daemon');
      expect((await runProgram('readlink', [`/proc/${pid}/cwd`])).stdout.trim()).toBe('/');
      expect((await sh(`ls ${q(mnt)}`)).code).toBe(0);

      const u = await runCli(['unmount', mnt], { env });
      expect(u.code, u.stderr).toBe(0);
      expect(processAlive(pid)).toBe(false);
      expect(await inMountTable(mnt)).toBe(false);
      expect(readFileSync(logFile, 'utf8')).toContain(`unmounted ${mnt}`);
    } finally {
      if (pid && processAlive(pid)) process.kill(pid, 'SIGKILL');
      if (await inMountTable(mnt)) await runProgram('fusermount3', ['-uz', mnt]);
    }
  });

  test('a background mount that cannot start: the parent shows why and fails', async () => {
    const mnt = join(scratch('daemon'), 'mnt');
    await runProgram('mkdir', ['-p', mnt]);
    const cacheDir = join(scratch('cache'), 'c');
    const r = await runCli(['mount', mnt, '--base-url', emu().url, '--cache-dir', cacheDir, '--daemon'], { env: cliEnv({ FILES_API_KEY: 'wrongKey999' }) });
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(`filesfs: ${emu().url} refused the credentials from $FILES_API_KEY: Invalid API key.`);
    expect(r.stderr).toContain(`filesfs: the background mount did not start (exit status 2); log: ${join(cacheDir, 'filesfs.log')}`);
    expect(await isMounted(mnt)).toBe(false);
  });
});

describe('filesfs unmount', () => {
  test('of a folder nothing is mounted on: says so, exit 2', async () => {
    const dir = scratch('not-mounted');
    const r = await runCli(['unmount', dir], { env: cliEnv() });
    expect(r.code).toBe(2);
    expect(r.stderr.trim()).toBe(`filesfs: ${dir} is not mounted`);
  });
});

test('no secret in any output, even at --log-level trace', async () => {
  const m = await startMount({ url: emu().url, apiKey: API_KEY, args: ['--log-level', 'trace'] });
  await sh(`ls -lR ${q(m.mountpoint)} && mkdir ${q(`${m.mountpoint}/trace-dir`)} && ls ${q(`${m.mountpoint}/TRACE-DIR`)}`);
  const u = await runCli(['unmount', m.mountpoint], { env: m.env });
  expect(u.code).toBe(0);
  await waitUnmounted(m.mountpoint);
  await m.exited;
  expect(m.stderr()).toContain('TRACE');
  expect(m.stderr().split('\n').length).toBeGreaterThan(10);
  expect(m.stderr()).not.toContain(API_KEY);
  expect(u.stderr + u.stdout).not.toContain(API_KEY);
});
