// The seams write-back plugs into, exercised by a mount process with a test
// feature (test/cli/support/feature-mount.mjs): the write layer it sets is the
// one the filesystem uses, afterMount runs once mounted, a feature's control
// handler answers on the socket, `filesfs unmount` prints the beforeUnmount
// hook's progress and waits for it, `--force` (or a second SIGINT) cuts it
// short and the hook says what stays for the next mount, afterUnmount runs
// last, and the process exits 0 with nothing mounted.
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, test } from 'vitest';
import { controlRequest } from '../../src/control/client.js';
import { findMount } from '../../src/control/registry.js';
import { useEmulator } from '../support/emulator.js';
import { cliEnv, inMountTable, q, runCli, sh, startMount, stopMounts, type MountProcess } from '../support/mount.js';

const API_KEY = 'hooksKey42';
const emu = useEmulator({ apiKey: API_KEY });
const SCRIPT = fileURLToPath(new URL('./support/feature-mount.mjs', import.meta.url));

afterEach(stopMounts);

function start(drainMs: number, extraEnv: Record<string, string> = {}): Promise<MountProcess> {
  return startMount({
    url: emu().url,
    env: cliEnv({ FILES_API_KEY: API_KEY, DRAIN_MS: String(drainMs), ...extraEnv }),
    argv: (mnt, cacheDir) => [SCRIPT, mnt, emu().url, cacheDir],
  });
}

const events = (m: MountProcess): string[] => m.stderr().split('\n').filter((l) => l.startsWith('EVENT ')).map((l) => l.slice(6));

describe('features plug into the mount lifecycle', () => {
  test('write layer, afterMount, control handler, and a drain whose progress `filesfs unmount` prints', async () => {
    const m = await start(300);
    const ls = await sh(`LC_ALL=C ls -l --time-style=+%F ${q(m.mountpoint)}`);
    expect(ls.stdout).toMatch(/^-rw-r--r-- 1 \S+ \S+ +42 2024-01-02 pending\.txt$/m);
    const record = await findMount(m.mountpoint, m.env);
    expect(await controlRequest(record!.socket, 'status')).toEqual({ pendingUploads: 1, pendingBytes: 42 });

    const u = await runCli(['unmount', m.mountpoint], { env: m.env });
    expect(u.code, u.stderr).toBe(0);
    expect(u.stderr).toBe(`filesfs: draining: 1 file, 42 bytes left\nfilesfs: drained\nfilesfs: unmounted ${m.mountpoint}\n`);
    expect(await m.exited).toEqual({ code: 0, signal: null });
    expect(await inMountTable(m.mountpoint)).toBe(false);
    expect(events(m)).toEqual([
      `setup cacheDir=${m.cacheDir}`,
      `afterMount filesystem=true mountpoint=${m.mountpoint}`,
      'beforeUnmount force=false',
      'afterUnmount',
      'exit 0',
    ]);
  });

  test('filesfs unmount --force stops waiting for the drain; both commands return once unmounted', async () => {
    const m = await start(600_000);
    const waiting = runCli(['unmount', m.mountpoint], { env: m.env });
    await new Promise((r) => setTimeout(r, 500));
    expect(await inMountTable(m.mountpoint)).toBe(true);
    const forced = await runCli(['unmount', '--force', m.mountpoint], { env: m.env });
    expect(forced.code, forced.stderr).toBe(0);
    expect(forced.stderr).toContain('filesfs: forced: 1 upload stays in the journal and resumes at the next mount');
    const first = await waiting;
    expect(first.code, first.stderr).toBe(0);
    expect(first.stderr).toContain('filesfs: draining: 1 file, 42 bytes left');
    expect(await m.exited).toEqual({ code: 0, signal: null });
    expect(await inMountTable(m.mountpoint)).toBe(false);
    expect(m.stderr()).toContain('unmount requested (filesfs unmount): unmounting at once, without waiting');
    expect(events(m).slice(-2)).toEqual(['afterUnmount', 'exit 0']);
  });

  test('filesfs unmount --timeout gives up waiting (exit 1); the drain goes on', async () => {
    const m = await start(600_000);
    const r = await runCli(['unmount', '--timeout', '0.5', m.mountpoint], { env: m.env });
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('filesfs: draining: 1 file, 42 bytes left');
    expect(r.stderr).toContain(`filesfs: gave up waiting after 0.5 s; the mount process (pid ${m.pid}) goes on and unmounts ${m.mountpoint} when done`);
    expect(await inMountTable(m.mountpoint)).toBe(true);
    expect((await runCli(['unmount', '--force', m.mountpoint], { env: m.env })).code).toBe(0);
    expect(await m.exited).toEqual({ code: 0, signal: null });
  });

  test('SIGINT drains; a second SIGINT forces; the process exits 0 with nothing mounted', async () => {
    const m = await start(600_000);
    // Once the process says it is mounted: `mountpoint -q` can succeed a moment
    // before, and a signal then is a stop "received while starting".
    const mounted = Date.now() + 10_000;
    while (!m.stderr().includes('] mounted ') && Date.now() < mounted) await new Promise((r) => setTimeout(r, 20));
    m.child.kill('SIGINT');
    // The second signal only once the first was handled (signals are not queued).
    const deadline = Date.now() + 10_000;
    while (!m.stderr().includes('draining: 1 file') && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    expect(m.stderr()).toContain('SIGINT received: unmounting');
    expect(m.stderr()).toContain('(Ctrl-C again to unmount at once, without waiting)');
    expect(await inMountTable(m.mountpoint)).toBe(true);
    m.child.kill('SIGINT');
    expect(await m.exited).toEqual({ code: 0, signal: null });
    expect(await inMountTable(m.mountpoint)).toBe(false);
    expect(m.stderr()).toContain('SIGINT received again: unmounting at once, without waiting for the shutdown steps to finish');
    expect(m.stderr()).toContain('forced: 1 upload stays in the journal');
  });

  test('an exception nobody catches: logged, the mount detached, exit 1', async () => {
    const m = await start(0, { CRASH_AFTER_MOUNT: '1' });
    expect(await m.exited).toEqual({ code: 1, signal: null });
    expect(m.stderr()).toContain(`unexpected failure (uncaughtException): boom in a timer; detaching ${m.mountpoint} (fusermount3 -uz) and exiting`);
    expect(await inMountTable(m.mountpoint)).toBe(false);
  });
});
