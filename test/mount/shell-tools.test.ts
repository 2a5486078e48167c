// The product end to end: `filesfs mount` (the built CLI, its own process)
// on the emulator, used with the shell tools people use. Each result is
// checked from the tool's side and, for changes, on the server too. The
// emulator runs in this process; every child is asynchronous (see
// test/support/mount.ts).
import { createHash, randomBytes } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test, vi } from 'vitest';
import { HttpFilesClient } from '../../src/client/http-files-client.js';
import { useEmulator } from '../support/emulator.js';
import { q, scratch, sh, startMount, stopMounts, type MountProcess } from '../support/mount.js';

const API_KEY = 'shellToolsKey42';
const emu = useEmulator({ apiKey: API_KEY });
let client: HttpFilesClient;
let m: MountProcess;
let mnt: string;

const KiB = 1024;
const MiB = 1024 * KiB;
const sha256 = (b: Buffer): string => createHash('sha256').update(b).digest('hex');

/** Random bytes: a misplaced range shows. */
const pattern = (size: number): Buffer => randomBytes(size);

/** The tree on the server, path → content. */
const TREE: Record<string, Buffer> = {
  'tree/empty.txt': Buffer.alloc(0),
  'tree/one.txt': Buffer.from('1'),
  'tree/page.bin': pattern(4 * KiB),
  'tree/ReadMe.txt': Buffer.from('hello from the emulator\n'),
  'tree/sub/odd.bin': pattern(MiB + 13),
  'tree/sub/deeper/five.bin': pattern(5 * MiB),
  'tree/Réports/Q1 Résumé.txt': Buffer.from('résumé\n'),
};
const MTIME = new Date('2024-05-06T07:08:09Z');

beforeAll(async () => {
  client = new HttpFilesClient({ baseUrl: emu().url, credentials: { apiKey: API_KEY }, logLevel: 'silent' });
  for (const [path, data] of Object.entries(TREE)) await client.upload(path, { buffer: data }, { mtime: MTIME });
  await client.mkdir('tree/empty-folder');
  // Short TTLs so that changes made on the server show within a test.
  m = await startMount({ url: emu().url, apiKey: API_KEY, args: ['--attr-ttl', '1', '--dir-ttl', '1'] });
  mnt = m.mountpoint;
});

afterAll(async () => {
  await stopMounts();
  await client?.close();
});

const at = (p: string): string => q(join(mnt, p));

async function ok(script: string): Promise<string> {
  const r = await sh(script);
  if (r.code !== 0) throw new Error(`${script} failed (${r.code}): ${r.stderr}`);
  return r.stdout;
}

async function eventually(check: () => Promise<boolean>, timeoutMs = 5_000): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) return false;
    await new Promise((r) => setTimeout(r, 100));
  }
  return true;
}

describe('reading', () => {
  test('ls -l shows names as the server spells them, sizes and times', async () => {
    const out = await ok(`LC_ALL=C ls -l --time-style=+%FT%T ${at('tree')}`);
    expect(out).toMatch(/^-rw-r--r-- 1 \S+ \S+ +0 2024-05-06T07:08:09 empty\.txt$/m);
    expect(out).toMatch(/^-rw-r--r-- 1 \S+ \S+ +4096 2024-05-06T07:08:09 page\.bin$/m);
    expect(out).toMatch(/^-rw-r--r-- 1 \S+ \S+ +24 2024-05-06T07:08:09 ReadMe\.txt$/m);
    expect(out).toMatch(/^drwxr-xr-x \d+ \S+ \S+ +\d+ \S+ sub$/m);
    expect(out).toMatch(/ Réports$/m);
    expect(out).toMatch(/ empty-folder$/m);
  });

  test('stat shows type, size and mtime', async () => {
    expect((await ok(`stat -c '%F|%s|%Y|%a' ${at('tree/sub/odd.bin')}`)).trim()).toBe(`regular file|${MiB + 13}|${MTIME.getTime() / 1000}|644`);
    expect((await ok(`stat -c '%F|%a' ${at('tree/sub')}`)).trim()).toBe('directory|755');
  });

  test('find lists every file and folder once', async () => {
    const files = (await ok(`cd ${at('tree')} && find . -type f | LC_ALL=C sort`)).trim().split('\n');
    expect(files).toEqual(Object.keys(TREE).map((p) => `./${p.slice('tree/'.length)}`).sort());
    const dirs = (await ok(`cd ${at('tree')} && find . -mindepth 1 -type d | LC_ALL=C sort`)).trim().split('\n');
    expect(dirs).toEqual(['./Réports', './empty-folder', './sub', './sub/deeper']);
    expect((await ok(`find ${at('tree')} -iname 'readme.TXT'`)).trim()).toBe(join(mnt, 'tree/ReadMe.txt'));
  });

  test('du counts the bytes of every file', async () => {
    const lines = (await ok(`cd ${at('tree')} && du -ab . | LC_ALL=C sort -k2`)).trim().split('\n');
    const sizes = new Map(lines.map((l) => { const [n, p] = l.split('\t'); return [p!, Number(n)]; }));
    for (const [path, data] of Object.entries(TREE)) expect(sizes.get(`./${path.slice(5)}`)).toBe(data.length);
    const total = Object.values(TREE).reduce((s, d) => s + d.length, 0);
    expect(Number((await ok(`du -sk ${at('tree')}`)).split('\t')[0]) * KiB).toBeGreaterThanOrEqual(total);
  });

  test('cat, head -c, tail -c and dd skip= return the right bytes', async () => {
    const five = TREE['tree/sub/deeper/five.bin']!;
    const file = at('tree/sub/deeper/five.bin');
    expect((await ok(`cat ${file} | sha256sum`)).split(' ')[0]).toBe(sha256(five));
    expect((await ok(`head -c 1000 ${file} | sha256sum`)).split(' ')[0]).toBe(sha256(five.subarray(0, 1000)));
    expect((await ok(`tail -c 777 ${file} | sha256sum`)).split(' ')[0]).toBe(sha256(five.subarray(five.length - 777)));
    // Random reads: 4 KiB blocks at scattered offsets, read in the order given.
    for (const block of [1000, 17, 1279, 3, 640]) {
      const got = (await ok(`dd if=${file} bs=4096 skip=${block} count=2 status=none | sha256sum`)).split(' ')[0];
      expect(got).toBe(sha256(five.subarray(block * 4096, block * 4096 + 8192)));
    }
    expect(await ok(`cat ${at('tree/ReadMe.txt')}`)).toBe('hello from the emulator\n');
    expect(await ok(`cat ${at('tree/empty.txt')} | wc -c`)).toBe('0\n');
  });

  test('cp -r out of the mount: every file arrives with the same sha256', async () => {
    const out = join(scratch('copy-out'), 'tree');
    await ok(`cp -r ${at('tree')} ${q(out)}`);
    for (const [path, data] of Object.entries(TREE)) {
      expect(sha256(await readFile(join(out, path.slice('tree/'.length)))), path).toBe(sha256(data));
    }
    expect((await ok(`find ${q(out)} -type d -name empty-folder`)).trim()).toBe(join(out, 'empty-folder'));
  });

  test('any case and accent variant finds the file; listings show one entry', async () => {
    expect(await ok(`cat ${at('TREE/readme.TXT')}`)).toBe('hello from the emulator\n');
    expect(await ok(`cat ${at('tree/reports/q1 resume.txt')}`)).toBe('résumé\n');
    expect(await ok(`cat ${at('tree/RÉPORTS/Q1 RÉSUMÉ.TXT')}`)).toBe('résumé\n');
    expect((await ok(`stat -c %s ${at('Tree/Sub/ODD.bin')}`)).trim()).toBe(String(MiB + 13));
    expect((await ok(`ls ${at('tree/reports')}`)).trim()).toBe('Q1 Résumé.txt');
    const r = await sh(`cat ${at('tree/nope.txt')}`);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain('No such file or directory');
  });
});

describe('changing the namespace', () => {
  test('mkdir -p creates every level on the server (written back after the upload delay)', async () => {
    await ok(`mkdir -p ${at('made/a/b/c')}`);
    expect((await ok(`ls -d ${at('made/a/b/c')}`)).trim()).toBe(join(mnt, 'made/a/b/c'));
    await vi.waitFor(async () => expect((await client.stat('made/a/b/c')).type).toBe('directory'), { timeout: 30_000, interval: 200 });
  });

  test('mv renames files and folders on the server, also across folders', async () => {
    await client.upload('mv/src/file.txt', { buffer: Buffer.from('moving') });
    await client.upload('mv/src/inner/deep.txt', { buffer: Buffer.from('deep') });
    await ok(`mv ${at('mv/src/file.txt')} ${at('mv/renamed.txt')}`);
    expect(await ok(`cat ${at('mv/renamed.txt')}`)).toBe('moving');
    await expect(client.stat('mv/src/file.txt')).rejects.toMatchObject({ kind: 'not-found' });
    await ok(`mv ${at('mv/src')} ${at('mv/dst')}`);
    expect(await ok(`cat ${at('mv/dst/inner/deep.txt')}`)).toBe('deep');
    expect((await client.stat('mv/dst/inner/deep.txt')).size).toBe(4);
    expect((await sh(`ls ${at('mv/src')}`)).code).not.toBe(0);
  });

  test('a case-only mv renames; the listing shows the new spelling once', async () => {
    await client.upload('case/report.txt', { buffer: Buffer.from('r') });
    await client.mkdir('case/folder');
    await ok(`mv ${at('case/report.txt')} ${at('case/REPORT.txt')}`);
    // A folder needs -T: "Folder" exists (it is "folder"), so plain mv would
    // move folder into it, as on any case-insensitive filesystem.
    const into = await sh(`mv ${at('case/folder')} ${at('case/Folder')}`);
    expect(into.stderr).toContain('cannot move');
    expect(into.stderr).toContain('to a subdirectory of itself');
    await ok(`mv -T ${at('case/folder')} ${at('case/Folder')}`);
    expect((await ok(`ls ${at('case')}`)).trim().split('\n')).toEqual(['Folder', 'REPORT.txt']);
    expect((await client.stat('case/report.txt')).name).toBe('REPORT.txt');
    expect((await client.stat('case/folder')).name).toBe('Folder');
  });

  test('rm -r removes a tree on the server; rmdir of a non-empty folder fails', async () => {
    await client.upload('rm/a/b/c.txt', { buffer: Buffer.from('c') });
    await client.upload('rm/a/d.txt', { buffer: Buffer.from('d') });
    const r = await sh(`rmdir ${at('rm/a')}`);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain('Directory not empty');
    await ok(`rm -r ${at('rm/a')}`);
    await expect(client.stat('rm/a')).rejects.toMatchObject({ kind: 'not-found' });
    expect((await ok(`ls -A ${at('rm')}`)).trim()).toBe('');
    await ok(`mkdir ${at('rm/empty')}`);
    await ok(`rmdir ${at('rm/empty')}`);
    await expect(client.stat('rm/empty')).rejects.toMatchObject({ kind: 'not-found' });
  });

  test('names longer than 255 bytes are refused: the kernel could never list them', async () => {
    const long = 'é'.repeat(128); // 256 bytes, 128 characters: the server would take it
    await ok(`mkdir -p ${at('long')}`);
    for (const script of [`mkdir ${at(`long/${long}`)}`, `mv ${at('long')} ${at(long)}`]) {
      const r = await sh(script);
      expect(r.code, script).not.toBe(0);
      expect(r.stderr, script).toContain('File name too long');
    }
    expect((await ok(`ls -A ${at('long')}`)).trim()).toBe('');
    await expect(client.stat(`long/${long}`)).rejects.toMatchObject({ kind: 'not-found' });
  });

  test('touch -d sets the time stat shows, and the server keeps it', async () => {
    await client.upload('times/t.txt', { buffer: Buffer.from('t') });
    await ok(`touch -d '2021-03-04 05:06:07 UTC' ${at('times/t.txt')}`);
    expect((await ok(`stat -c %Y ${at('times/t.txt')}`)).trim()).toBe(String(Date.parse('2021-03-04T05:06:07Z') / 1000));
    // touch opens the file for writing: with write-back the time may travel with an upload.
    const onServer = async (): Promise<string> => (await client.stat('times/t.txt')).mtime.toISOString();
    expect(await eventually(async () => (await onServer()) === '2021-03-04T05:06:07.000Z', 15_000)).toBe(true);
  });
});

describe('consistency with changes made elsewhere', () => {
  test('files added, changed, renamed and removed on the server show within the TTL', async () => {
    await client.upload('outside/keep.txt', { buffer: Buffer.from('v1') });
    await client.upload('outside/gone.txt', { buffer: Buffer.from('bye') });
    await client.upload('outside/old-name.txt', { buffer: Buffer.from('renamed') });
    expect((await ok(`ls ${at('outside')}`)).trim().split('\n')).toEqual(['gone.txt', 'keep.txt', 'old-name.txt']);
    expect(await ok(`cat ${at('outside/keep.txt')}`)).toBe('v1');

    await client.upload('outside/new.txt', { buffer: Buffer.from('new') });
    await client.upload('outside/keep.txt', { buffer: Buffer.from('version two') });
    await client.delete('outside/gone.txt');
    await client.move('outside/old-name.txt', 'outside/new-name.txt');
    // --attr-ttl 1 --dir-ttl 1, plus the kernel's own 1 s: well within 5 s.
    const listing = async (): Promise<string> => (await sh(`ls ${at('outside')}`)).stdout.trim();
    expect(await eventually(async () => (await listing()) === 'keep.txt\nnew-name.txt\nnew.txt')).toBe(true);
    expect(await eventually(async () => (await sh(`cat ${at('outside/keep.txt')}`)).stdout === 'version two')).toBe(true);
    expect(await ok(`cat ${at('outside/new-name.txt')}`)).toBe('renamed');
  });
});

// Write-back: content changes show at once through the mount and
// reach the server after the upload delay (test/vfs/write-back/ covers the rest).
describe('content writes', () => {
  test('creating, appending to and truncating files: at once in the mount, then on the server', async () => {
    const hostname = await readFile('/etc/hostname', 'utf8');
    await ok(`cp /etc/hostname ${at('tree/new.txt')}`);
    await ok(`echo more >> ${at('tree/ReadMe.txt')}`);
    await ok(`truncate -s 0 ${at('tree/one.txt')}`);
    await ok(`: > ${at('tree/page.bin')}`);
    expect(await ok(`cat ${at('tree/new.txt')}`)).toBe(hostname);
    expect(await ok(`cat ${at('tree/ReadMe.txt')}`)).toBe('hello from the emulator\nmore\n');
    expect(await ok(`stat -c %s ${at('tree/one.txt')} ${at('tree/page.bin')}`)).toBe('0\n0\n');
    const onServer = async (path: string): Promise<string> => {
      // The client keeps a file's download URL, and a URL serves the version
      // it was made for: a poll that ran before the upload landed would
      // otherwise read the old content until the URL expires.
      client.invalidateDownload(path);
      const chunks: Buffer[] = [];
      for await (const c of await client.createReadStream(path)) chunks.push(c as Buffer);
      return Buffer.concat(chunks).toString();
    };
    expect(await eventually(async () => (await onServer('tree/new.txt').catch(() => null)) === hostname, 15_000)).toBe(true);
    expect(await eventually(async () => (await onServer('tree/ReadMe.txt')) === 'hello from the emulator\nmore\n', 15_000)).toBe(true);
    expect(await eventually(async () => (await client.stat('tree/one.txt')).size === 0 && (await client.stat('tree/page.bin')).size === 0, 15_000)).toBe(true);
  });
});

describe('--read-only', () => {
  test('creating, appending, truncating, mkdir, mv and rm fail with "Read-only file system"; no write bits shown', async () => {
    await client.upload('ro/one.txt', { buffer: Buffer.from('1') });
    const ro = await startMount({ url: emu().url, apiKey: API_KEY, args: ['--read-only', '--root', 'ro'] });
    const inRo = (p: string): string => q(join(ro.mountpoint, p));
    expect((await ok(`stat -c %a ${inRo('one.txt')} ${q(ro.mountpoint)}`)).trim().split('\n')).toEqual(['444', '555']);
    for (const script of [
      `cp /etc/hostname ${inRo('new.txt')}`,
      `echo more >> ${inRo('one.txt')}`,
      `truncate -s 0 ${inRo('one.txt')}`,
      `mkdir ${inRo('folder')}`,
      `mv ${inRo('one.txt')} ${inRo('two.txt')}`,
      `rm ${inRo('one.txt')}`,
      `touch -d 2020-01-01 ${inRo('one.txt')}`,
    ]) {
      const r = await sh(script);
      expect(r.code, script).not.toBe(0);
      expect(r.stderr, script).toContain('Read-only file system');
    }
    expect(await ok(`cat ${inRo('one.txt')}`)).toBe('1');
    expect((await ok(`ls -A ${q(ro.mountpoint)}`)).trim()).toBe('one.txt');
    expect(await ok(`grep -c ' ${ro.mountpoint} fuse.filesfs ro,' /proc/mounts`)).toBe('1\n');
  });
});
