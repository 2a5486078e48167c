// The mount process's memory under the loads users reported, on a mount of
// its own (default options, a fresh cache dir), so that each figure starts
// from a known state:
//   idle          resident memory once mounted and settled;
//   cat           one sequential reader of a 2 × bigBytes file (2 GiB);
//   random        fio, 4 jobs of random 4 KiB reads (psync), each on its own
//                 bigBytes / 2 file (512 MiB), for 2 × randomSeconds (20 s);
//   parallel cat  20 `cat`s at once, each of its own bigBytes × 50 / 1024
//                 file (50 MiB);
// each with the peak (VmHWM, reset before the case through
// /proc/PID/clear_refs) and the resident memory AFTER_MS after the readers
// are gone (what is not given back; the mount lets go of memory once it has
// been idle for 5 to 10 s). Page cache dropped before each case, so the
// reads reach the mount.
//
// With --quick (a check that the bench works, not figures to quote) the
// waits are QUICK_WAITS instead: the cases are small, and the default waits
// (5 s settling, then 12 s after each case) would be most of the run's
// memory time. Those "after" readings come before the idle release, and the
// report says how long after each case they were taken (`after_s`).
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { dropCaches, type Bench } from '../context.js';
import { FilesfsMount, mountUnavailable } from '../filesfs.js';
import type { Janitor } from '../procs.js';
import { run, runOk } from '../procs.js';
import { formatSize, MiB, round, sleep } from '../units.js';

/** How long the mount is left alone before the "idle" reading. */
const SETTLE_MS = 5_000;
/** How long after a case its "after" reading is taken: past the mount's idle release (src/vfs/read/idle-memory.ts). */
const AFTER_MS = 12_000;

/** The two waits of a profile. */
export interface MemoryWaits {
  settleMs: number;
  afterMs: number;
}

export const DEFAULT_WAITS: MemoryWaits = { settleMs: SETTLE_MS, afterMs: AFTER_MS };
/** --quick: one second each (readings before the idle release; see the header). */
export const QUICK_WAITS: MemoryWaits = { settleMs: 1_000, afterMs: 1_000 };
/** Readers of the parallel case. */
const PARALLEL_READERS = 20;
/** fio jobs of the random case. */
const RANDOM_JOBS = 4;

export interface MemoryCase {
  /** What ran. */
  what: string;
  seconds: number;
  bytes: number;
  /** VmHWM during the case, MiB. */
  peak_mib: number;
  /** VmRSS `after_s` (MemoryProfile) after the case ended, MiB. */
  after_mib: number;
  iops?: number;
}

export interface MemoryProfile {
  /** `filesfs mount` flags beyond the defaults (none for the reported run). */
  flags: string[];
  idle_mib: number;
  /** How long after each case its `after_mib` was read, seconds (12 by default: past the mount's idle release). */
  after_s: number;
  cases: MemoryCase[];
  /** The highest peak of all cases. */
  peak_mib: number;
}

export const MEMORY_DIR = 'mem';
const bigName = `${MEMORY_DIR}/big.bin`;
const randomName = (i: number): string => `${MEMORY_DIR}/random-${i + 1}.bin`;
const parallelName = (i: number): string => `${MEMORY_DIR}/par-${String(i + 1).padStart(2, '0')}.bin`;

export interface MemorySizes {
  big: number;
  random: number;
  parallel: number;
  randomSeconds: number;
}

export function memorySizes(bench: Bench): MemorySizes {
  const big = bench.scale.bigBytes;
  return { big: 2 * big, random: big / 2, parallel: Math.max(MiB, Math.round((big * 50) / 1024 / MiB) * MiB), randomSeconds: 2 * bench.scale.randomSeconds };
}

/** The files of the memory cases, on the emulator (uploaded from the local source, then server-side copies). */
export async function seedMemory(bench: Bench): Promise<void> {
  const sizes = memorySizes(bench);
  const source = join(bench.paths.sources, 'big.bin');
  const double = join(bench.paths.sources, 'big-x2.bin');
  await runOk('sh', ['-c', 'cat "$1" "$1" > "$2"', 'sh', source, double]);
  try {
    await bench.raw.uploadFile(double, bigName, sizes.big);
  } finally {
    await runOk('rm', ['-f', double]);
  }
  await bench.raw.uploadFile(source, randomName(0), sizes.random);
  for (let i = 1; i < RANDOM_JOBS; i++) await bench.raw.copy(randomName(0), randomName(i));
  await bench.raw.uploadFile(source, parallelName(0), sizes.parallel);
  for (let i = 1; i < PARALLEL_READERS; i++) await bench.raw.copy(parallelName(0), parallelName(i));
}

async function procStatus(pid: number, field: 'VmRSS' | 'VmHWM'): Promise<number> {
  const text = await readFile(`/proc/${pid}/status`, 'utf8');
  const m = new RegExp(`^${field}:\\s+(\\d+)\\s+kB`, 'm').exec(text);
  if (!m) throw new Error(`/proc/${pid}/status has no ${field}`);
  return round(Number(m[1]) / 1024, 1);
}

/** Resets the process's peak RSS (VmHWM) to its current RSS. */
async function resetPeak(pid: number): Promise<void> {
  await writeFile(`/proc/${pid}/clear_refs`, '5');
}

export async function memoryProfile(bench: Bench, janitor: Janitor, waits: MemoryWaits = DEFAULT_WAITS, flags: string[] = []): Promise<MemoryProfile> {
  const cannot = typeof bench.filesfs === 'string' ? bench.filesfs : mountUnavailable();
  if (cannot) throw new Error(cannot);
  const sizes = memorySizes(bench);
  const mountpoint = join(bench.paths.mounts, 'filesfs-memory');
  const cacheDir = join(bench.paths.work, 'filesfs-memory-cache');
  await runOk('mkdir', ['-p', '-m', '700', mountpoint, cacheDir]);
  const mount = await FilesfsMount.start(janitor, { mountpoint, baseUrl: bench.emulator.url, apiKey: bench.emulator.apiKey, cacheDir, extraArgs: flags });
  const pid = mount.pid;
  const cases: MemoryCase[] = [];
  let idle = 0;
  try {
    await sleep(waits.settleMs);
    idle = await procStatus(pid, 'VmRSS');
    bench.log(`bench: memory: idle ${idle} MiB`);

    const measureCase = async (what: string, bytes: number, work: () => Promise<{ seconds: number; iops?: number }>): Promise<void> => {
      await dropCaches(bench);
      await resetPeak(pid);
      const { seconds, iops } = await work();
      const peak = await procStatus(pid, 'VmHWM');
      await sleep(waits.afterMs);
      const after = await procStatus(pid, 'VmRSS');
      bench.log(`bench: memory: ${what}: ${seconds.toFixed(1)} s, peak ${peak} MiB, ${waits.afterMs / 1000} s after ${after} MiB`);
      cases.push({ what, seconds: round(seconds), bytes, peak_mib: peak, after_mib: after, ...(iops !== undefined ? { iops: round(iops, 1) } : {}) });
    };

    await measureCase(`cat of one ${formatSize(sizes.big)} file`, sizes.big, async () => {
      const r = await runOk('sh', ['-c', 'cat "$1" > /dev/null', 'sh', join(mountpoint, bigName)], { timeoutMs: 30 * 60_000 });
      return { seconds: r.seconds };
    });

    const fio = bench.tools.fio.path;
    if (fio) {
      await measureCase(`fio random 4 KiB reads, ${RANDOM_JOBS} jobs × ${formatSize(sizes.random)} files, ${sizes.randomSeconds} s`, RANDOM_JOBS * sizes.random, async () => {
        const jobs = Array.from({ length: RANDOM_JOBS }, (_, i) => [`--name=job${i + 1}`, `--filename=${join(mountpoint, randomName(i))}`, `--size=${sizes.random}`]).flat();
        const r = await runOk(fio, ['--readonly', '--rw=randread', '--bs=4k', '--ioengine=psync', '--iodepth=1', '--time_based', `--runtime=${sizes.randomSeconds}`, '--invalidate=1', '--output-format=json', ...jobs], { timeoutMs: (sizes.randomSeconds + 180) * 1000 });
        const report = JSON.parse(r.stdout.slice(r.stdout.indexOf('{'))) as { jobs: Array<{ read: { total_ios: number; runtime: number } }> };
        const iops = report.jobs.reduce((sum, j) => sum + j.read.total_ios / Math.max(j.read.runtime / 1000, 0.001), 0);
        return { seconds: r.seconds, iops };
      });
    }

    await measureCase(`${PARALLEL_READERS} parallel cats of ${formatSize(sizes.parallel)} files`, PARALLEL_READERS * sizes.parallel, async () => {
      const files = Array.from({ length: PARALLEL_READERS }, (_, i) => join(mountpoint, parallelName(i)));
      const r = await runOk('sh', ['-c', 'for f in "$@"; do cat "$f" > /dev/null & done; wait', 'sh', ...files], { timeoutMs: 30 * 60_000 });
      return { seconds: r.seconds };
    });
  } finally {
    await mount.unmount().catch(async (err: unknown) => {
      bench.log(`bench: memory: unmount: ${err instanceof Error ? err.message : String(err)}`);
    });
    await run('rm', ['-rf', cacheDir]);
  }
  return { flags, idle_mib: idle, after_s: waits.afterMs / 1000, cases, peak_mib: Math.max(0, ...cases.map((c) => c.peak_mib)) };
}
