// One benchmark run, start to finish:
//   tools (rclone, fio) → work dir (tmpfs when it has room) → emulator →
//   local sources and server fixtures → rclone serve + mount → filesfs mount →
//   workloads without latency → latency phase (emulator --latency-ms for
//   filesfs and raw; a delaying proxy for rclone, both measured) → a round
//   trip without faults and at 10 % faults (filesfs only) → report.
// Everything it starts is registered with the Janitor, so the caller's
// cleanup undoes it whatever happens.
import { randomBytes } from 'node:crypto';
import { statfsSync } from 'node:fs';
import { access, mkdir, mkdtemp, realpath, rm } from 'node:fs/promises';
import { constants as fsConstants } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readMounts } from '../fuse/index.js';
import { layout, type Bench, type RcloneSide, type Scale } from './context.js';
import { BenchEmulator } from './emulator.js';
import { FilesfsMount, mountUnavailable, peakRssMiB, rssMiB, writesUnavailable } from './filesfs.js';
import { addedLatency, emulatorProbe, webdavProbe, type AddedLatency } from './latency.js';
import { describeMachine } from './machine.js';
import type { Janitor } from './procs.js';
import { DelayProxy } from './proxy.js';
import { RAW_METHOD, RawHttp } from './raw.js';
import { RcloneMount, RcloneServer, type RcloneMountSettings } from './rclone.js';
import { failed, type Report, type Row } from './report.js';
import { evaluate } from './targets.js';
import { ensureTools } from './tools.js';
import { GiB, now, round } from './units.js';
import { readName, seedEmulator, seedRcloneBackend, makeLocalSources } from './seed.js';
import { listing, LIST_PAGE_SIZE } from './workloads/listing.js';
import { randomRead } from './workloads/random.js';
import { sequentialRead, sequentialWrite } from './workloads/sequential.js';
import { faultRoundTrips } from './workloads/faults.js';
import { smallFilesIn, smallFilesOut } from './workloads/small-files.js';
import { DEFAULT_WAITS, memoryProfile, QUICK_WAITS, seedMemory, type MemoryProfile } from './workloads/memory.js';
import { warmRead } from './workloads/warm-read.js';
import { CURL_METHOD } from './curl.js';

export interface RunOptions {
  scale: Scale;
  quick: boolean;
  log: (line: string) => void;
  /** Workload name prefixes to run (e.g. "seq_read", "small_files"); all when absent. */
  only?: readonly string[];
}

/** The workloads in the order they run; `--only` selects among them by prefix. */
export const WORKLOADS = ['seq_write', 'seq_read', 'seq_read_warm', 'random_read_4k', 'small_files_in_0ms', 'small_files_out_0ms', 'ls', 'small_files_in_20ms', 'small_files_out_20ms', 'round_trip_faults', 'memory'] as const;

function selected(only: readonly string[] | undefined, workload: string): boolean {
  return !only || only.some((prefix) => workload.startsWith(prefix));
}

/** A difference in added latency (ms) between the emulator and the proxy that is corrected by changing the proxy's delay. */
const PROXY_CALIBRATION_MS = 0.5;

/** How often the mount processes' peak RSS is read (VmHWM is a high-water mark; polling only guards against a process that exits). */
const RSS_POLL_MS = 500;

/**
 * Write-back defaults filesfs uploads with (src/vfs/write-back/options.ts); rclone
 * is given the same. Loaded at run time: a build without write-back has none.
 */
async function uploadDefaults(): Promise<{ delaySeconds: number; concurrency: number; source: string }> {
  try {
    const mod = (await import(new URL('../vfs/write-back/options.js', import.meta.url).href)) as { WRITE_BACK_DEFAULTS: { uploadDelayMs: number; uploadConcurrency: number } };
    return { delaySeconds: mod.WRITE_BACK_DEFAULTS.uploadDelayMs / 1000, concurrency: mod.WRITE_BACK_DEFAULTS.uploadConcurrency, source: 'filesfs write-back defaults' };
  } catch {
    // rclone's own defaults (--vfs-write-back 5s, --transfers 4) when filesfs has no write-back to match.
    return { delaySeconds: 5, concurrency: 4, source: 'rclone defaults (this filesfs build has no write-back)' };
  }
}

/** The work dir's parent: tmpfs (/dev/shm) when it has room for everything, so the VM's disk does not take part. */
function workRoot(scale: Scale): string {
  // Source, server copy, rclone's copy, and each way's written file with its staging copy, plus slack.
  const needed = 8 * scale.bigBytes + GiB;
  try {
    const s = statfsSync('/dev/shm');
    if (s.bavail * s.bsize >= needed) return '/dev/shm';
  } catch {
    // no /dev/shm
  }
  return tmpdir();
}

async function canDropCaches(): Promise<boolean> {
  if (process.getuid?.() !== 0) return false;
  return access('/proc/sys/vm/drop_caches', fsConstants.W_OK).then(() => true, () => false);
}

export async function runBench(options: RunOptions, janitor: Janitor): Promise<Report> {
  const { scale, log } = options;
  const started = now();
  const notes: string[] = [];
  const tools = await ensureTools(log);

  // Resolved: mountpoints under it are compared with /proc/mounts, which shows real paths.
  const work = await realpath(await mkdtemp(join(workRoot(scale), 'filesfs-bench-')));
  janitor.defer('remove the work dir', async () => {
    // Never recurse into a mount that could not be released: that would delete through it.
    const mounts = await readMounts().catch(() => []);
    const inside = mounts.filter((m) => m.mountpoint.startsWith(work + '/'));
    if (inside.length) throw new Error(`left ${work} in place: still mounted there: ${inside.map((m) => m.mountpoint).join(', ')}`);
    await rm(work, { recursive: true, force: true });
  });
  const paths = layout(work);
  const mountpoints = ['filesfs', 'rclone', 'rclone-delayed'].map((m) => join(paths.mounts, m));
  for (const dir of [paths.sources, paths.outputs, paths.emulatorData, paths.rcloneBackend, paths.rcloneCache, paths.filesfsCache, ...mountpoints]) {
    await mkdir(dir, { recursive: true, mode: 0o700 });
  }
  const dropCaches = await canDropCaches();
  if (!dropCaches) notes.push('not root: the page cache is not dropped before cold reads (they may be served from memory)');
  const machine = await describeMachine(tools, work, dropCaches);
  log(`bench: work dir ${work} (${machine.work_dir_fs})`);

  const apiKey = `bench-${randomBytes(12).toString('hex')}`;
  const emulator = await BenchEmulator.start(janitor, paths.emulatorData, apiKey);
  const raw = new RawHttp(emulator.url, apiKey);
  janitor.defer('close raw HTTP connections', () => raw.close());
  const upload = await uploadDefaults();

  const bench: Bench = {
    scale, paths, tools, emulator, raw,
    filesfs: 'not started', filesfsWrites: writesUnavailable(), rclone: 'not started',
    uploadDelaySeconds: upload.delaySeconds, uploadConcurrency: upload.concurrency,
    canDropCaches: dropCaches, filesfsBytesMoved: 0, log,
  };
  const latencies = [0, scale.latencyMs];

  log('bench: making sources and server fixtures');
  await makeLocalSources(bench);
  await seedEmulator(bench, latencies);
  if (selected(options.only, 'memory')) await seedMemory(bench);

  const rcloneSettings: RcloneMountSettings = { writeBackSeconds: upload.delaySeconds, transfers: upload.concurrency };
  bench.rclone = tools.rclone.path ? await startRclone(bench, janitor, tools.rclone.path, rcloneSettings).catch((err: unknown) => `rclone could not be started: ${err instanceof Error ? err.message : String(err)}`) : `rclone: ${tools.rclone.reason}`;

  const cannotMount = mountUnavailable();
  if (cannotMount) bench.filesfs = cannotMount;
  else {
    try {
      bench.filesfs = await FilesfsMount.start(janitor, { mountpoint: join(paths.mounts, 'filesfs'), baseUrl: emulator.url, apiKey, cacheDir: paths.filesfsCache });
    } catch (err) {
      bench.filesfs = `filesfs could not be mounted: ${err instanceof Error ? err.message : String(err)}`;
    }
  }

  let peakRss: number | null = null;
  let rclonePeakRss: number | null = null;
  const pollRss = async (): Promise<void> => {
    if (typeof bench.filesfs !== 'string') {
      const v = await peakRssMiB(bench.filesfs.pid);
      if (v !== undefined) peakRss = Math.max(peakRss ?? 0, v);
    }
    if (typeof bench.rclone !== 'string') {
      for (const m of [bench.rclone.direct, bench.rclone.delayed]) {
        const v = m ? await peakRssMiB(m.pid) : undefined;
        if (v !== undefined) rclonePeakRss = Math.max(rclonePeakRss ?? 0, v);
      }
    }
  };
  const rssTimer = setInterval(() => void pollRss(), RSS_POLL_MS);
  janitor.defer('stop the RSS poller', async () => clearInterval(rssTimer));

  const rows: Row[] = [];
  const step = async (what: string, work: () => Promise<Row | Row[]>): Promise<void> => {
    if (!selected(options.only, what)) return;
    try {
      const out = await work();
      rows.push(...(Array.isArray(out) ? out : [out]));
    } catch (err) {
      log(`bench: ${what} failed: ${err instanceof Error ? err.stack ?? err.message : String(err)}`);
      rows.push({ workload: what, title: what, latency_ms: 0, filesfs: failed(err), raw: failed(err), rclone: failed(err) });
    }
    await pollRss();
    // Which workload raised the mount's peak (the report has only the run's).
    if (typeof bench.filesfs !== 'string') log(`bench: after ${what}: filesfs resident ${(await rssMiB(bench.filesfs.pid))?.toFixed(1) ?? '?'} MiB, peak so far ${peakRss?.toFixed(1) ?? '?'} MiB`);
  };

  const direct = typeof bench.rclone === 'string' ? bench.rclone : bench.rclone.direct;
  await step('seq_write', () => sequentialWrite(bench));
  await step('seq_read', () => sequentialRead(bench));
  await step('seq_read_warm', () => warmRead(bench, janitor, rcloneSettings));
  await step('random_read_4k', () => randomRead(bench));
  await step('small_files_in_0ms', () => smallFilesIn(bench, 0, direct));
  await step('small_files_out_0ms', () => smallFilesOut(bench, 0, direct));
  await step('ls', () => listing(bench));

  // The latency phase: the same delay per request for everyone, measured.
  const L = scale.latencyMs;
  const latencyPhase = selected(options.only, `small_files_in_${L}ms`) || selected(options.only, `small_files_out_${L}ms`);
  const latency: { emulator?: AddedLatency; rclone_proxy?: AddedLatency } = {};
  if (latencyPhase) {
    log(`bench: latency phase: ${L} ms per request`);
    latency.emulator = await addedLatency(emulatorProbe(raw, readName(0)), emulatorProbe(raw, readName(0)), () => emulator.setLatency(L));
    let delayed: RcloneMount | string = typeof bench.rclone === 'string' ? bench.rclone : 'not started';
    if (typeof bench.rclone !== 'string') {
      try {
        const side = bench.rclone;
        side.proxy = await DelayProxy.start(side.server.url, L);
        janitor.defer('stop the delaying proxy', () => side.proxy!.stop());
        const probeProxy = (): Promise<AddedLatency> => addedLatency(webdavProbe(side.server.url, readName(0)), webdavProbe(side.proxy!.url, readName(0)));
        latency.rclone_proxy = await probeProxy();
        // Calibrate: the proxy must add what the emulator adds (its timers and
        // forwarding cost their own fraction of a millisecond on top of L).
        const correction = latency.emulator.added_ms - latency.rclone_proxy.added_ms;
        if (Math.abs(correction) >= PROXY_CALIBRATION_MS) {
          side.proxy.delayMs = Math.max(0, Math.round(L + correction));
          latency.rclone_proxy = { ...(await probeProxy()), delay_ms: side.proxy.delayMs };
        }
        side.delayed = await RcloneMount.start(janitor, tools.rclone.path!, paths.rcloneConfig, side.proxy.url, join(paths.mounts, 'rclone-delayed'), join(paths.rcloneCache, 'delayed'), rcloneSettings);
        delayed = side.delayed;
      } catch (err) {
        delayed = `rclone behind the delaying proxy could not be started: ${err instanceof Error ? err.message : String(err)}`;
      }
    }
    log(`bench: added latency per request: emulator ${latency.emulator.added_ms} ms, rclone proxy ${latency.rclone_proxy?.added_ms ?? 'n/a'} ms`);
    await step(`small_files_in_${L}ms`, () => smallFilesIn(bench, L, delayed));
    await step(`small_files_out_${L}ms`, () => smallFilesOut(bench, L, delayed));
    await emulator.setLatency(0);
  }

  // The same round trip without faults and at 10 % faults (no latency).
  await step('round_trip_faults', () => faultRoundTrips(bench));

  await pollRss();
  clearInterval(rssTimer);
  if (typeof bench.filesfs !== 'string') {
    try {
      await bench.filesfs.unmount();
    } catch (err) {
      notes.push(`filesfs unmount: ${err instanceof Error ? err.message : String(err)}`);
    }
  }

  // Last, on a mount of its own: the peak RSS target above is the main mount's.
  let memory: MemoryProfile | undefined;
  if (selected(options.only, 'memory')) {
    try {
      memory = await memoryProfile(bench, janitor, options.quick ? QUICK_WAITS : DEFAULT_WAITS);
    } catch (err) {
      log(`bench: memory failed: ${err instanceof Error ? err.stack ?? err.message : String(err)}`);
      notes.push(`memory: failed: ${err instanceof Error ? err.message : String(err)}`);
    }
  }

  const settings = {
    scale: { ...scale, quick: options.quick },
    /** This run's own temp dir: every mount, cache and file of the run lies under it (and it is removed at the end). */
    work_dir: work,
    raw_method: RAW_METHOD,
    curl_method: CURL_METHOD,
    rclone_mount: `rclone mount :webdav: --vfs-cache-mode writes --vfs-write-back ${rcloneSettings.writeBackSeconds}s --transfers ${rcloneSettings.transfers} --attr-timeout 1s (serve webdav of a local folder on 127.0.0.1); --vfs-cache-mode full for the reads after a remount`,
    upload_settings_from: upload.source,
    list_page_size: LIST_PAGE_SIZE,
    latency,
    work_dir_fs: machine.work_dir_fs,
    filesfs_moved_gib: round(bench.filesfsBytesMoved / GiB, 2),
    duration_s: round(now() - started, 1),
    rclone_peak_rss_mib: rclonePeakRss === null ? null : round(rclonePeakRss, 1),
  };
  const { ratios, targets } = evaluate(rows, scale, peakRss === null ? null : round(peakRss, 1), bench.filesfsBytesMoved);
  return { machine, settings, results: rows, ratios, targets, notes, ...(memory ? { memory } : {}) };
}

async function startRclone(bench: Bench, janitor: Janitor, rclone: string, settings: RcloneMountSettings): Promise<RcloneSide> {
  const { paths } = bench;
  await seedRcloneBackend(bench, [0, bench.scale.latencyMs]);
  const server = await RcloneServer.start(janitor, rclone, paths.rcloneConfig, paths.rcloneBackend);
  const direct = await RcloneMount.start(janitor, rclone, paths.rcloneConfig, server.url, join(paths.mounts, 'rclone'), join(paths.rcloneCache, 'direct'), settings);
  return { server, direct };
}
