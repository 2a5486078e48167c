// Locks through real mounts: two mounts of one site (two users, as two
// machines would be) and the tools people use. flock(1) and fcntl locks on
// one mount stop the other; a blocked flock waits for the holder and gives
// up on Ctrl-C; `filesfs status` lists the locks held; unmounting releases
// them; --local-locks keeps them on this machine.
import { spawn } from 'node:child_process';
import { afterAll, afterEach, beforeAll, describe, expect, test } from 'vitest';
import { HttpFilesClient } from '../../../src/client/http-files-client.js';
import { useEmulator } from '../../support/emulator.js';
import { q, runCli, runProgram, sh, startMount, stopMounts, type MountProcess } from '../../support/mount.js';

const ALICE = 'aliceLocksKey42';
const BOB = 'bobLocksKey4242';
const emu = useEmulator({ apiKeys: [{ key: ALICE, username: 'alice' }, { key: BOB, username: 'bob' }] });
let client: HttpFilesClient;

beforeAll(() => {
  client = new HttpFilesClient({ baseUrl: emu().url, credentials: { apiKey: ALICE }, logLevel: 'silent' });
});
afterEach(async () => {
  await stopMounts();
});
afterAll(async () => {
  await client?.close();
});

async function twoMounts(extraB: string[] = []): Promise<[MountProcess, MountProcess]> {
  return Promise.all([
    startMount({ url: emu().url, apiKey: ALICE, args: ['--upload-delay', '0'] }),
    startMount({ url: emu().url, apiKey: BOB, args: ['--upload-delay', '0', ...extraB] }),
  ]);
}

const groups = new Set<number>();
afterEach(() => {
  for (const pid of groups) {
    try {
      process.kill(-pid, 'SIGKILL');
    } catch {
      // Already gone.
    }
  }
  groups.clear();
});

/**
 * Starts a shell command in the background, in a process group of its own:
 * flock(1) runs its command as a child that inherits the locked file, so
 * the lock lasts until the whole group is gone. Resolves its exit once the
 * leader ends.
 */
function background(script: string): { exited: Promise<{ code: number | null; signal: NodeJS.Signals | null; ms: number }>; kill(signal: NodeJS.Signals): void; killGroup(signal: NodeJS.Signals): void } {
  const started = Date.now();
  const child = spawn('bash', ['-c', script], { stdio: 'ignore', detached: true });
  groups.add(child.pid!);
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null; ms: number }>((resolve) => child.once('exit', (code, signal) => resolve({ code, signal, ms: Date.now() - started })));
  return {
    exited,
    kill: (signal) => child.kill(signal),
    killGroup: (signal) => {
      try {
        process.kill(-child.pid!, signal);
      } catch {
        // Already gone.
      }
    },
  };
}

async function until(check: () => Promise<boolean>, what: string, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

const serverLocks = async (path: string): Promise<number> => (await client.locks!(path)).length;

describe('locks across two mounts of one site', () => {
  test('flock on one mount: flock -n on the other fails at once, a waiting flock gets it when the holder ends; status lists it', async () => {
    const [a, b] = await twoMounts();
    await sh(`echo shared > ${q(`${a.mountpoint}/ledger.txt`)}`);
    await until(async () => (await runProgram('test', ['-e', `${b.mountpoint}/ledger.txt`])).code === 0 && (await client.stat('ledger.txt').catch(() => null)) !== null, 'the file on the server');

    const holder = background(`exec flock ${q(`${a.mountpoint}/ledger.txt`)} sleep 4`);
    await until(async () => (await serverLocks('ledger.txt')) === 1, 'the server lock');
    const status = await runCli(['status', a.mountpoint], { env: a.env });
    expect(status.stdout).toMatch(/1 lock held on the server for programs here:\n {2}exclusive {2}since \S+ {2}ledger\.txt \(1 holder\)/);

    const tried = await sh(`flock -n ${q(`${b.mountpoint}/ledger.txt`)} echo got-it; echo "exit $?"`);
    expect(tried.stdout).toBe('exit 1\n');
    // The same holds on the holder's own mount: another open file is another owner.
    expect((await sh(`flock -n ${q(`${a.mountpoint}/ledger.txt`)} true; echo $?`)).stdout).toBe('1\n');

    const waiter = background(`exec flock ${q(`${b.mountpoint}/ledger.txt`)} true`);
    const held = await holder.exited;
    expect(held.code).toBe(0);
    const waited = await waiter.exited;
    expect(waited.code).toBe(0);
    expect(waited.ms).toBeGreaterThan(1_000);
    await until(async () => (await serverLocks('ledger.txt')) === 0, 'the locks released');
  });

  test('fcntl: a write lock on one mount makes F_SETLK on the other fail with EAGAIN, and F_GETLK reports it', async () => {
    const [a, b] = await twoMounts();
    await sh(`echo 0123456789 > ${q(`${a.mountpoint}/db.bin`)}`);
    await until(async () => (await client.stat('db.bin').catch(() => null)) !== null, 'the file on the server');
    const FLOCK = "'@hhqqi4x'";
    const holder = background(`exec python3 -c ${q([
      'import fcntl, os, struct, time',
      `fd = os.open(${JSON.stringify(`${a.mountpoint}/db.bin`)}, os.O_RDWR)`,
      `fcntl.fcntl(fd, fcntl.F_SETLK, struct.pack(${FLOCK}, fcntl.F_WRLCK, 0, 0, 4, 0))`,
      'time.sleep(4)',
    ].join('\n'))}`);
    await until(async () => (await serverLocks('db.bin')) === 1, 'the server lock');
    const other = await runProgram('python3', ['-c', [
      'import errno, fcntl, os, struct',
      `fd = os.open(${JSON.stringify(`${b.mountpoint}/db.bin`)}, os.O_RDWR)`,
      `held = struct.unpack(${FLOCK}, fcntl.fcntl(fd, fcntl.F_GETLK, struct.pack(${FLOCK}, fcntl.F_RDLCK, 0, 100, 1, 0)))`,
      "print('getlk', held[0] == fcntl.F_WRLCK, held[4])",
      'try:',
      `    fcntl.fcntl(fd, fcntl.F_SETLK, struct.pack(${FLOCK}, fcntl.F_RDLCK, 0, 100, 1, 0))`,
      "    print('setlk ok')",
      'except OSError as e:',
      "    print('setlk', errno.errorcode[e.errno])",
    ].join('\n')]);
    expect(other.stderr).toBe('');
    // Files.com locks cover the whole file: a lock held elsewhere stops any range; its holder is no local process.
    expect(other.stdout).toBe('getlk True 0\nsetlk EAGAIN\n');
    expect((await holder.exited).code).toBe(0);
    await until(async () => (await serverLocks('db.bin')) === 0, 'the lock released at close');
  });

  test('Ctrl-C ends a flock that waits for a lock held elsewhere', async () => {
    const [a, b] = await twoMounts();
    await sh(`echo x > ${q(`${a.mountpoint}/busy.txt`)}`);
    await until(async () => (await client.stat('busy.txt').catch(() => null)) !== null, 'the file on the server');
    const holder = background(`exec flock ${q(`${a.mountpoint}/busy.txt`)} sleep 30`);
    await until(async () => (await serverLocks('busy.txt')) === 1, 'the server lock');
    const waiter = background(`exec flock ${q(`${b.mountpoint}/busy.txt`)} true`);
    await new Promise((r) => setTimeout(r, 700));
    waiter.kill('SIGINT');
    const stopped = await waiter.exited;
    expect(stopped.signal).toBe('SIGINT');
    holder.killGroup('SIGTERM');
    await holder.exited;
    await until(async () => (await serverLocks('busy.txt')) === 0, 'the lock released');
  });

  test('unmounting releases the locks still held; --local-locks keeps locks on this machine', async () => {
    const [a, b] = await twoMounts(['--local-locks']);
    await sh(`echo x > ${q(`${a.mountpoint}/held.txt`)}`);
    await until(async () => (await client.stat('held.txt').catch(() => null)) !== null, 'the file on the server');
    const holder = background(`exec flock ${q(`${a.mountpoint}/held.txt`)} sleep 60`);
    await until(async () => (await serverLocks('held.txt')) === 1, 'the server lock');
    // The --local-locks mount neither sees nor takes server locks.
    expect((await sh(`flock -n ${q(`${b.mountpoint}/held.txt`)} true; echo $?`)).stdout).toBe('0\n');
    holder.killGroup('SIGKILL');
    await holder.exited;
    await until(async () => (await serverLocks('held.txt')) === 0, 'the lock released when its holder died');

    const again = background(`exec flock ${q(`${a.mountpoint}/held.txt`)} sleep 60`);
    await until(async () => (await serverLocks('held.txt')) === 1, 'the server lock');
    // A lazy unmount leaves the holder's open file behind, yet the mount's locks go with the mount.
    await runProgram('fusermount3', ['-uz', a.mountpoint]);
    await a.exited;
    expect(await serverLocks('held.txt')).toBe(0);
    again.killGroup('SIGKILL');
    await again.exited;
  });

  test('--lock-on-write: a file another mount holds a lock on cannot be written (EBUSY); a locked Office document shows its owner file', async () => {
    const [a, b] = await twoMounts(['--lock-on-write']);
    await sh(`mkdir ${q(`${a.mountpoint}/team`)} && echo draft > ${q(`${a.mountpoint}/team/minutes.docx`)}`);
    await until(async () => (await client.stat('team/minutes.docx').catch(() => null)) !== null, 'the file on the server');
    const holder = background(`exec flock ${q(`${a.mountpoint}/team/minutes.docx`)} sleep 60`);
    await until(async () => (await serverLocks('team/minutes.docx')) === 1, 'the server lock');
    const write = await sh(`echo mine > ${q(`${b.mountpoint}/team/minutes.docx`)}`);
    expect(write.code).not.toBe(0);
    expect(write.stderr).toMatch(/Device or resource busy/);
    const listed = await sh(`ls ${q(`${b.mountpoint}/team`)}; head -c 6 ${q(`${b.mountpoint}/team/~$minutes.docx`)} | od -An -c | tr -s ' '`);
    expect(listed.stdout).toBe('minutes.docx\n~$minutes.docx\n 005 a l i c e\n');
    holder.killGroup('SIGKILL');
    await holder.exited;
    await until(async () => (await serverLocks('team/minutes.docx')) === 0, 'the lock released');
    expect((await sh(`sleep 1; echo mine > ${q(`${b.mountpoint}/team/minutes.docx`)} && echo ok`)).stdout).toBe('ok\n');
  });
});
