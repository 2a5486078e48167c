// Write-back through real mounts with the tools people use:
// fsync returns only once the emulator has the file, and EIO when the
// emulator refuses it; editors' saves (vim, the write-temp-then-rename
// pattern, sed -i) and renames/deletes of pending files upload each file once
// under its final name (emulator statistics); truncate, append and random
// writes change existing remote files; cp -p keeps times; the cache dir's
// modes; a second mount on the same cache dir is refused; dd bs=1M reaches
// the filesystem in 1 MiB writes; a full cache disk fails the write with
// ENOSPC; `filesfs status` in both forms. The emulator runs in this process:
// nothing here touches a mount synchronously (see test/support/mount.ts).
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { HttpFilesClient } from '../../../src/client/http-files-client.js';
import { useEmulator } from '../../support/emulator.js';
import { q, runCli, runProgram, scratch, sh, startMount, stopMounts, type MountProcess } from '../../support/mount.js';
import { statusOf, waitDrained } from './mount-helpers.js';

const API_KEY = 'writeBackToolsKey42';
const emu = useEmulator({ apiKey: API_KEY });
let client: HttpFilesClient;
/** Uploads wait a minute: what reaches the server early does so because of fsync. */
let slow: MountProcess;
/** Uploads start 300 ms after the last close. */
let quick: MountProcess;

const sha256 = (b: Buffer | string): string => createHash('sha256').update(b).digest('hex');
const requests = () => emu().stats().requests;

async function ok(script: string): Promise<string> {
  const r = await sh(script, { timeoutMs: 60_000 });
  if (r.code !== 0) throw new Error(`${script} failed (${r.code}): ${r.stderr}`);
  return r.stdout;
}

async function serverBytes(path: string): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of await client.createReadStream(path)) chunks.push(c as Buffer);
  return Buffer.concat(chunks);
}

const serverText = async (path: string): Promise<string> => (await serverBytes(path)).toString();

const names = async (folder: string): Promise<string[]> => {
  const out: string[] = [];
  for await (const page of client.list(folder)) for (const e of page) out.push(e.name);
  return out.sort();
};

beforeAll(async () => {
  client = new HttpFilesClient({ baseUrl: emu().url, credentials: { apiKey: API_KEY }, logLevel: 'silent' });
  await client.mkdir('slow');
  await client.mkdir('quick');
  slow = await startMount({ url: emu().url, apiKey: API_KEY, args: ['--root', 'slow', '--upload-delay', '60000', '--attr-ttl', '600', '--dir-ttl', '600'] });
  quick = await startMount({ url: emu().url, apiKey: API_KEY, args: ['--root', 'quick', '--upload-delay', '300'] });
});

afterAll(async () => {
  await stopMounts();
  await client?.close();
});

describe('fsync', () => {
  test('returns only once the emulator has the file (a plain close does not wait)', async () => {
    const at = (p: string) => q(join(slow.mountpoint, p));
    await ok(`head -c 1000000 /dev/urandom > ${at('plain.bin')}`);
    await expect(client.stat('slow/plain.bin')).rejects.toMatchObject({ kind: 'not-found' });
    await ok(`dd if=/dev/urandom of=${at('synced.bin')} bs=64k count=20 conv=fsync status=none`);
    // Checked the instant dd returns: the upload delay is a minute.
    expect((await client.stat('slow/synced.bin')).size).toBe(20 * 65536);
    // Never a synchronous call on the mount here: this process serves the emulator it may need.
    expect(sha256(await serverBytes('slow/synced.bin'))).toBe(sha256(await readFile(join(slow.mountpoint, 'synced.bin'))));
  });

  test('returns EIO when the emulator refuses the upload (the folder became a file meanwhile); the data is kept and status shows it', async () => {
    // A folder on the server that the mount has seen (a mkdir here would be
    // written back after the upload delay, so it would not be on the server yet).
    await client.mkdir('slow/gone');
    await ok(`ls ${q(join(slow.mountpoint, 'gone'))}`);
    await client.delete('slow/gone', { recursive: true });
    await client.upload('slow/gone', { buffer: Buffer.from('a file now') });
    const r = await sh(`LC_ALL=C dd if=/dev/zero of=${q(join(slow.mountpoint, 'gone/x.bin'))} bs=4k count=1 conv=fsync status=none`);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toMatch(/fsync failed.*Input\/output error/);
    const status = await statusOf(slow);
    const failed = status.files.find((f) => f.path === '/gone/x.bin')!;
    expect(failed).toMatchObject({ state: 'failed', size: 4096, error: expect.stringMatching(/422/) });
    expect(statSync(failed.stagingFile).size).toBe(4096);
    const human = await runCli(['status', slow.mountpoint], { env: slow.env });
    expect(human.code).toBe(0);
    expect(human.stdout).toMatch(/^ +failed +4\.0 KiB +\/gone\/x\.bin: refused by the server: .*422.*content kept at \//m);
    expect(human.stdout).toMatch(/^ +pending +977 KiB +\/plain\.bin$/m);
  });
});

describe('the cache dir', () => {
  test('is 0700 with staging and journal folders 0700 and files 0600', async () => {
    const mode = (p: string) => statSync(p).mode & 0o777;
    const dir = slow.cacheDir;
    expect(mode(dir)).toBe(0o700);
    for (const sub of ['staging', 'journal']) {
      expect(mode(join(dir, sub))).toBe(0o700);
      const entries = readdirSync(join(dir, sub));
      expect(entries.length).toBeGreaterThan(0);
      for (const name of entries) expect(mode(join(dir, sub, name)), `${sub}/${name}`).toBe(0o600);
    }
  });

  test('a second mount on it is refused, and the first one\'s pending uploads are untouched', async () => {
    const before = readdirSync(join(slow.cacheDir, 'staging')).sort();
    const mnt = join(scratch('second'), 'mnt');
    await ok(`mkdir -p ${q(mnt)}`);
    const r = await runCli(['mount', mnt, '--base-url', emu().url, '--root', 'slow', '--cache-dir', slow.cacheDir], { env: { ...slow.env, FILES_API_KEY: API_KEY } });
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(`cache dir ${slow.cacheDir} is in use by the filesfs mount at ${slow.mountpoint}`);
    expect(readdirSync(join(slow.cacheDir, 'staging')).sort()).toEqual(before);
  });
});

describe('saves and changes', () => {
  const at = (p: string) => q(join(quick.mountpoint, p));

  test('write-temp-then-rename save: one upload, under the final name; nothing else reaches the server', async () => {
    await client.upload('quick/notes.txt', { buffer: Buffer.from('old\n') });
    await waitDrained(quick);
    emu().resetStats();
    await ok(`printf 'new\\n' > ${at('.notes.txt.tmp')} && mv ${at('.notes.txt.tmp')} ${at('notes.txt')}`);
    await waitDrained(quick);
    expect(await serverText('quick/notes.txt')).toBe('new\n');
    expect(requests()).toMatchObject({ 'POST /file_actions/begin_upload': 1, 'POST /files': 1, 'POST /file_actions/move': 0, 'DELETE /files': 0 });
    expect(await names('quick')).toEqual(['notes.txt']);
  });

  test('sed -i on a remote file: one upload to that name, no stray temp file', async () => {
    await client.upload('quick/conf.ini', { buffer: Buffer.from('a=1\nb=2\n') });
    emu().resetStats();
    await ok(`sed -i 's/a=1/a=42/' ${at('conf.ini')}`);
    expect(await ok(`cat ${at('conf.ini')}`)).toBe('a=42\nb=2\n');
    await waitDrained(quick);
    expect(await serverText('quick/conf.ini')).toBe('a=42\nb=2\n');
    expect(requests()).toMatchObject({ 'POST /files': 1, 'POST /file_actions/move': 0, 'DELETE /files': 0 });
    expect((await names('quick')).filter((n) => n.startsWith('sed'))).toEqual([]);
  });

  test.skipIf(!existsSync('/usr/bin/vim'))('vim edits and saves a remote file (its swap file leaves nothing behind)', async () => {
    await client.upload('quick/vimmed.txt', { buffer: Buffer.from('hello world\n') });
    const r = await sh(`cd ${q(scratch('vim-home'))} && HOME=$PWD vim -u NONE -N -es -c '%s/world/vim/' -c 'wq' ${at('vimmed.txt')} </dev/null`, { timeoutMs: 60_000 });
    expect(r.code, r.stderr).toBe(0);
    await waitDrained(quick);
    expect(await serverText('quick/vimmed.txt')).toBe('hello vim\n');
    expect((await names('quick')).filter((n) => n.includes('vimmed') && n !== 'vimmed.txt')).toEqual([]);
  });

  test('rename and delete of pending files: the emulator sees one upload under the final name, no temp name, no delete', async () => {
    emu().resetStats();
    await ok(`echo a > ${at('a.tmp')} && mv ${at('a.tmp')} ${at('a.txt')} && echo b > ${at('b.tmp')} && rm ${at('b.tmp')}`);
    await ok(`mkdir ${at('proj')} && echo c > ${at('proj/c.txt')} && mv ${at('proj')} ${at('project')}`);
    await waitDrained(quick);
    expect(requests()).toMatchObject({ 'POST /file_actions/begin_upload': 2, 'POST /files': 2, 'DELETE /files': 0 });
    expect(await serverText('quick/a.txt')).toBe('a\n');
    expect(await serverText('quick/project/c.txt')).toBe('c\n');
    const all = await names('quick');
    expect(all.filter((n) => n.endsWith('.tmp') || n === 'proj')).toEqual([]);
  });

  test('truncate, append and random writes change an existing remote file (fetched first)', async () => {
    const original = Buffer.alloc(300_000, 'x');
    await client.upload('quick/t.bin', { buffer: original });
    await client.upload('quick/log.txt', { buffer: Buffer.from('line 1\n') });
    await client.upload('quick/r.bin', { buffer: original });
    await ok(`truncate -s 1000 ${at('t.bin')} && echo 'line 2' >> ${at('log.txt')} && printf 'PATCH' | dd of=${at('r.bin')} bs=1 seek=100000 conv=notrunc status=none`);
    expect((await stat(join(quick.mountpoint, 't.bin'))).size).toBe(1000);
    await waitDrained(quick);
    expect(await serverText('quick/t.bin')).toBe('x'.repeat(1000));
    expect(await serverText('quick/log.txt')).toBe('line 1\nline 2\n');
    const patched = Buffer.from(original);
    patched.write('PATCH', 100_000);
    expect(await serverText('quick/r.bin')).toBe(patched.toString());
  });

  test('cp -p keeps the file\'s time on the server (provided_mtime travels with the upload)', async () => {
    const src = join(scratch('cp-p'), 'old.txt');
    await ok(`echo dated > ${q(src)} && touch -d '2001-02-03 04:05:06 UTC' ${q(src)} && cp -p ${q(src)} ${at('dated.txt')}`);
    expect(await ok(`stat -c %Y ${at('dated.txt')}`)).toBe(`${Date.UTC(2001, 1, 3, 4, 5, 6) / 1000}\n`);
    await waitDrained(quick);
    expect((await client.stat('quick/dated.txt')).mtime.toISOString()).toBe('2001-02-03T04:05:06.000Z');
    expect(await ok(`stat -c %Y ${at('dated.txt')}`)).toBe(`${Date.UTC(2001, 1, 3, 4, 5, 6) / 1000}\n`);
  });

  test('dd bs=1M reaches the filesystem as 1 MiB writes (max_write, 256 pages), per the status histogram', async () => {
    const before = (await statusOf(quick)).writeSizes['1048576'] ?? 0;
    await ok(`dd if=/dev/zero of=${at('zeros')} bs=1M count=64 status=none`);
    const after = await statusOf(quick);
    expect((after.writeSizes['1048576'] ?? 0) - before).toBe(64);
    await waitDrained(quick);
    expect((await client.stat('quick/zeros')).size).toBe(64 * 2 ** 20);
  });

  test('filesfs status: nothing pending; a folder that is no filesfs mount is refused', async () => {
    const r = await runCli(['status', quick.mountpoint], { env: quick.env });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(new RegExp(`^${quick.mountpoint}: nothing pending; \\d+ files \\(.*\\) uploaded (and \\d+ folders? created )?since the mount started$`, 'm'));
    expect(r.stdout).toMatch(/^write requests: \d+ \(.*\); by size ≤1 MiB: \d+/m);
    const none = await runCli(['status', scratch('not-a-mount')], { env: quick.env });
    expect(none.code).toBe(1);
    expect(none.stderr).toMatch(/is not mounted/);
  });
});

// Mounting a small tmpfs needs root (CAP_SYS_ADMIN); CI containers that run FUSE have it.
const canMountTmpfs = process.getuid?.() === 0;

describe.skipIf(!canMountTmpfs)('a full cache disk', () => {
  test('fails the write with ENOSPC (not a later upload)', async () => {
    const disk = scratch('tiny-disk');
    const mounted = await runProgram('mount', ['-t', 'tmpfs', '-o', 'size=2m,mode=0700', 'tmpfs', disk]);
    expect(mounted.code, mounted.stderr).toBe(0);
    let m: MountProcess | undefined;
    try {
      m = await startMount({ url: emu().url, apiKey: API_KEY, cacheDir: join(disk, 'c'), args: ['--root', 'quick'] });
      const r = await sh(`LC_ALL=C dd if=/dev/zero of=${q(join(m.mountpoint, 'too-big.bin'))} bs=1M count=4 status=none`);
      expect(r.code).not.toBe(0);
      expect(r.stderr).toMatch(/No space left on device/);
    } finally {
      await m?.stop();
      await runProgram('umount', [disk]);
    }
  });
});
