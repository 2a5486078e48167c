// Changes made elsewhere (through the API, as another client would), seen
// through a real mount that trusts its caches for an hour: `filesfs refresh`
// shows them to `ls` and `cat` at once, and `--poll-interval 1` (here as
// `-o poll_interval=1`) shows a file created elsewhere to `ls` within a few
// seconds. Also what `filesfs refresh` answers when no mount serves a path,
// and what `filesfs status` says polling cost.
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, test } from 'vitest';
import { useEmulator, useEmulatorClients } from '../support/emulator.js';
import { q, runCli, scratch, sh, startMount, stopMounts } from '../support/mount.js';

const API_KEY = 'remoteChangesMountKey42';
const emu = useEmulator({ apiKey: API_KEY });
const other = useEmulatorClients(emu, API_KEY);

afterEach(stopMounts);

/** An hour: whatever shows sooner was found by refresh or the poll. */
const LONG_TTLS = ['--attr-ttl', '3600', '--dir-ttl', '3600'];
/** Longer than the kernel's own attribute, lookup and "no such file" caches (1 s). */
const KERNEL_CACHES_MS = 1_200;
const pause = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

async function out(script: string): Promise<string> {
  const r = await sh(script);
  expect(r.code, `${script}: ${r.stderr}`).toBe(0);
  return r.stdout;
}

describe('filesfs refresh', () => {
  test('after changes made through the API, ls and cat show them at once, whatever the TTLs', async () => {
    await other().upload('shared/report.txt', { buffer: Buffer.from('version 1\n') });
    await other().upload('shared/old.txt', { buffer: Buffer.from('old\n') });
    const m = await startMount({ url: emu().url, apiKey: API_KEY, args: LONG_TTLS });
    const dir = join(m.mountpoint, 'shared');
    expect(await out(`ls ${q(dir)}`)).toBe('old.txt\nreport.txt\n');
    expect(await out(`cat ${q(join(dir, 'report.txt'))}`)).toBe('version 1\n');

    await other().upload('shared/report.txt', { buffer: Buffer.from('version 2, longer\n') });
    await other().upload('shared/new.txt', { buffer: Buffer.from('new\n') });
    await other().delete('shared/old.txt');
    // Past the kernel's own caches, the mount still shows what it cached (the TTLs are an hour).
    await pause(KERNEL_CACHES_MS);
    expect(await out(`ls ${q(dir)}; cat ${q(join(dir, 'report.txt'))}`)).toBe('old.txt\nreport.txt\nversion 1\n');
    await pause(KERNEL_CACHES_MS);

    const r = await runCli(['refresh', dir], { env: m.env });
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    // The parent of the mount's folders is canonical here (scratch dirs have no symlinks).
    expect(r.stdout).toBe(`refreshed ${dir} (listing of 2 entries, 1 file's contents)\n`);
    expect(await out(`ls ${q(dir)}; cat ${q(join(dir, 'report.txt'))}`)).toBe('new.txt\nreport.txt\nversion 2, longer\n');
    expect((await sh(`cat ${q(join(dir, 'old.txt'))}`)).stderr).toMatch(/No such file or directory/);

    // A name that does not exist here yet, inside a mount: refreshed all the same (a cached "no such file" goes).
    expect((await sh(`cat ${q(join(dir, 'later.txt'))}`)).code).not.toBe(0);
    await other().upload('shared/later.txt', { buffer: Buffer.from('later\n') });
    await pause(KERNEL_CACHES_MS);
    const later = await runCli(['refresh', join(dir, 'later.txt'), '--json'], { env: m.env });
    expect(later.code, later.stderr).toBe(0);
    expect(JSON.parse(later.stdout)).toMatchObject({ path: '/shared/later.txt', found: 'file', requests: 1 });
    expect(await out(`cat ${q(join(dir, 'later.txt'))}`)).toBe('later\n');

    const status = JSON.parse((await runCli(['status', m.mountpoint, '--json'], { env: m.env })).stdout) as Record<string, unknown>;
    expect(status).toMatchObject({ pollIntervalSeconds: null, pollRequests: 0, refreshes: 2, refreshRequests: 2 });
  });

  test('exit status 1 when no filesfs mount serves the path, 2 for usage', async () => {
    const plain = scratch('not-a-mount');
    mkdirSync(join(plain, 'sub'));
    const r = await runCli(['refresh', join(plain, 'sub')]);
    expect(r.code).toBe(1);
    expect(r.stderr).toBe(`filesfs: ${join(plain, 'sub')} is not inside a filesfs mount\n`);
    expect((await runCli(['refresh'])).code).toBe(2);
    expect((await runCli(['refresh', 'a', 'b'])).code).toBe(2);
    expect((await runCli(['refresh', plain, '--bogus'])).code).toBe(2);
  });
});

describe('--poll-interval', () => {
  test('-o poll_interval=1: ls shows a file created elsewhere within a few seconds, with --dir-ttl 3600', async () => {
    await other().upload('watched/first.txt', { buffer: Buffer.from('1\n') });
    const m = await startMount({ url: emu().url, apiKey: API_KEY, args: [...LONG_TTLS, '-o', 'poll_interval=1'] });
    const dir = join(m.mountpoint, 'watched');
    expect(await out(`ls ${q(dir)}`)).toBe('first.txt\n');

    await other().upload('watched/second.txt', { buffer: Buffer.from('2\n') });
    const created = Date.now();
    let listed = '';
    while (Date.now() - created < 15_000) {
      listed = await out(`ls ${q(dir)}`);
      if (listed.includes('second.txt')) break;
      await pause(200);
    }
    // Within one poll interval and the kernel's 1 s, give or take a loaded machine (the TTL is an hour).
    expect(listed).toBe('first.txt\nsecond.txt\n');

    const status = JSON.parse((await runCli(['status', m.mountpoint, '--json'], { env: m.env })).stdout) as Record<string, unknown>;
    expect(status.pollIntervalSeconds).toBe(1);
    expect(status.pollRequests).toBeGreaterThan(0);
    expect(status.polledFolders).toBeGreaterThanOrEqual(1);
    expect(Date.parse(String(status.lastPollAt))).not.toBeNaN();
    const human = (await runCli(['status', m.mountpoint], { env: m.env })).stdout;
    expect(human).toMatch(/^polling every 1 s for changes made elsewhere: the last one \(\d+ s ago\) asked about \d+ folders? in use; [\d,]+ requests? since the mount started$/m);
  });
});
