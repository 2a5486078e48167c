// A real mount of the emulator while it fails, stalls or is down, with the
// tools a person uses (each process separate: the emulator and the mount in
// their own processes or this one, never touched synchronously):
//   - `cp -r` in and out at 10 % seeded faults of every kind (short stalls):
//     no error, the same bytes, and no metadata request per file created;
//   - the emulator stopped: folders listed before are browsed, cached and
//     pending files read, new files and folders written; `filesfs status`
//     says the server is unreachable; started again, everything uploads
//     without a remount;
//   - a key replaced while files are pending: they retry (never "failed")
//     and upload once the key file holds the new key;
//   - a refused upload stays visible, `filesfs retry` sends it once the
//     obstacle is gone, `filesfs discard` drops one and says where its
//     content went; `filesfs unmount` exits 3 when it leaves uploads undone.
import { createHash, randomBytes } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { readFile, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterEach, describe, expect, test } from 'vitest';
import { HttpFilesClient } from '../../src/client/http-files-client.js';
import { startEmulator, type RunningEmulator } from '../../src/emulator/index.js';
import type { WriteBackStatus } from '../../src/vfs/index.js';
import { testDir } from '../support/emulator.js';
import { q, runCli, scratch, sh, startMount, stopMounts, type MountProcess } from '../support/mount.js';

const KEY = 'faultsTestKey0001';
const sha256 = (b: Buffer): string => createHash('sha256').update(b).digest('hex');
const emulators = new Set<RunningEmulator>();

afterEach(async () => {
  await stopMounts();
  await Promise.all([...emulators].map((e) => e.stop().catch(() => undefined)));
  emulators.clear();
});

async function emulator(options: Parameters<typeof startEmulator>[0] = {}): Promise<RunningEmulator> {
  const emu = await startEmulator({ dataDir: testDir(), apiKey: KEY, ...options });
  emulators.add(emu);
  return emu;
}

async function status(m: MountProcess): Promise<WriteBackStatus> {
  const r = await runCli(['status', m.mountpoint, '--json'], { env: m.env });
  if (r.code !== 0) throw new Error(`filesfs status: ${r.stderr}`);
  return JSON.parse(r.stdout) as WriteBackStatus;
}

async function until<T>(what: string, probe: () => Promise<T | undefined | false>, timeoutMs = 120_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined && value !== false) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(100);
  }
}

const drained = (m: MountProcess): Promise<WriteBackStatus> => until('the uploads', async () => {
  const s = await status(m);
  return s.pendingUploads === 0 ? s : undefined;
});

async function ok(script: string): Promise<string> {
  const r = await sh(script, { timeoutMs: 300_000 });
  if (r.code !== 0) throw new Error(`${script} failed (${r.code}): ${r.stderr}`);
  return r.stdout;
}

/** A local tree: `folders` × `files` files of 1-8 KiB. */
function tree(folders: number, files: number): { dir: string; hashes: Map<string, string> } {
  const dir = join(scratch('tree'), 'tree');
  const hashes = new Map<string, string>();
  for (let d = 0; d < folders; d++) {
    mkdirSync(join(dir, `d${d}`), { recursive: true });
    for (let f = 0; f < files; f++) {
      const data = randomBytes(1024 + ((d * 31 + f * 7) % 8) * 1024);
      writeFileSync(join(dir, `d${d}`, `f${f}.bin`), data);
      hashes.set(`d${d}/f${f}.bin`, sha256(data));
    }
  }
  return { dir, hashes };
}

async function sameTree(dir: string, hashes: Map<string, string>): Promise<void> {
  for (const [path, hash] of hashes) expect(sha256(await readFile(join(dir, path))), path).toBe(hash);
  const folders = await readdir(dir);
  expect(folders.length).toBe(new Set([...hashes.keys()].map((p) => p.split('/')[0])).size);
}

describe('10 % of requests faulted (429, 500, 503, reset, 300 ms stalls), seeded', () => {
  test('cp -r in and out: no error, the same bytes; creating asks no metadata per file', async () => {
    const emu = await emulator();
    const m = await startMount({ url: emu.url, apiKey: KEY, args: ['--attr-ttl', '1', '--dir-ttl', '1', '--metadata-timeout', '2', '--stall-timeout', '2'] });
    const { dir, hashes } = tree(4, 40);
    emu.configure({ faultRate: 0.1, faults: ['429', '500', '503', 'reset', 'stall'], stallMs: 300, faultSeed: 42 });
    emu.resetStats();
    await ok(`cp -r ${q(dir)} ${q(m.mountpoint)}/`);
    const created = emu.stats().requests;
    // One lookup of the tree's name at most (the mount root was never listed), none per file or folder inside it:
    // its attempts (1 + 3 retries) and one copy resent in place of a stalled one at most.
    expect(created['GET /file_actions/metadata'] ?? 0).toBeLessThanOrEqual(5);
    const s = await drained(m);
    expect(s.failedUploads).toBe(0);
    expect(s.createdFolders).toBe(5);
    expect(s.server?.retries).toBeGreaterThan(0);
    const out = join(scratch('out'), 'tree');
    await ok(`cp -r ${q(join(m.mountpoint, 'tree'))} ${q(out)}`);
    await sameTree(out, hashes);
    expect(emu.stats().faults).toBeGreaterThan(0);
    // The log has no I/O error for a program.
    expect(m.stderr()).not.toMatch(/EIO/);
  }, 600_000);
});

describe('the server stops and comes back', () => {
  test('browse, read and write while it is down; everything uploads when it is back, without a remount', async () => {
    const dataDir = testDir();
    let emu = await emulator({ dataDir });
    const port = emu.port;
    const client = new HttpFilesClient({ baseUrl: emu.url, credentials: { apiKey: KEY }, logLevel: 'silent' });
    await client.upload('docs/a.txt', { buffer: Buffer.from('alpha') });
    await client.upload('docs/sub/b.txt', { buffer: Buffer.from('beta') });
    await client.close();
    const m = await startMount({ url: emu.url, apiKey: KEY, args: ['--attr-ttl', '1', '--dir-ttl', '1', '--metadata-timeout', '1', '--upload-delay', '200'] });
    await ok(`ls -R ${q(m.mountpoint)} && cat ${q(join(m.mountpoint, 'docs/a.txt'))}`);
    await ok(`mkdir ${q(join(m.mountpoint, 'docs/kept'))} && echo pending > ${q(join(m.mountpoint, 'docs/kept/p.txt'))}`);
    await drained(m);

    await emu.stop();
    emulators.delete(emu);
    // Until the mount counts the server as unreachable, requests fail in a row: make a few.
    await until('the server to count as unreachable', async () => {
      await sh(`stat ${q(join(m.mountpoint, `never-seen-${randomBytes(3).toString('hex')}`))}`);
      return (await status(m)).server?.state === 'unreachable';
    });
    const down = await runCli(['status', m.mountpoint], { env: m.env });
    expect(down.stdout).toMatch(/^server unreachable since \d\d:\d\d:\d\d \(last error: /m);

    // Past the TTLs: what was seen is served.
    await sleep(1500);
    expect((await ok(`ls ${q(join(m.mountpoint, 'docs'))}`)).split('\n').filter(Boolean).sort()).toEqual(['a.txt', 'kept', 'sub']);
    expect(await ok(`cat ${q(join(m.mountpoint, 'docs/a.txt'))}`)).toBe('alpha');
    expect(await ok(`ls ${q(join(m.mountpoint, 'docs/sub'))}`)).toBe('b.txt\n');
    // New folders and files are made and read locally.
    await ok(`mkdir -p ${q(join(m.mountpoint, 'docs/new/deeper'))} && printf made-while-down > ${q(join(m.mountpoint, 'docs/new/deeper/n.txt'))} && printf also > ${q(join(m.mountpoint, 'docs/top.txt'))}`);
    expect(await ok(`cat ${q(join(m.mountpoint, 'docs/new/deeper/n.txt'))}`)).toBe('made-while-down');
    const waiting = await status(m);
    expect(waiting.pendingUploads).toBe(4);

    emu = await emulator({ dataDir, port });
    const s = await drained(m);
    expect(s.failedUploads).toBe(0);
    const again = new HttpFilesClient({ baseUrl: emu.url, credentials: { apiKey: KEY }, logLevel: 'silent' });
    const text = async (p: string): Promise<string> => {
      const chunks: Buffer[] = [];
      for await (const c of await again.createReadStream(p)) chunks.push(c as Buffer);
      return Buffer.concat(chunks).toString();
    };
    expect(await text('docs/new/deeper/n.txt')).toBe('made-while-down');
    expect(await text('docs/top.txt')).toBe('also');
    await again.close();
    expect(m.stderr()).toMatch(/the server answers again/);
  }, 600_000);
});

describe('a key replaced while files are pending', () => {
  test('uploads refused with 401 retry (never failed) and land once the key file holds the new key', async () => {
    const dataDir = testDir();
    let emu = await emulator({ dataDir });
    const port = emu.port;
    const keyFile = join(scratch('key'), 'key');
    writeFileSync(keyFile, `${KEY}\n`);
    chmodSync(keyFile, 0o600);
    const m = await startMount({ url: emu.url, args: ['--api-key-file', keyFile, '--upload-delay', '60000'] });
    await ok(`printf one > ${q(join(m.mountpoint, 'one.txt'))}`);
    // The key is revoked and a new one issued.
    await emu.stop();
    emulators.delete(emu);
    const NEW_KEY = 'faultsTestKeyNew2';
    emu = await emulator({ dataDir, port, apiKey: NEW_KEY });
    // fsync-free: the unmount's drain is not used; retry asks for the uploads now.
    await runCli(['retry', m.mountpoint, '--timeout', '5'], { env: m.env });
    const refused = await until('a 401 to be retried', async () => {
      const s = await status(m);
      return s.files.find((f) => f.path === '/one.txt' && f.state === 'retrying') ? s : undefined;
    });
    expect(refused.failedUploads).toBe(0);
    writeFileSync(keyFile, `${NEW_KEY}\n`);
    const s = await drained(m);
    expect(s.failedUploads).toBe(0);
    expect(m.stderr()).toMatch(/refused the credentials/);
  }, 300_000);
});

describe('failed uploads stay visible and can be acted on', () => {
  test('refused while its folder was a file: visible when the file is gone, retry sends it, discard drops one; unmount exits 3 when it leaves uploads undone', async () => {
    const emu = await emulator();
    const client = new HttpFilesClient({ baseUrl: emu.url, credentials: { apiKey: KEY }, logLevel: 'silent' });
    await client.mkdir('box');
    const m = await startMount({ url: emu.url, apiKey: KEY, args: ['--attr-ttl', '1', '--dir-ttl', '1', '--upload-delay', '100'] });
    await ok(`ls ${q(join(m.mountpoint, 'box'))}`);
    // Elsewhere: the folder becomes a file, then the mount writes into it.
    await client.delete('box', { recursive: true });
    await client.upload('box', { buffer: Buffer.from('a file in the way') });
    await ok(`printf precious > ${q(join(m.mountpoint, 'box/notes.txt'))} && printf other > ${q(join(m.mountpoint, 'box/other.txt'))}`);
    const failed = await until('the refusals', async () => {
      const s = await status(m);
      return s.failedUploads === 2 ? s : undefined;
    });
    expect(failed.files.map((f) => f.path).sort()).toEqual(['/box/notes.txt', '/box/other.txt']);
    const human = await runCli(['status', m.mountpoint], { env: m.env });
    expect(human.stdout).toMatch(/filesfs retry/);

    // The blocking file goes: the failed files show where they were written.
    await client.delete('box');
    await sleep(1500);
    expect((await ok(`ls ${q(join(m.mountpoint, 'box'))}`)).split('\n').filter(Boolean).sort()).toEqual(['notes.txt', 'other.txt']);
    expect(await ok(`cat ${q(join(m.mountpoint, 'box/notes.txt'))}`)).toBe('precious');

    const dropped = await runCli(['discard', m.mountpoint, join(m.mountpoint, 'box/other.txt')], { env: m.env });
    expect(dropped.code, dropped.stderr).toBe(0);
    const keptAt = /its content is at (\S+)/.exec(dropped.stdout)?.[1];
    expect(keptAt && existsSync(keptAt)).toBe(true);
    expect(readFileSync(keptAt!, 'utf8')).toBe('other');
    expect(dropped.stdout).toMatch(/discarded \/box\/other\.txt .*gone from the mount/);

    const retried = await runCli(['retry', m.mountpoint], { env: m.env });
    expect(retried.code, retried.stdout + retried.stderr).toBe(0);
    expect(retried.stdout).toMatch(/^uploaded\s+\/box\/notes\.txt/m);
    await drained(m);
    const chunks: Buffer[] = [];
    for await (const c of await client.createReadStream('box/notes.txt')) chunks.push(c as Buffer);
    expect(Buffer.concat(chunks).toString()).toBe('precious');

    const clean = await runCli(['unmount', m.mountpoint], { env: m.env });
    expect(clean.code, clean.stderr).toBe(0);

    // Something left undone at unmount: status 3, and it says so.
    const slow = await startMount({ url: emu.url, apiKey: KEY, args: ['--upload-delay', '60000'] });
    await ok(`printf later > ${q(join(slow.mountpoint, 'later.txt'))}`);
    const stopped = await runCli(['unmount', slow.mountpoint, '--force'], { env: slow.env });
    expect(stopped.code, stopped.stderr).toBe(3);
    expect(stopped.stderr).toMatch(/left undone: 1 upload \(5 B\) left pending in the journal/);
    await client.close();
  }, 300_000);
});
