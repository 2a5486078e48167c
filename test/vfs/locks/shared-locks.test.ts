// Locks other clients hold, as the filesystem layer shows them (real client,
// emulator, two users): --lock-on-write holds an exclusive lock while a file
// is open for writing, so another client's lock makes open for writing fail
// with EBUSY and an upload wait until the lock is gone; a document another
// client has locked shows an Office owner file naming its holder.
import { afterAll, describe, expect, it } from 'vitest';
import { HttpFilesClient } from '../../../src/client/http-files-client.js';
import { createLogger } from '../../../src/log/logger.js';
import { FilesFilesystem } from '../../../src/vfs/filesystem.js';
import { keepLocal } from '../../../src/vfs/local-only/local-only-layer.js';
import { ownerFileContent, ownerFileTarget, OWNER_FILE_BYTES } from '../../../src/vfs/local-only/office-owner.js';
import { DEFAULT_LOCAL_ONLY, LocalOnlyPatterns } from '../../../src/vfs/local-only/patterns.js';
import { LocalOnlyStore } from '../../../src/vfs/local-only/store.js';
import { WriteBack } from '../../../src/vfs/write-back/write-back.js';
import type { RemoteEntry } from '../../../src/client/index.js';
import { useEmulator } from '../../support/emulator.js';
import { expectErrno, readAll } from '../helpers.js';
import { cacheDirFor, FAST, O_RDWR, O_WRONLY, until, writeFile } from '../write-back/helpers.js';

const ALICE = 'aliceSharedKey1';
const BOB = 'bobSharedKey123';
const emu = useEmulator({ apiKeys: [{ key: ALICE, username: 'alice' }, { key: BOB, username: 'bob' }] });
const clients: HttpFilesClient[] = [];
const closers: Array<() => Promise<void>> = [];
afterAll(async () => {
  for (const close of closers.splice(0)) await close();
  await Promise.all(clients.splice(0).map((c) => c.close()));
});

function client(key: string): HttpFilesClient {
  const c = new HttpFilesClient({ baseUrl: emu().url, credentials: { apiKey: key }, logLevel: 'silent' });
  clients.push(c);
  return c;
}

async function mount(key: string, options: { lockOnWrite?: boolean; uploadDelayMs?: number } = {}) {
  const logger = createLogger({ level: 'silent' });
  const c = client(key);
  const cacheDir = cacheDirFor();
  const writeBack = await WriteBack.open({ cacheDir, ...FAST, uploadDelayMs: options.uploadDelayMs ?? 0 }, logger);
  const store = await LocalOnlyStore.open(cacheDir);
  const fs = new FilesFilesystem(c, { logger, attrTtlMs: 60_000, dirTtlMs: 60_000, lockOnWrite: options.lockOnWrite ?? false }, { writeLayer: keepLocal(writeBack.factory, store, new LocalOnlyPatterns(DEFAULT_LOCAL_ONLY)) });
  writeBack.resume();
  const close = async (): Promise<void> => {
    await writeBack.drain();
    await writeBack.close();
    await store.close();
    await fs.locks?.close();
  };
  closers.push(close);
  return { fs, client: c, writeBack };
}

describe('--lock-on-write', () => {
  it('holds an exclusive lock while a file is open for writing; another client’s lock makes open for writing EBUSY', async () => {
    const a = await mount(ALICE, { lockOnWrite: true });
    const bob = client(BOB);
    await writeFile(a.fs, '/plan.txt', 'v1');
    await until(() => a.writeBack.status().pendingUploads === 0, 10_000, 'upload');

    const fh = await a.fs.open('/plan.txt', O_RDWR);
    const held = await bob.locks!('plan.txt');
    expect(held).toEqual([expect.objectContaining({ exclusive: true, username: 'alice' })]);
    await a.fs.release('/plan.txt', fh);
    expect(await bob.locks!('plan.txt')).toEqual([]);

    const theirs = await bob.lock!('plan.txt', { exclusive: true, timeoutSeconds: 60 });
    await expectErrno(a.fs.open('/plan.txt', O_WRONLY), 'EBUSY');
    // Reading is never refused.
    expect((await readAll(a.fs, '/plan.txt')).toString()).toBe('v1');
    await bob.unlock!('plan.txt', theirs.token);
    const again = await a.fs.open('/plan.txt', O_WRONLY);
    await a.fs.release('/plan.txt', again);
  });

  it('an upload waits while another client holds a lock on the file, and lands once it is released', async () => {
    // The upload starts 1 s after the close: bob takes his lock in between.
    const a = await mount(ALICE, { lockOnWrite: true, uploadDelayMs: 1_000 });
    const bob = client(BOB);
    await writeFile(a.fs, '/queue.txt', 'first');
    await until(() => a.writeBack.status().pendingUploads === 0, 10_000, 'upload');
    const fh = await a.fs.open('/queue.txt', O_WRONLY);
    await a.fs.write('/queue.txt', fh, Buffer.from('second'), 0);
    // Alice holds the lock while the file is open.
    await expect(bob.lock!('queue.txt', { exclusive: true, timeoutSeconds: 60 })).rejects.toThrow(/locked/);
    await a.fs.release('/queue.txt', fh);
    const bobs = await bob.lock!('queue.txt', { exclusive: true, timeoutSeconds: 60 });
    await until(() => a.writeBack.status().retryingUploads > 0, 10_000, 'the upload to meet the lock');
    const status = a.writeBack.status();
    expect(status.files[0]).toMatchObject({ path: '/queue.txt', state: 'retrying' });
    expect(status.files[0]!.error).toMatch(/locked by another client/);
    expect((await bob.readRange('queue.txt', 0, 100)).toString()).toBe('first');
    await bob.unlock!('queue.txt', bobs.token);
    await until(() => a.writeBack.status().pendingUploads === 0, 30_000, 'the upload after the unlock');
    expect((await client(BOB).readRange('queue.txt', 0, 100)).toString()).toBe('second');
  });
});

describe('Office owner files', () => {
  it('name the file they stand for: the same name, or Word’s shortened one', () => {
    const file = (name: string): RemoteEntry => ({ path: name, name, type: 'file', size: 1, mtime: new Date(0), serverMtime: null, providedMtime: null, createdAt: null, md5: null, crc32: null, permissions: null });
    const siblings = [file('Budget.xlsx'), file('Quarterly report.docx'), file('Notes1.docx')];
    expect(ownerFileTarget('~$Budget.xlsx', siblings)?.name).toBe('Budget.xlsx');
    expect(ownerFileTarget('~$BUDGET.xlsx', siblings)?.name).toBe('Budget.xlsx');
    expect(ownerFileTarget('~$arterly report.docx', siblings)?.name).toBe('Quarterly report.docx');
    expect(ownerFileTarget('~$otes1.docx', siblings)?.name).toBe('Notes1.docx');
    expect(ownerFileTarget('~$other.docx', siblings)).toBeUndefined();
    expect(ownerFileTarget('report.docx', siblings)).toBeUndefined();
  });

  it('hold the user name in single and double bytes, 165 bytes', () => {
    const content = ownerFileContent('bob');
    expect(content.length).toBe(OWNER_FILE_BYTES);
    expect(content[0]).toBe(3);
    expect(content.subarray(1, 4).toString('latin1')).toBe('bob');
    expect(content.subarray(4, 55).every((b) => b === 0x20)).toBe(true);
    expect(content.readUInt16LE(55)).toBe(3);
    expect(content.subarray(57, 63).toString('utf16le')).toBe('bob');
  });

  it('a document another client locked shows ~$name naming its holder; read-only; gone once unlocked; none for our own lock', async () => {
    const a = await mount(ALICE);
    const bob = client(BOB);
    await bob.mkdir('office');
    await bob.upload('office/Budget.xlsx', { buffer: Buffer.from('cells') });
    const lock = await bob.lock!('office/Budget.xlsx', { exclusive: true, timeoutSeconds: 60 });
    const names = (await a.fs.readdir('/office')).map((e) => e.name).sort();
    expect(names).toEqual(['Budget.xlsx', '~$Budget.xlsx']);
    expect((await a.fs.getattr('/office/~$Budget.xlsx')).size).toBe(OWNER_FILE_BYTES);
    const content = await readAll(a.fs, '/office/~$Budget.xlsx');
    expect(content.subarray(1, 1 + content[0]!).toString('latin1')).toBe('bob');
    await expectErrno(a.fs.open('/office/~$Budget.xlsx', O_WRONLY), 'EACCES');
    await expectErrno(a.fs.unlink('/office/~$Budget.xlsx'), 'EACCES');
    // Word asks for its shortened name directly.
    await bob.upload('office/Quarterly.docx', { buffer: Buffer.from('words') });
    const wordLock = await bob.lock!('office/Quarterly.docx', { exclusive: true, timeoutSeconds: 60 });
    a.fs.invalidate('office');
    expect((await a.fs.getattr('/office/~$arterly.docx')).size).toBe(OWNER_FILE_BYTES);
    await bob.unlock!('office/Quarterly.docx', wordLock.token);

    await bob.unlock!('office/Budget.xlsx', lock.token);
    a.fs.invalidate('office');
    expect((await a.fs.readdir('/office')).map((e) => e.name).sort()).toEqual(['Budget.xlsx', 'Quarterly.docx']);
    await expectErrno(a.fs.getattr('/office/~$Budget.xlsx'), 'ENOENT');

    // A lock this mount holds itself shows no owner file.
    const fh = await a.fs.open('/office/Budget.xlsx', O_RDWR);
    await a.fs.locking!.set('/office/Budget.xlsx', fh, { family: 'flock', owner: 1n, pid: process.pid, type: 'write', start: 0, end: Infinity, wait: false });
    a.fs.invalidate('office');
    expect((await a.fs.readdir('/office')).map((e) => e.name)).not.toContain('~$Budget.xlsx');
    await a.fs.locking!.set('/office/Budget.xlsx', fh, { family: 'flock', owner: 1n, pid: process.pid, type: 'unlock', start: 0, end: Infinity, wait: false });
    await a.fs.release('/office/Budget.xlsx', fh);
    // Nor once released: the listing fetched while it was held says "locked", and that lock was ours.
    expect((await a.fs.readdir('/office')).map((e) => e.name)).not.toContain('~$Budget.xlsx');
    await expectErrno(a.fs.getattr('/office/~$Budget.xlsx'), 'ENOENT');

    // An owner file this machine's Office writes is kept locally and wins.
    await writeFile(a.fs, '/office/~$Budget.xlsx', 'mine');
    expect((await readAll(a.fs, '/office/~$Budget.xlsx')).toString()).toBe('mine');
  });
});

describe('user.filesfs.lock', () => {
  it('names who holds a lock on a file: another client by user name, a program here as this mount; read-only; gone with the lock', async () => {
    const a = await mount(ALICE);
    const bob = client(BOB);
    await writeFile(a.fs, '/ledger.txt', 'v1');
    await until(() => a.writeBack.status().pendingUploads === 0, 10_000, 'upload');
    await expectErrno(a.fs.getxattr('/ledger.txt', 'user.filesfs.lock'), 'ENODATA');
    expect(await a.fs.listxattr('/ledger.txt')).not.toContain('user.filesfs.lock');

    const theirs = await bob.lock!('ledger.txt', { exclusive: true, timeoutSeconds: 120 });
    const value = (await a.fs.getxattr('/ledger.txt', 'user.filesfs.lock')).toString();
    expect(value).toMatch(/^exclusive lock held by bob; expires in \d+ s unless renewed$/);
    await expectErrno(a.fs.setxattr('/ledger.txt', 'user.filesfs.lock', Buffer.from('mine'), 0), 'EPERM');
    await bob.unlock!('ledger.txt', theirs.token);
    await expectErrno(a.fs.getxattr('/ledger.txt', 'user.filesfs.lock'), 'ENODATA');

    // A lock taken by a program here (fcntl F_SETLK) shows as this mount's (read by name: never listed).
    const fh = await a.fs.open('/ledger.txt', O_RDWR);
    await a.fs.locking!.set('/ledger.txt', fh, { family: 'posix', owner: 1n, pid: 42, type: 'write', start: 0, end: Infinity, wait: false });
    expect(await a.fs.listxattr('/ledger.txt')).not.toContain('user.filesfs.lock');
    expect((await a.fs.getxattr('/ledger.txt', 'user.filesfs.lock')).toString()).toMatch(/^exclusive lock held by this mount \(a program here\)/);
    await a.fs.locking!.set('/ledger.txt', fh, { family: 'posix', owner: 1n, pid: 42, type: 'unlock', start: 0, end: Infinity, wait: false });
    await a.fs.release('/ledger.txt', fh);
  });
});
