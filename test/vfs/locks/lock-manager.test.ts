// POSIX and flock locks are Files.com locks (filesystem layer on the real
// client and the emulator): two mounts of one site are two LockManagers on
// two clients; one holding a lock stops the other, locally held locks
// decide between programs of one machine first, waits end when the holder
// lets go or the waiting process is signalled, and the server lock is
// renewed before it expires and released at the end.
import { spawn } from 'node:child_process';
import { afterAll, describe, expect, it } from 'vitest';
import { HttpFilesClient } from '../../../src/client/http-files-client.js';
import { createLogger } from '../../../src/log/logger.js';
import { LockManager, signalPending, type LockAsk } from '../../../src/vfs/locks/lock-manager.js';
import { useEmulator } from '../../support/emulator.js';

const emu = useEmulator({ apiKeys: [{ key: 'aliceKey1234', username: 'alice' }, { key: 'bobKey123456', username: 'bob' }] });
const clients: HttpFilesClient[] = [];
const managers: LockManager[] = [];
afterAll(async () => {
  await Promise.all(managers.splice(0).map((m) => m.close()));
  await Promise.all(clients.splice(0).map((c) => c.close()));
});

const log = createLogger({ level: 'silent' });

function client(key: string, options: { retries?: number; baseUrl?: string } = {}): HttpFilesClient {
  const c = new HttpFilesClient({ baseUrl: options.baseUrl ?? emu().url, credentials: { apiKey: key }, logLevel: 'silent', retries: options.retries ?? 2 });
  clients.push(c);
  return c;
}

function mount(key: string, options: ConstructorParameters<typeof LockManager>[2] = {}): { locks: LockManager; client: HttpFilesClient } {
  const c = client(key);
  const locks = new LockManager(c, log, { pollMinMs: 20, pollMaxMs: 100, ...options });
  managers.push(locks);
  return { locks, client: c };
}

const whole = { start: 0, end: Infinity };
const ask = (owner: string, type: LockAsk['type'], extra: Partial<LockAsk> = {}): LockAsk => ({ owner, pid: process.pid, type, ...whole, wait: false, ...extra });

async function errnoOf(p: Promise<unknown>): Promise<string | undefined> {
  try {
    await p;
    return undefined;
  } catch (err) {
    return (err as { code?: string }).code;
  }
}

describe('LockManager: locks shared with the site', () => {
  it('a write lock here is an exclusive Files.com lock: another mount gets EAGAIN and sees it with F_GETLK; unlocking releases it', async () => {
    const a = mount('aliceKey1234');
    const b = mount('bobKey123456');
    await a.locks.set('/report.xlsx', ask('p:1', 'write'));
    const onServer = await b.client.locks!('/report.xlsx');
    expect(onServer).toHaveLength(1);
    expect(onServer[0]).toMatchObject({ exclusive: true, username: 'alice' });
    expect(a.locks.status()).toEqual([expect.objectContaining({ path: '/report.xlsx', exclusive: true, holders: 1 })]);

    expect(await errnoOf(b.locks.set('/report.xlsx', ask('p:9', 'read')))).toBe('EAGAIN');
    expect(await errnoOf(b.locks.set('/REPORT.xlsx', ask('f:9', 'write')))).toBe('EAGAIN'); // paths compare case-insensitively
    expect(await b.locks.test('/report.xlsx', ask('p:9', 'read'))).toEqual({ type: 'write', start: 0, end: Infinity, pid: 0 });

    await a.locks.set('/report.xlsx', ask('p:1', 'unlock'));
    expect(await b.client.locks!('/report.xlsx')).toHaveLength(0);
    expect(a.locks.status()).toEqual([]);
    await b.locks.set('/report.xlsx', ask('p:9', 'write'));
    expect(await errnoOf(a.locks.set('/report.xlsx', ask('p:1', 'write')))).toBe('EAGAIN');
    await b.locks.releaseOwner('/report.xlsx', 'p:9');
    expect(await a.client.locks!('/report.xlsx')).toHaveLength(0);
  });

  it('read locks on two mounts share the file; a write lock then waits for both', async () => {
    const a = mount('aliceKey1234');
    const b = mount('bobKey123456');
    await a.locks.set('/shared.txt', ask('p:1', 'read'));
    await b.locks.set('/shared.txt', ask('p:2', 'read'));
    expect((await a.client.locks!('/shared.txt')).map((l) => l.exclusive)).toEqual([false, false]);
    expect(await errnoOf(a.locks.set('/shared.txt', ask('p:3', 'write')))).toBe('EAGAIN');
    // A failed upgrade keeps the shared lock the first reader holds.
    expect(a.locks.status()).toEqual([expect.objectContaining({ exclusive: false, holders: 1 })]);
    expect(await a.client.locks!('/shared.txt')).toHaveLength(2);

    const waiting = a.locks.set('/shared.txt', ask('p:3', 'write', { start: 100, end: 200, wait: true }));
    await new Promise((r) => setTimeout(r, 150));
    await b.locks.releaseOwner('/shared.txt', 'p:2');
    await a.locks.releaseOwner('/shared.txt', 'p:1');
    await waiting;
    expect(a.locks.status()).toEqual([expect.objectContaining({ exclusive: true, holders: 1 })]);
    await a.locks.releaseOwner('/shared.txt', 'p:3');
    expect(a.locks.status()).toEqual([]);
  });

  it('between programs of one mount: byte ranges decide, with the holder’s pid; a waiter wakes when the holder unlocks', async () => {
    const a = mount('aliceKey1234');
    await a.locks.set('/db.sqlite', ask('p:1', 'write', { start: 0, end: 10, pid: 111 }));
    await a.locks.set('/db.sqlite', ask('p:2', 'write', { start: 10, end: 20, pid: 222 }));
    expect(await errnoOf(a.locks.set('/db.sqlite', ask('p:2', 'read', { start: 5, end: 6, pid: 222 })))).toBe('EAGAIN');
    expect(await a.locks.test('/db.sqlite', ask('p:2', 'read', { start: 5, end: 6 }))).toEqual({ type: 'write', start: 0, end: 10, pid: 111 });
    expect(await a.locks.test('/db.sqlite', ask('p:2', 'write', { start: 30, end: 40 }))).toBeNull();
    // One server lock for both owners.
    expect(await a.client.locks!('/db.sqlite')).toHaveLength(1);

    let granted = false;
    const waiting = a.locks.set('/db.sqlite', ask('p:2', 'write', { start: 0, end: 5, pid: process.pid, wait: true })).then(() => { granted = true; });
    await new Promise((r) => setTimeout(r, 100));
    expect(granted).toBe(false);
    await a.locks.set('/db.sqlite', ask('p:1', 'unlock', { start: 0, end: 10 }));
    await waiting;
    expect(granted).toBe(true);
    expect(await a.client.locks!('/db.sqlite')).toHaveLength(1);
    await a.locks.releaseOwner('/db.sqlite', 'p:2');
    expect(await a.client.locks!('/db.sqlite')).toHaveLength(0);
  });

  it('a wait ends with EINTR once the waiting process is signalled (Ctrl-C on a blocked flock)', async () => {
    const a = mount('aliceKey1234');
    const b = mount('bobKey123456');
    await a.locks.set('/busy.txt', ask('f:1', 'write'));
    const sleeper = spawn('sleep', ['30'], { stdio: 'ignore' });
    const exited = new Promise((r) => sleeper.once('exit', r));
    try {
      const waiting = errnoOf(b.locks.set('/busy.txt', ask('f:2', 'write', { pid: sleeper.pid!, wait: true })));
      await new Promise((r) => setTimeout(r, 200));
      sleeper.kill('SIGINT');
      expect(await waiting).toBe('EINTR');
    } finally {
      sleeper.kill('SIGKILL');
      await exited;
    }
    expect(b.locks.status()).toEqual([]);
    await a.locks.releaseOwner('/busy.txt', 'f:1');
  });

  it('signalPending: false for a process with nothing pending; true for one that is gone', async () => {
    expect(await signalPending(process.pid)).toBe(false);
    expect(await signalPending(0x3fffffff)).toBe(true);
    expect(await signalPending(0)).toBe(false);
  });

  it('the server lock is taken again before it expires, for as long as a program holds it', async () => {
    const a = mount('aliceKey1234', { timeoutSeconds: 1 });
    const b = mount('bobKey123456');
    await a.locks.set('/long.txt', ask('p:1', 'write'));
    const first = (await b.client.locks!('/long.txt'))[0]!.token;
    await new Promise((r) => setTimeout(r, 2_300));
    const now = await b.client.locks!('/long.txt');
    expect(now).toHaveLength(1);
    expect(now[0]!.token).not.toBe(first);
    expect(await errnoOf(b.locks.set('/long.txt', ask('p:2', 'write')))).toBe('EAGAIN');
    await a.locks.releaseOwner('/long.txt', 'p:1');
  });

  it('close() releases every server lock (unmount); a renamed file keeps its locks under the new name', async () => {
    const a = mount('aliceKey1234');
    const b = mount('bobKey123456');
    await a.locks.set('/one.txt', ask('p:1', 'write'));
    await a.locks.set('/two.txt', ask('f:2', 'read'));
    a.locks.moved('/two.txt', '/dir-two.txt');
    expect(a.locks.status().map((l) => l.path).sort()).toEqual(['/dir-two.txt', '/one.txt']);
    await a.locks.close();
    expect(await b.client.locks!('/one.txt')).toHaveLength(0);
    expect(await b.client.locks!('/two.txt')).toHaveLength(0);
    expect(await errnoOf(a.locks.set('/one.txt', ask('p:1', 'write')))).toBe('ENOLCK');
  });

  it('a server that cannot be asked gives ENOLCK, and the program’s lock is not recorded', async () => {
    const c = client('aliceKey1234', { baseUrl: 'http://127.0.0.1:9', retries: 0 });
    const locks = new LockManager(c, log);
    managers.push(locks);
    expect(await errnoOf(locks.set('/x.txt', ask('p:1', 'write')))).toBe('ENOLCK');
    expect(locks.status()).toEqual([]);
  });
});
