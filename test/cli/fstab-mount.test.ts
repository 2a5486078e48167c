// filesfs under mount(8), umount(8) and /etc/fstab, on real mounts.
//
// mount(8) finds helpers only in /sbin and runs them with PATH removed, and
// the system's mount.fuse runs `filesfs` through /bin/sh's built-in PATH
// (/usr/local/sbin first). So that no test touches the machine's /usr or
// /etc, the mount(8) tests run in a private mount namespace (unshare -m)
// where an overlay adds a `filesfs` link to /usr/local/sbin (and, for the
// umount helper, `umount.fuse.filesfs` to /usr/sbin), a tmpfs hides
// /run/mount (libmount's utab), and the test's fstab is bound over
// /etc/fstab. The mount process lives in that namespace: each script does
// its whole mount … umount there, and the mount process is killed by pid if
// a test fails halfway.
import { existsSync, mkdirSync, readdirSync, readFileSync, symlinkSync, writeFileSync, chmodSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, afterEach, describe, expect, test } from 'vitest';
import { createFilesClient, type FilesClient } from '../../src/client/index.js';
import { findMount, processAlive } from '../../src/control/registry.js';
import { useEmulator } from '../support/emulator.js';
import { cliEnv, inMountTable, q, REPO, runCli, runProgram, scratch, sh, startMount, stopMounts, waitUnmounted } from '../support/mount.js';

const API_KEY = 'fstabKey42XYZ';
const emu = useEmulator({ apiKey: API_KEY });
const BIN = join(REPO, 'bin', 'filesfs.js');

let client: FilesClient | undefined;
function server(): FilesClient {
  client ??= createFilesClient({ baseUrl: emu().url, credentials: { apiKey: API_KEY }, retries: 0 });
  return client;
}

afterAll(async () => {
  await client?.close();
});

/** Mount processes started inside a namespace, killed if a test left them running. */
const daemons = new Set<number>();
afterEach(async () => {
  await stopMounts();
  for (const pid of daemons) if (processAlive(pid)) process.kill(pid, 'SIGKILL');
  daemons.clear();
});

async function serverText(path: string): Promise<string | undefined> {
  try {
    let text = '';
    for await (const chunk of await server().createReadStream(path)) text += (chunk as Buffer).toString('utf8');
    return text;
  } catch {
    return undefined;
  }
}

async function until<T>(probe: () => Promise<T | undefined>, timeoutMs = 30_000): Promise<T | undefined> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined || Date.now() > deadline) return value;
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** A key file only its owner can read, and a scratch folder for one test. */
function setup(name: string): { dir: string; key: string; mnt: string; cache: string; env: NodeJS.ProcessEnv } {
  const dir = scratch(name);
  const key = join(dir, 'key');
  writeFileSync(key, `${API_KEY}\n`, { mode: 0o600 });
  const mnt = join(dir, 'mnt');
  mkdirSync(mnt);
  return { dir, key, mnt, cache: join(dir, 'cache'), env: cliEnv() };
}

/** Runs `script` (bash) in a private mount namespace prepared as described at the top. */
function inNamespace(dir: string, script: string, options: { umountHelper: boolean; fstab?: string; env: NodeJS.ProcessEnv }) {
  const localSbin = join(dir, 'local-sbin');
  const sbin = join(dir, 'sbin');
  mkdirSync(localSbin, { recursive: true });
  mkdirSync(sbin, { recursive: true });
  if (!existsSync(join(localSbin, 'filesfs'))) symlinkSync(BIN, join(localSbin, 'filesfs'));
  if (options.umountHelper && !existsSync(join(sbin, 'umount.fuse.filesfs'))) symlinkSync(BIN, join(sbin, 'umount.fuse.filesfs'));
  const fstab = join(dir, 'fstab');
  writeFileSync(fstab, options.fstab ?? '');
  const prepare = [
    'set -u',
    `mount -t overlay overlay -o lowerdir=${q(localSbin)}:/usr/local/sbin /usr/local/sbin`,
    options.umountHelper ? `mount -t overlay overlay -o lowerdir=${q(sbin)}:/usr/sbin /usr/sbin` : ':',
    'mount -t tmpfs tmpfs /run/mount',
    `mount --bind ${q(fstab)} /etc/fstab`,
    'cd /',
  ].join('\n');
  return runProgram('unshare', ['-m', '--propagation', 'private', 'bash', '-c', `${prepare}\n${script}`], { env: options.env, timeoutMs: 90_000 });
}

/** The pid of the filesfs process serving `mnt` (from the mount registry of `env`). */
async function mountPid(mnt: string, env: NodeJS.ProcessEnv): Promise<number | undefined> {
  return (await findMount(mnt, env))?.pid;
}

describe('mount(8) and /etc/fstab', () => {
  test('an fstab line with _netdev: mount, ls, cp in, umount (which waits for the upload): the server has the file', async () => {
    const { dir, key, mnt, cache, env } = setup('fstab');
    writeFileSync(join(dir, 'report.txt'), 'quarterly numbers\n');
    await server().mkdir('Team');
    const line = `${emu().url} ${mnt} fuse.filesfs _netdev,nofail,api_key_file=${key},cache_dir=${cache},root=Team,upload_delay=60000 0 0\n`;
    const r = await inNamespace(dir, [
      `mount ${q(mnt)}; echo "mount=$?"`,
      `grep ' ${mnt} ' /proc/self/mountinfo | sed 's/.* - //'`,
      `cp ${q(join(dir, 'report.txt'))} ${q(mnt)}/ && echo copied`,
      `ls ${q(mnt)}`,
      `umount ${q(mnt)}; echo "umount=$?"`,
      `grep -c ' ${mnt} ' /proc/self/mountinfo || true`,
    ].join('\n'), { umountHelper: true, fstab: line, env });
    expect(r.stdout, r.stderr).toContain('mount=0\n');
    expect(r.stdout).toContain(`fuse.filesfs 127.0.0.1:${emu().port}:/Team rw`);
    expect(r.stdout).toContain('copied\nreport.txt\n');
    expect(r.stdout).toContain('umount=0\n0\n');
    // umount ran /sbin/umount.fuse.filesfs, which waited for the upload (upload_delay is a minute).
    expect(r.stderr).toContain('filesfs: uploading 1 file (18 B) before unmounting');
    expect(await serverText('Team/report.txt')).toBe('quarterly numbers\n');
    expect(readdirSync(join(cache, 'journal'))).toEqual([]);
  });

  test('mount -t fuse.filesfs SITE DIR -o OPTIONS; umount without the helper: the mount goes at once, the upload finishes in the background', async () => {
    const { dir, key, mnt, cache, env } = setup('mount-t');
    const r = await inNamespace(dir, [
      `mount -t fuse.filesfs ${q(emu().url)} ${q(mnt)} -o api_key_file=${q(key)},cache_dir=${q(cache)},upload_delay=60000; echo "mount=$?"`,
      `echo hello > ${q(mnt)}/later.txt`,
      `umount ${q(mnt)}; echo "umount=$?"`,
      `grep -c ' ${mnt} ' /proc/self/mountinfo || true`,
    ].join('\n'), { umountHelper: false, env });
    expect(r.stdout, r.stderr).toBe('mount=0\numount=0\n0\n');
    expect(r.stderr).toBe('');
    expect(await until(() => serverText('later.txt'))).toBe('hello\n');
    const log = await until(async () => {
      const text = readFileSync(join(cache, 'filesfs.log'), 'utf8');
      return text.includes('] unmounted ') ? text : undefined;
    });
    expect(log).toContain(`${mnt} was unmounted from outside (umount or fusermount3 -u): pending uploads, if any, go on from the cache dir ${cache} before this process exits; if it is stopped first, they stay in its journal and resume at the next mount`);
    expect(log).toContain('uploaded 1 file (6 B)');
  });

  test('mount(8) reports a failure with the helper\'s exit status and one line; nothing is mounted', async () => {
    const { dir, key, mnt, cache, env } = setup('mount-fail');
    const r = await inNamespace(dir, [
      `mount -t fuse.filesfs ${q(emu().url)} ${q(mnt)} -o api_key_file=${q(key)},cache_dir=${q(cache)},attr_tl=5; echo "mount=$?"`,
      `mount -t fuse.filesfs http://127.0.0.1:1 ${q(mnt)} -o api_key_file=${q(key)},cache_dir=${q(cache)}; echo "mount=$?"`,
      `grep -c ' ${mnt} ' /proc/self/mountinfo || true`,
    ].join('\n'), { umountHelper: false, env });
    expect(r.stdout).toBe('mount=2\nmount=1\n0\n');
    expect(r.stderr).toContain('filesfs: -o attr_tl: unknown mount option; did you mean attr_ttl?');
    expect(r.stderr).toContain('cannot reach http://127.0.0.1:1');
  });
});

describe('filesfs SITE MOUNTPOINT -o OPTIONS (what mount.fuse runs)', () => {
  test('silent, exit 0 once mounted, in the background; filesfs unmount stops it', async () => {
    const { key, mnt, cache, env } = setup('helper-form');
    const r = await runCli([emu().url, mnt, '-o', `rw,dev,suid,api_key_file=${key},cache_dir=${cache}`], { env });
    expect(r).toMatchObject({ code: 0, stdout: '', stderr: '' });
    expect(await inMountTable(mnt)).toBe(true);
    const pid = await mountPid(mnt, env);
    expect(pid).toBeDefined();
    daemons.add(pid!);
    expect((await sh(`ls -a ${q(mnt)}`)).code).toBe(0);
    const u = await runCli(['unmount', mnt], { env });
    expect(u.code, u.stderr).toBe(0);
    expect(await inMountTable(mnt)).toBe(false);
  });

  test.each([
    ['a key on the line', 2, (k: string, c: string) => `api_key=${API_KEY},cache_dir=${c},api_key_file=${k}`, /^filesfs: -o api_key: not accepted: a key on a mount line is readable by every user/],
    ['an unknown option', 2, (k: string, c: string) => `api_key_file=${k},cache_dir=${c},bogus_option`, /^filesfs: -o bogus_option: unknown or unsupported mount option/],
    ['base_url beside the site', 2, (k: string, c: string) => `api_key_file=${k},cache_dir=${c},base_url=https://x.files.com`, /^filesfs: -o base_url: the site is the mount source/],
  ] as const)('%s: exit %i, one line, nothing mounted', async (_what, code, options, expected) => {
    const { key, mnt, cache, env } = setup('helper-refusal');
    const r = await runCli([emu().url, mnt, '-o', options(key, cache)], { env });
    expect(r.code).toBe(code);
    expect(r.stderr).toMatch(expected);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).not.toContain(API_KEY);
    expect(await inMountTable(mnt)).toBe(false);
  });

  test('a key file other users can read is refused (filesfs mount only warns)', async () => {
    const { key, mnt, cache, env } = setup('helper-keyfile');
    chmodSync(key, 0o644);
    const r = await runCli([emu().url, mnt, '-o', `api_key_file=${key},cache_dir=${cache}`], { env });
    expect(r.code).toBe(2);
    expect(r.stderr).toBe(`filesfs: api_key_file ${key} is readable by other users (mode 0644); only its owner may read it: chown root:root ${key} && chmod 600 ${key}\n`);
    expect(await inMountTable(mnt)).toBe(false);
  });

  test('the site down: exit 1, what the mount said, nothing mounted', async () => {
    const { key, mnt, cache, env } = setup('helper-down');
    const r = await runCli(['http://127.0.0.1:1', mnt, '-o', `api_key_file=${key},cache_dir=${cache}`], { env });
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('filesfs: cannot reach http://127.0.0.1:1');
    expect(r.stderr).toContain('the background mount did not start (exit status 1)');
    expect(await inMountTable(mnt)).toBe(false);
  });

  test('a mistyped command is still an unknown command, not a site', async () => {
    const r = await runCli(['unmonut', '/mnt/x']);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/^filesfs: unknown command "unmonut"/);
  });
});

describe('umount without waiting, and the journal', () => {
  test('umount while uploads are pending, the mount process killed before it finishes: the next mount uploads them', async () => {
    const { key, mnt, cache, env } = setup('umount-kill');
    const r = await runCli([emu().url, mnt, '-o', `api_key_file=${key},cache_dir=${cache},upload_delay=600000`], { env });
    expect(r.code, r.stderr).toBe(0);
    const pid = (await mountPid(mnt, env))!;
    daemons.add(pid);
    const size = 2 * 1024 * 1024;
    expect((await sh(`head -c ${size} /dev/zero | tr '\\0' x > ${q(mnt)}/big.txt`)).code).toBe(0);
    expect(readdirSync(join(cache, 'journal'))).toHaveLength(1);
    // Slow enough that the upload is still running when the process is killed.
    emu().configure({ bandwidth: 64 * 1024 });
    try {
      expect((await runProgram('umount', [mnt])).code).toBe(0);
      expect(await inMountTable(mnt)).toBe(false);
      await until(async () => (readFileSync(join(cache, 'filesfs.log'), 'utf8').includes('uploading 1 file (2.0 MiB) before unmounting') ? true : undefined), 10_000);
      process.kill(pid, 'SIGKILL');
      await until(async () => (processAlive(pid) ? undefined : true), 10_000);
    } finally {
      emu().configure({ bandwidth: 0 });
    }
    expect(await serverText('big.txt')).toBeUndefined();
    expect(readdirSync(join(cache, 'journal'))).toHaveLength(1);

    const again = await startMount({ url: emu().url, mountpoint: mnt, cacheDir: cache, env, args: ['--api-key-file', key] });
    expect(await until(async () => ((await serverText('big.txt'))?.length === size ? true : undefined), 60_000)).toBe(true);
    await again.stop();
    expect(await waitUnmounted(mnt)).toBe(true);
  });

  test('the umount helper by its name: waits for uploads; with -f it does not, and says what stays in the journal', async () => {
    const { dir, key, mnt, cache, env } = setup('umount-helper');
    const helper = join(dir, 'umount.fuse.filesfs');
    symlinkSync(BIN, helper);
    for (const [flags, waits] of [[[], true], [['-f'], false]] as const) {
      const name = waits ? 'waited.txt' : 'forced.txt';
      expect((await runCli([emu().url, mnt, '-o', `api_key_file=${key},cache_dir=${cache},upload_delay=600000`], { env })).code).toBe(0);
      daemons.add((await mountPid(mnt, env))!);
      expect((await sh(`echo ${name} > ${q(mnt)}/${name}`)).code).toBe(0);
      const u = await runProgram(helper, [mnt, ...flags], { env });
      expect(u.code, u.stderr).toBe(0);
      expect(await inMountTable(mnt)).toBe(false);
      if (waits) {
        expect(u.stderr).toContain('filesfs: uploaded 1 file');
        expect(await serverText(name)).toBe(`${name}\n`);
      } else {
        expect(u.stderr).toContain(`filesfs: unmounting without waiting: 1 upload (11 B) left pending in the journal in ${cache}; mounting again with this cache dir resumes it`);
        expect(readdirSync(join(cache, 'journal'))).toHaveLength(1);
      }
    }
  });
});
