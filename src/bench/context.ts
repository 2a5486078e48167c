// What every workload needs: the sizes of this run, the work dir's layout,
// the servers and mounts of the three ways (with the reason when one is not
// available), and a few shared actions (drop caches, count requests, track
// the bytes filesfs moved).
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { BenchEmulator } from './emulator.js';
import type { FilesfsMount } from './filesfs.js';
import type { DelayProxy } from './proxy.js';
import type { RawHttp } from './raw.js';
import type { RcloneMount, RcloneServer } from './rclone.js';
import type { Column, Measurement } from './report.js';
import type { Tools } from './tools.js';
import { GiB, KiB, MiB } from './units.js';

export interface Scale {
  /** The large file of the sequential write and read. */
  bigBytes: number;
  /** Runs of the sequential read (the median is reported). */
  passes: number;
  /** Runs of the sequential write (fewer: each takes three times as long, and the run must stay under 15 minutes on 2 cores). */
  writePasses: number;
  /** Duration of each random-read run. */
  randomSeconds: number;
  /** Files of the many-small-files copy, and their size. */
  smallFiles: number;
  smallFileBytes: number;
  /** Entries of the `ls -l` folder. */
  listEntries: number;
  /** Per-request latency of the latency-bound workloads. */
  latencyMs: number;
}

/** The default run: the sizes the performance targets are stated for. */
export const DEFAULT_SCALE: Scale = {
  bigBytes: 1 * GiB,
  passes: 3,
  writePasses: 2,
  randomSeconds: 10,
  smallFiles: 1_000,
  smallFileBytes: 4 * KiB,
  listEntries: 10_000,
  latencyMs: 20,
};

/** `--scale F`: every size (and the random-read time) times F; one pass below full size. */
export function scaled(factor: number): Scale {
  const big = Math.max(MiB, Math.round((DEFAULT_SCALE.bigBytes * factor) / MiB) * MiB);
  return {
    bigBytes: big,
    passes: factor >= 1 ? DEFAULT_SCALE.passes : 1,
    writePasses: factor >= 1 ? DEFAULT_SCALE.writePasses : 1,
    randomSeconds: Math.max(1, Math.round(DEFAULT_SCALE.randomSeconds * factor)),
    smallFiles: Math.max(10, Math.round(DEFAULT_SCALE.smallFiles * factor)),
    smallFileBytes: DEFAULT_SCALE.smallFileBytes,
    listEntries: Math.max(100, Math.round(DEFAULT_SCALE.listEntries * factor)),
    latencyMs: DEFAULT_SCALE.latencyMs,
  };
}

/** Local paths of one run (all inside the work dir). */
export interface Layout {
  work: string;
  /** Local sources: big.bin, small/ */
  sources: string;
  /** Where `cp -r` copies out of the mounts land. */
  outputs: string;
  emulatorData: string;
  rcloneBackend: string;
  rcloneCache: string;
  rcloneConfig: string;
  filesfsCache: string;
  mounts: string;
}

export function layout(work: string): Layout {
  return {
    work,
    sources: join(work, 'sources'),
    outputs: join(work, 'outputs'),
    emulatorData: join(work, 'emulator'),
    rcloneBackend: join(work, 'rclone-backend'),
    rcloneCache: join(work, 'rclone-cache'),
    rcloneConfig: join(work, 'rclone.conf'),
    filesfsCache: join(work, 'filesfs-cache'),
    mounts: join(work, 'mnt'),
  };
}

export interface RcloneSide {
  server: RcloneServer;
  /** Mounted on the server directly (no latency). */
  direct: RcloneMount;
  /** Mounted through the delaying proxy (latency phase). */
  delayed?: RcloneMount;
  proxy?: DelayProxy;
}

export interface Bench {
  scale: Scale;
  paths: Layout;
  tools: Tools;
  emulator: BenchEmulator;
  raw: RawHttp;
  /** The mount, or why filesfs cannot be measured at all. */
  filesfs: FilesfsMount | string;
  /** Why writes through filesfs cannot be measured (undefined: they can). */
  filesfsWrites: string | undefined;
  rclone: RcloneSide | string;
  /** Upload settings both sides share (filesfs's defaults; rclone is given the same). */
  uploadDelaySeconds: number;
  uploadConcurrency: number;
  canDropCaches: boolean;
  /** Bytes filesfs moved so far (for the peak-RSS target: "while moving 5 GiB"). */
  filesfsBytesMoved: number;
  log(line: string): void;
}

/** Drops the kernel's page, dentry and inode caches (root only; otherwise a no-op the report mentions). */
export async function dropCaches(bench: Bench): Promise<void> {
  if (!bench.canDropCaches) return;
  await writeFile('/proc/sys/vm/drop_caches', '3');
}

/** The emulator's request counts for work done by filesfs or raw. */
export async function countEmulatorRequests<T>(bench: Bench, work: () => Promise<T>): Promise<{ value: T; requests: NonNullable<Measurement['requests']> }> {
  await bench.emulator.resetStats();
  const value = await work();
  const stats = await bench.emulator.stats();
  const byRoute = Object.fromEntries(Object.entries(stats.requests).filter(([, n]) => n > 0));
  return { value, requests: { total: stats.total, by_route: byRoute } };
}

/** The order the ways run in pass `pass`: rotated, so that none always goes first (warm machine) or last. */
export function order(pass: number, all: readonly Column[] = ['filesfs', 'raw', 'rclone']): Column[] {
  const k = pass % all.length;
  return [...all.slice(k), ...all.slice(0, k)];
}
