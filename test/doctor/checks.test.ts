// The doctor's checks with their inputs redirected: each FUSE problem on its
// own line with its fix, allow_other only when asked for, what mount(8)
// needs, the clock against a server's Date header, and the output format.
import { createServer, type Server } from 'node:http';
import { chmodSync, mkdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, test } from 'vitest';
import { formatResult, summarize } from '../../src/doctor/check.js';
import { checkFuse } from '../../src/doctor/fuse-checks.js';
import { checkMountHelpers } from '../../src/doctor/helper-check.js';
import { checkSite } from '../../src/doctor/site-check.js';
import type { FuseDetection } from '../../native/detect-fuse.mjs';
import { testDir } from '../support/emulator.js';

const ready: FuseDetection = { ok: true, problems: [], libfuse: '/lib/libfuse.so.2', fusermount: '/usr/bin/fusermount' };
const loads = async (): Promise<void> => undefined;

describe('FUSE checks', () => {
  test('all there: one ok line per part', async () => {
    const r = await checkFuse({ allowOther: false, detect: () => ready, loadBinding: loads });
    expect(r.map(formatResult)).toEqual([
      'ok    FUSE device: /dev/fuse is there and this user may read and write it',
      'ok    FUSE library: /lib/libfuse.so.2',
      'ok    fusermount: /usr/bin/fusermount',
      'ok    allow_other: not asked for (only the mounting user will see into the mount)',
      'ok    native binding: built with our patch, and it loads',
    ]);
  });

  test('each problem on the line of its part, with its fix; the binding is not loaded without its library', async () => {
    const detect = (): FuseDetection => ({
      ok: false, libfuse: undefined, fusermount: undefined,
      problems: [
        { check: 'library', problem: 'the FUSE library is not installed', fix: 'apt-get install libfuse' },
        { check: 'fusermount', problem: 'fusermount is not on PATH', fix: 'apt-get install fuse' },
        { check: 'device', problem: '/dev/fuse is missing', fix: 'modprobe fuse' },
      ],
    });
    const r = await checkFuse({ allowOther: false, detect, loadBinding: loads });
    expect(r.map(formatResult)).toEqual([
      'FAIL  FUSE device: /dev/fuse is missing → modprobe fuse',
      'FAIL  FUSE library: the FUSE library is not installed → apt-get install libfuse',
      'FAIL  fusermount: fusermount is not on PATH → apt-get install fuse',
      'ok    allow_other: not asked for (only the mounting user will see into the mount)',
      'skip  native binding: not loaded (the FUSE library is missing)',
    ]);
  });

  test('a binding that does not load fails with the loader\'s reason', async () => {
    const r = await checkFuse({ allowOther: false, detect: () => ready, loadBinding: async () => { throw new Error('libfuse.so.2: cannot open shared object file'); } });
    expect(formatResult(r.at(-1)!)).toMatch(/^FAIL {2}native binding: does not load: libfuse\.so\.2: cannot open shared object file → rebuild it/);
  });

  test('not Linux: one line', async () => {
    const r = await checkFuse({ allowOther: false, detect: () => ({ ok: false, libfuse: undefined, fusermount: undefined, problems: [{ check: 'platform', problem: 'filesfs mounts through FUSE on Linux; this is darwin', fix: 'run it on Linux' }] }) });
    expect(r.map(formatResult)).toEqual(['FAIL  FUSE: filesfs mounts through FUSE on Linux; this is darwin → run it on Linux']);
  });

  test('allow_other: root may; a user needs user_allow_other in fuse.conf', async () => {
    const dir = testDir('doctor-conf-');
    const conf = join(dir, 'fuse.conf');
    writeFileSync(conf, '# mount_max = 1000\n#user_allow_other\n');
    const line = async (uid: number) => formatResult((await checkFuse({ allowOther: true, detect: () => ready, loadBinding: loads, fuseConf: conf, uid }))[3]!);
    expect(await line(0)).toBe('ok    allow_other: asked for; root may use it');
    expect(await line(1000)).toBe(`FAIL  allow_other: asked for, but ${conf} has no line "user_allow_other" → as root, add that line to ${conf} (or mount as root)`);
    writeFileSync(conf, 'user_allow_other\n');
    expect(await line(1000)).toBe(`ok    allow_other: asked for; ${conf} has user_allow_other`);
  });
});

describe('what mount(8) needs', () => {
  test('filesfs where mount.fuse\'s shell looks, node where env looks, the umount helper', () => {
    const dir = testDir('doctor-helpers-');
    const bin = join(dir, 'bin');
    mkdirSync(bin);
    expect(checkMountHelpers({ shellPath: [bin], execPath: [bin], umountHelper: join(dir, 'umount.fuse.filesfs') }).map(formatResult)).toEqual([
      `FAIL  mount helper: mount.fuse runs "filesfs" with a minimal PATH and would not find it (looked in ${bin}) → ln -s "$(command -v filesfs)" /usr/local/bin/filesfs`,
      `FAIL  node for mount(8): node is not in ${bin}, where "#!/usr/bin/env node" looks without PATH → ln -s "$(command -v node)" /usr/bin/node`,
      `WARN  umount helper: no ${join(dir, 'umount.fuse.filesfs')}: umount takes the mount away at once and its pending uploads finish in the background (or resume at the next mount) → ln -s "$(command -v filesfs)" ${join(dir, 'umount.fuse.filesfs')}`,
    ]);
    for (const name of ['filesfs', 'node']) {
      writeFileSync(join(bin, name), '#!/bin/sh\n');
      chmodSync(join(bin, name), 0o755);
    }
    symlinkSync(join(bin, 'filesfs'), join(dir, 'umount.fuse.filesfs'));
    expect(checkMountHelpers({ shellPath: [bin], execPath: [bin], umountHelper: join(dir, 'umount.fuse.filesfs') }).map((r) => r.status)).toEqual(['ok', 'ok', 'ok']);
  });
});

describe('the clock, against the server\'s Date header', () => {
  let offsetMs = 0;
  let sendDate = true;
  const server: Server = createServer((_req, res) => {
    res.sendDate = false;
    if (sendDate) res.setHeader('date', new Date(Date.now() + offsetMs).toUTCString());
    res.writeHead(401).end('{}');
  });
  const listening = new Promise<string>((resolve) => server.listen(0, '127.0.0.1', () => resolve(`http://127.0.0.1:${(server.address() as { port: number }).port}`)));
  afterAll(() => new Promise<void>((r) => server.close(() => r())));

  test.each([
    [0, 'ok', 'within a second of the server\'s (Date header)'],
    [-60_000, 'warn', '60 s ahead of the server\'s (Date header)'],
    [600_000, 'fail', '600 s behind the server\'s (Date header)'],
  ] as const)('server clock %i ms off: %s', async (offset, status, detail) => {
    offsetMs = offset;
    const r = await checkSite({ baseUrl: await listening, connectTimeoutMs: 5000, requestTimeoutMs: 5000 });
    const clock = r.results.find((x) => x.name === 'clock')!;
    expect(clock.status).toBe(status);
    expect(clock.detail.replace(/^(59|61) s/, '60 s').replace(/^(599|601) s/, '600 s')).toBe(detail);
    if (status !== 'ok') expect(clock.fix).toMatch(/^sync this machine's clock \(NTP/);
  });

  test('no Date header: a warning, not compared', async () => {
    sendDate = false;
    const r = await checkSite({ baseUrl: await listening, connectTimeoutMs: 5000, requestTimeoutMs: 5000 });
    sendDate = true;
    expect(formatResult(r.results.find((x) => x.name === 'clock')!)).toMatch(/^WARN {2}clock: the server sent no Date header: not compared → /);
  });
});

describe('the summary line', () => {
  test('passes with warnings; fails when one check fails', () => {
    const ok = { status: 'ok', name: 'a', detail: 'x' } as const;
    expect(summarize([ok, ok])).toBe('all 2 checks passed');
    expect(summarize([ok, { status: 'warn', name: 'b', detail: 'y', fix: 'z' }, { status: 'skip', name: 'c', detail: 'w' }])).toBe('all 2 checks passed (1 warning, 1 skipped)');
    expect(summarize([ok, { status: 'fail', name: 'b', detail: 'y' }])).toBe('1 of 2 checks failed');
  });
});
