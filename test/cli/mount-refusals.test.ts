// What `filesfs mount` refuses before mounting, as the user sees it: one line
// on stderr, a non-zero exit (2 for what the user must fix, 1 for a server
// that cannot be reached), nothing mounted and, for a wrong key or root, no
// cache dir created.
import { createServer } from 'node:net';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, test } from 'vitest';
import { HttpFilesClient } from '../../src/client/http-files-client.js';
import { useEmulator } from '../support/emulator.js';
import { cliEnv, inMountTable, isMounted, runCli, scratch, sh, startMount, stopMounts } from '../support/mount.js';

const API_KEY = 'refusalsKey42';
const emu = useEmulator({ apiKey: API_KEY });

afterEach(stopMounts);

function mountpoint(): string {
  const mnt = join(scratch('refusal'), 'mnt');
  mkdirSync(mnt);
  return mnt;
}

/** `filesfs mount` expected to fail: returns its one stderr line. */
async function refused(args: string[], env: NodeJS.ProcessEnv, code: number): Promise<string> {
  const r = await runCli(['mount', ...args], { env });
  expect(r.code, r.stderr).toBe(code);
  expect(r.stdout).toBe('');
  const lines = r.stderr.trimEnd().split('\n');
  expect(lines, r.stderr).toHaveLength(1);
  expect(lines[0]).toMatch(/^filesfs: /);
  return lines[0]!;
}

describe('refused before mounting', () => {
  test('a wrong API key: one line naming the site and where the key came from', async () => {
    const mnt = mountpoint();
    const cacheDir = join(scratch('cache'), 'c');
    const line = await refused([mnt, '--base-url', emu().url, '--cache-dir', cacheDir], cliEnv({ FILES_API_KEY: 'wrongKey999' }), 2);
    expect(line).toBe(`filesfs: ${emu().url} refused the credentials from $FILES_API_KEY: Invalid API key.`);
    expect(await isMounted(mnt)).toBe(false);
    expect(existsSync(cacheDir)).toBe(false);
  });

  test('a wrong key in --api-key-file; a file others can read gets a warning', async () => {
    const keyFile = join(scratch('key'), 'key');
    writeFileSync(keyFile, 'wrongKey999\n', { mode: 0o644 });
    const r = await runCli(['mount', mountpoint(), '--base-url', emu().url, '--api-key-file', keyFile], { env: cliEnv() });
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(`is readable by other users (mode 644); run: chmod 600 ${keyFile}`);
    expect(r.stderr).toContain(`refused the credentials from --api-key-file ${keyFile}: Invalid API key.`);
    expect(r.stderr).not.toContain('wrongKey999');
  });

  test('no credentials at all: what to set', async () => {
    const line = await refused([mountpoint(), '--base-url', emu().url], cliEnv(), 2);
    expect(line).toMatch(/^filesfs: no credentials for 127\.0\.0\.1: set FILES_API_KEY, or pass --api-key-file PATH/);
  });

  test('--api-key on the command line is refused and never echoed', async () => {
    const line = await refused([mountpoint(), '--base-url', emu().url, '--api-key', API_KEY], cliEnv(), 2);
    expect(line).toMatch(/^filesfs: --api-key is not accepted: .* set FILES_API_KEY .* --api-key-file FILE$/);
    expect(line).not.toContain(API_KEY);
  });

  test('a --root that does not exist, or is a file', async () => {
    const env = cliEnv({ FILES_API_KEY: API_KEY });
    const client = new HttpFilesClient({ baseUrl: emu().url, credentials: { apiKey: API_KEY }, logLevel: 'silent' });
    await client.upload('a-file.txt', { buffer: Buffer.from('x') });
    await client.close();
    expect(await refused([mountpoint(), '--base-url', emu().url, '--root', 'missing/folder'], env, 2))
      .toBe(`filesfs: --root missing/folder: no such folder on ${emu().url}`);
    expect(await refused([mountpoint(), '--base-url', emu().url, '--root', 'A-FILE.txt'], env, 2))
      .toBe(`filesfs: --root A-FILE.txt: is a file on ${emu().url}, not a folder`);
  });

  test('a server that is down: one line naming the URL and the cause', async () => {
    const port = await new Promise<number>((resolve) => {
      const server = createServer().listen(0, '127.0.0.1', () => {
        const p = (server.address() as { port: number }).port;
        server.close(() => resolve(p));
      });
    });
    const url = `http://127.0.0.1:${port}`;
    const line = await refused([mountpoint(), '--base-url', url, '--retries', '0'], cliEnv({ FILES_API_KEY: API_KEY }), 1);
    expect(line).toBe(`filesfs: cannot reach ${url}: connect ECONNREFUSED 127.0.0.1:${port} (is the server up, and is --base-url right?)`);
  });

  test('a missing mountpoint, a file, a non-empty folder', async () => {
    const env = cliEnv({ FILES_API_KEY: API_KEY });
    const base = scratch('mp');
    expect(await refused([join(base, 'nope'), '--base-url', emu().url], env, 2))
      .toBe(`filesfs: mountpoint ${join(base, 'nope')} does not exist; create it first: mkdir -p ${join(base, 'nope')}`);
    writeFileSync(join(base, 'file'), 'x');
    expect(await refused([join(base, 'file'), '--base-url', emu().url], env, 2)).toBe(`filesfs: ${join(base, 'file')} is not a folder; mount on an empty folder`);
    const full = mountpoint();
    writeFileSync(join(full, 'notes.txt'), 'mine');
    expect(await refused([full, '--base-url', emu().url], env, 2))
      .toBe(`filesfs: ${full} is not empty (1 entry, e.g. "notes.txt"); mount on an empty folder, or pass -o nonempty to mount over it (its contents are hidden while mounted)`);
  });

  test('a cache dir another mount uses: names that mount and its pid', async () => {
    const first = await startMount({ url: emu().url, apiKey: API_KEY });
    const line = await refused([mountpoint(), '--base-url', emu().url, '--cache-dir', first.cacheDir], first.env, 2);
    expect(line).toBe(`filesfs: cache dir ${first.cacheDir} is in use by the filesfs mount at ${first.mountpoint} (pid ${first.pid}); unmount it first, or use --cache-dir to choose another cache dir`);
    expect(await isMounted(first.mountpoint)).toBe(true);
  });

  test('the mountpoint of a live mount: already a mountpoint', async () => {
    const first = await startMount({ url: emu().url, apiKey: API_KEY });
    const line = await refused([first.mountpoint, '--base-url', emu().url, '--cache-dir', join(scratch('cache'), 'c')], first.env, 2);
    expect(line).toMatch(new RegExp(`^filesfs: ${first.mountpoint} is already a mountpoint \\(fuse\\.filesfs from 127\\.0\\.0\\.1:\\d+:/\\); unmount it first: fusermount3 -u `));
  });

  test('a stale mount (its process was killed): says so and what to run; filesfs unmount cleans it', async () => {
    const dead = await startMount({ url: emu().url, apiKey: API_KEY });
    dead.child.kill('SIGKILL');
    await dead.exited;
    expect(await inMountTable(dead.mountpoint)).toBe(true);
    const line = await refused([dead.mountpoint, '--base-url', emu().url, '--cache-dir', join(scratch('cache'), 'c')], dead.env, 2);
    expect(line).toBe(`filesfs: ${dead.mountpoint} is a stale filesfs/FUSE mount (Transport endpoint is not connected: the process that served it is gone); run \`fusermount3 -uz ${dead.mountpoint}\` (or \`filesfs unmount ${dead.mountpoint}\`)`);
    const r = await runCli(['unmount', dead.mountpoint], { env: dead.env });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr.trim()).toBe(`filesfs: unmounted ${dead.mountpoint} (fuse.filesfs; no running filesfs process served it, so fusermount3 -u did)`);
    expect(await inMountTable(dead.mountpoint)).toBe(false);
    // And the cache dir's stale socket does not stop the next mount there.
    const again = await startMount({ url: emu().url, apiKey: API_KEY, mountpoint: dead.mountpoint, cacheDir: dead.cacheDir, env: dead.env });
    expect(await isMounted(again.mountpoint)).toBe(true);
  });

  test('a mount killed with uploads pending: filesfs unmount cleans it, exits 3 and says where the uploads wait; the next mount sends them', async () => {
    const dead = await startMount({ url: emu().url, apiKey: API_KEY, args: ['--upload-delay', '600000'] });
    const write = await sh(`printf 'not uploaded yet' > '${join(dead.mountpoint, 'waiting.txt')}'`);
    expect(write.code, `${write.stderr}\n${dead.stderr()}`).toBe(0);
    dead.child.kill('SIGKILL');
    await dead.exited;
    const r = await runCli(['unmount', dead.mountpoint], { env: dead.env });
    expect(r.code, r.stderr).toBe(3);
    expect(r.stderr).toContain(`left in the journal of ${dead.cacheDir}: they resume at the next mount`);
    expect(await inMountTable(dead.mountpoint)).toBe(false);
    const again = await startMount({ url: emu().url, apiKey: API_KEY, mountpoint: dead.mountpoint, cacheDir: dead.cacheDir, env: dead.env });
    const done = await runCli(['unmount', again.mountpoint], { env: again.env });
    expect(done.code, done.stderr).toBe(0);
    const check = new HttpFilesClient({ baseUrl: emu().url, credentials: { apiKey: API_KEY }, logLevel: 'silent' });
    try {
      expect((await check.stat('waiting.txt')).size).toBe('not uploaded yet'.length);
    } finally {
      await check.close();
    }
  });
});
