// Crash consistency (our ALICE / CrashMonkey): a real mount is killed with
// SIGKILL at every crash point of the write-back path (src/vfs/write-back/
// crash-points.ts) while it runs each workload of crash-workloads.py; then
// the journal it left is recovered and drained (by a real mount on the same
// cache dir for the cases that end in a commit, by the same write-back
// recovery in this process for the others, to keep the suite short). The
// server must then hold,
// for every file, the last version whose close returned, or the one whose
// close was in progress when the process died, and never anything else (a
// mix, a prefix, a version nobody closed).
//
// Enumerated, not picked: every point × the n-th time it is reached (n = 1,
// 2) × every workload, before uploads start (a long upload delay) and while
// they run (no delay). A combination whose point is never reached runs the
// workload to its end, and the same check applies.
import { createHash } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { HttpFilesClient } from '../../../src/client/http-files-client.js';
import { CRASH_POINTS, type CrashPoint } from '../../../src/vfs/write-back/crash-points.js';
import { useEmulator } from '../../support/emulator.js';
import { cliEnv, inMountTable, REPO, runCli, runProgram, scratch, startMount, stopMounts, type MountProcess } from '../../support/mount.js';
import { mountTmpfs, type Tmpfs } from '../../support/tmpfs.js';
import { writeBackFs } from './helpers.js';

const API_KEY = 'crashSuiteKey42';
const emu = useEmulator({ apiKey: API_KEY });
let client: HttpFilesClient;
const tmpfs: Tmpfs[] = [];

beforeAll(() => {
  client = new HttpFilesClient({ baseUrl: emu().url, credentials: { apiKey: API_KEY }, logLevel: 'silent' });
});
// Cases run concurrently: each stops its own mounts; this is the backstop.
afterAll(async () => {
  await stopMounts();
  for (const t of tmpfs) t.unmount();
  await client?.close();
});

const MiB = 1024 * 1024;
const CHUNK = 128 * 1024;
const SCRIPT = join(REPO, 'test', 'vfs', 'write-back', 'crash-workloads.py');

/** The content of a version, as crash-workloads.py makes it. */
function version(name: string): Buffer {
  const sizes: Record<string, number> = { v1: 3 * MiB, v2: 1 * MiB, v3: 2 * MiB };
  const size = sizes[name]!;
  const unit = Buffer.from(name.repeat(Math.floor(CHUNK / name.length)));
  const out = Buffer.alloc(size);
  for (let at = 0; at < size; at += unit.length) unit.copy(out, at, 0, Math.min(unit.length, size - at));
  return out;
}

/** Every version a workload can publish, by name. */
const CONTENTS: Record<string, () => Buffer> = {
  v1: () => version('v1'),
  v2: () => version('v2'),
  v3: () => version('v3'),
  'v1+v2@1M': () => Buffer.concat([version('v1').subarray(0, MiB), version('v2'), version('v1').subarray(2 * MiB)]),
  'v1+v2': () => Buffer.concat([version('v1'), version('v2')]),
  'v3+v1': () => Buffer.concat([version('v3'), version('v1').subarray(2 * MiB)]),
};
const sha = (b: Buffer): string => createHash('sha256').update(b).digest('hex');
const NAME_OF = new Map(Object.entries(CONTENTS).map(([name, make]) => [sha(make()), name]));

const WORKLOADS = ['new-file', 'in-place', 'truncated', 'appended', 'editor-save', 'fsync-then-change', 'disk-full'] as const;
type Workload = (typeof WORKLOADS)[number];
/** The files each workload publishes. */
const FILES: Record<Workload, string[]> = {
  'new-file': ['f.bin'],
  'in-place': ['f.bin'],
  truncated: ['f.bin'],
  appended: ['f.bin'],
  'editor-save': ['f.bin', 'f.bin.tmp'],
  'fsync-then-change': ['f.bin'],
  'disk-full': ['f.bin'],
};

interface Marker {
  file?: string;
  closing?: string;
  closed?: string;
  moved_from?: string;
}

/**
 * What each file may hold on the server after the run: the last version whose
 * close returned ('absent' before any), plus the one being closed if its
 * close had not returned. A rename also takes the version away from its
 * source name once it returned; while in flight, either name may hold it.
 */
function allowedVersions(workload: Workload, stdout: string): Map<string, Set<string>> {
  const last = new Map<string, string>(FILES[workload].map((f) => [f, 'absent']));
  const inFlight = new Map<string, string>();
  const movedAway = new Map<string, string>();
  for (const line of stdout.split('\n')) {
    if (!line.startsWith('{')) continue;
    const m = JSON.parse(line) as Marker;
    if (!m.file) continue;
    if (m.closing) {
      inFlight.set(m.file, m.closing);
      if (m.moved_from) movedAway.set(m.moved_from, last.get(m.moved_from)!);
    }
    if (m.closed) {
      last.set(m.file, m.closed);
      inFlight.delete(m.file);
      if (m.moved_from) {
        last.set(m.moved_from, 'absent');
        movedAway.delete(m.moved_from);
      }
    }
  }
  const allowed = new Map<string, Set<string>>();
  for (const [file, v] of last) {
    const set = new Set([v]);
    const pending = inFlight.get(file);
    if (pending) set.add(pending);
    if (movedAway.has(file)) set.add('absent');
    allowed.set(file, set);
  }
  return allowed;
}

/** What the server holds at a path: a version's name, 'absent', or 'UNKNOWN (n bytes)'. */
async function serverVersion(path: string): Promise<string> {
  try {
    const chunks: Buffer[] = [];
    for await (const chunk of await client.createReadStream(path)) chunks.push(chunk as Buffer);
    const data = Buffer.concat(chunks);
    return NAME_OF.get(sha(data)) ?? `UNKNOWN (${data.length} bytes)`;
  } catch (err) {
    if ((err as { kind?: string }).kind === 'not-found') return 'absent';
    throw err;
  }
}

interface Case {
  workload: Workload;
  point: CrashPoint;
  nth: number;
  uploadDelayMs: number;
}

/** Points only an upload reaches (with no upload delay, or through fsync). */
const UPLOAD_POINTS: readonly CrashPoint[] = ['upload-start', 'upload-landed', 'record-removed'];
/** Workloads that reach a point at all (the others would only run to their end). */
const REACHES: Partial<Record<CrashPoint, readonly Workload[]>> = {
  copy: ['in-place', 'truncated', 'fsync-then-change', 'disk-full'],
  'rename-moved': ['editor-save'],
  'rename-recorded': ['editor-save'],
};
/** Versions each workload commits (a commit, and with no upload delay an upload, per version). */
const COMMITS: Record<Workload, number> = {
  'new-file': 1, 'in-place': 2, truncated: 2, appended: 2, 'editor-save': 2, 'fsync-then-change': 2, 'disk-full': 1,
};

/**
 * Every point at every arrival a workload makes (its first and second
 * commit, upload and record removal), and for writes the first one and one
 * inside the second version (the first is 24 writes of 128 KiB). Points
 * before uploads run with a long upload delay (nothing is uploaded yet) and,
 * for writes and the commit's end, also with none (uploads run meanwhile).
 */
function cases(): Case[] {
  const out: Case[] = [];
  for (const workload of WORKLOADS) {
    for (const point of CRASH_POINTS) {
      if (REACHES[point] && !REACHES[point]!.includes(workload)) continue;
      const commits = Array.from({ length: COMMITS[workload] }, (_, i) => i + 1);
      const arrivals = point === 'write' ? (workload === 'new-file' ? [1] : [1, 30]) : point === 'copy' || point === 'rename-moved' || point === 'rename-recorded' ? [1] : commits;
      const delays = UPLOAD_POINTS.includes(point) ? [0] : point === 'write' || point === 'commit-done' ? [60_000, 0] : [60_000];
      for (const uploadDelayMs of delays) for (const nth of arrivals) out.push({ workload, point, nth, uploadDelayMs });
    }
  }
  return out;
}

let serial = 0;

async function runCase(c: Case): Promise<{ outcome: Map<string, string>; allowed: Map<string, Set<string>>; crashed: boolean; copies: string[]; log: string }> {
  const folder = `crash-${++serial}`;
  await client.mkdir(folder);
  let cacheDir = join(scratch('crash-cache'), 'c');
  if (c.workload === 'disk-full') {
    const disk = mountTmpfs(4 * MiB, 'crash-disk');
    tmpfs.push(disk);
    cacheDir = join(disk.dir, 'c');
  }
  mkdirSync(cacheDir, { recursive: true, mode: 0o700 });
  const env = cliEnv({ FILESFS_CRASH_AT: `${c.point}:${c.nth}` });
  const mounts: MountProcess[] = [];
  try {
    const first = await startMount({ url: emu().url, apiKey: API_KEY, env, cacheDir, args: ["--upload-delay", String(c.uploadDelayMs)] });
    mounts.push(first);
    const run = await runProgram('python3', [SCRIPT, join(first.mountpoint, folder), c.workload], { timeoutMs: 60_000 });
    // Uploads started by the workload get a moment to reach their crash points.
    const crashed = await Promise.race([first.exited.then(() => true), new Promise<boolean>((r) => setTimeout(() => r(false), c.uploadDelayMs === 0 ? 1_500 : 100))]);
    const allowed = allowedVersions(c.workload, run.stdout);
    await settle(first);
    // The next mount on the same cache dir uploads what the journal holds, and unmounting drains it:
    // a real mount for the cases that end a commit, the same recovery in this process for the others.
    let after: string;
    if (c.point === 'commit-done') {
      const second = await startMount({ url: emu().url, apiKey: API_KEY, env: cliEnv(), cacheDir, args: ['--upload-delay', '0'] });
      mounts.push(second);
      const unmount = await runCli(['unmount', second.mountpoint], { env: second.env, timeoutMs: 60_000 });
      await second.exited;
      after = `unmount: ${unmount.stdout}${unmount.stderr}\nsecond mount:\n${second.stderr()}`;
    } else {
      const recovery = await writeBackFs(new HttpFilesClient({ baseUrl: emu().url, credentials: { apiKey: API_KEY }, logLevel: 'silent' }), { cacheDir, writeBack: { uploadDelayMs: 0 } });
      const drained = await recovery.writeBack.drain();
      await recovery.writeBack.close();
      await recovery.client.close();
      after = `recovery: ${JSON.stringify(drained)}\n${recovery.logs.join('\n')}`;
    }
    const outcome = new Map<string, string>();
    for (const file of FILES[c.workload]) outcome.set(file, await serverVersion(`${folder}/${file}`));
    // A version of ours that landed before the crash is not someone else's: no conflict copy of it.
    const copies: string[] = [];
    for await (const page of client.list(folder)) for (const e of page) if (e.name.includes('(conflict ')) copies.push(e.name);
    return { outcome, allowed, crashed, copies, log: `workload stdout:\n${run.stdout}\nworkload stderr:\n${run.stderr}\nfirst mount:\n${first.stderr()}\n${after}` };
  } finally {
    await Promise.all(mounts.map((m) => m.stop()));
  }
}

/** The first mount: killed at its crash point, or stopped normally; either way gone, with no mount left. */
async function settle(m: MountProcess): Promise<void> {
  const done = await Promise.race([m.exited.then(() => true), new Promise<boolean>((r) => setTimeout(() => r(false), 100))]);
  if (done) {
    if (await inMountTable(m.mountpoint)) await runProgram('fusermount3', ['-uz', m.mountpoint]);
    await m.stop();
    return;
  }
  // Not crashed: a kill -9 now is one more crash point (after the workload).
  m.child.kill('SIGKILL');
  await m.stop();
}

describe.concurrent('crash consistency: kill -9 at every crash point, then a new mount', () => {
  const all = cases();
  test('the cases cover every crash point and workload', () => {
    expect(new Set(all.map((c) => c.point))).toEqual(new Set(CRASH_POINTS));
    expect(new Set(all.map((c) => c.workload))).toEqual(new Set(WORKLOADS));
  });

  test.each(all.map((c) => [`${c.workload} @ ${c.point}:${c.nth}, delay ${c.uploadDelayMs} ms`, c] as const))('%s', async (_name, c) => {
    const { outcome, allowed, copies, log } = await runCase(c);
    for (const [file, got] of outcome) {
      const ok = allowed.get(file)!;
      expect(ok.has(got), `${file}: the server holds ${got}; allowed: ${[...ok].join(' or ')}\n${log}`).toBe(true);
    }
    expect(copies, log).toEqual([]);
  }, 120_000);
});
