// Random 4 KiB reads for a fixed time, at queue depth 1: fio (psync, one
// job, the same random sequence on both mounts: fio's default fixed seed)
// on a file neither mount has read, page cache dropped first. raw issues one
// 4 KiB range request at a time for the same time (raw.ts). Reported as IOPS.
import { join } from 'node:path';
import { countEmulatorRequests, dropCaches, type Bench } from '../context.js';
import { runOk } from '../procs.js';
import type { Row } from '../report.js';
import { RANDOM_FILE } from '../seed.js';
import { KiB } from '../units.js';
import { measure, type PassResult, type WayOrReason } from './common.js';

const BLOCK = 4 * KiB;

interface FioJob {
  read: { total_ios: number; runtime: number; io_bytes: number };
}

async function fio(fioPath: string, file: string, size: number, seconds: number): Promise<PassResult> {
  const result = await runOk(fioPath, [
    '--name=randread', `--filename=${file}`, '--readonly', '--rw=randread', `--bs=${BLOCK}`,
    '--ioengine=psync', '--iodepth=1', '--numjobs=1', '--time_based', `--runtime=${seconds}`,
    `--size=${size}`, '--invalidate=1', '--output-format=json',
  ], { timeoutMs: (seconds + 120) * 1000 });
  const report = JSON.parse(result.stdout.slice(result.stdout.indexOf('{'))) as { jobs: FioJob[] };
  const job = report.jobs[0];
  if (!job || job.read.total_ios <= 0) throw new Error(`fio on ${file}: no read completed`);
  return { seconds: job.read.runtime / 1000, ops: job.read.total_ios, bytes: job.read.io_bytes };
}

export async function randomRead(bench: Bench): Promise<Row> {
  const size = bench.scale.bigBytes;
  const seconds = bench.scale.randomSeconds;
  const fioPath = bench.tools.fio.path;
  const noFio = fioPath ? undefined : `fio is needed for random reads through a mount: ${bench.tools.fio.reason ?? 'not installed'}`;

  const filesfs: WayOrReason = typeof bench.filesfs === 'string' ? bench.filesfs : noFio ?? (async () => {
    const mount = bench.filesfs as Exclude<Bench['filesfs'], string>;
    await dropCaches(bench);
    const { value, requests } = await countEmulatorRequests(bench, () => fio(fioPath!, join(mount.mountpoint, RANDOM_FILE), size, seconds));
    bench.filesfsBytesMoved += value.bytes ?? 0;
    return { ...value, requests };
  });

  const raw: WayOrReason = async () => {
    await dropCaches(bench);
    const started = performance.now();
    const { value: ops, requests } = await countEmulatorRequests(bench, () => bench.raw.randomReads(RANDOM_FILE, size, BLOCK, seconds));
    return { seconds: (performance.now() - started) / 1000, ops, bytes: ops * BLOCK, requests };
  };

  const rclone: WayOrReason = typeof bench.rclone === 'string' ? bench.rclone : noFio ?? (async () => {
    const side = bench.rclone as Exclude<Bench['rclone'], string>;
    await dropCaches(bench);
    return fio(fioPath!, join(side.direct.mountpoint, RANDOM_FILE), size, seconds);
  });

  const cells = await measure(bench, 'random 4 KiB reads', 1, { filesfs, raw, rclone });
  return { workload: 'random_read_4k', title: `random 4 KiB reads, ${seconds} s (QD1)`, bytes: BLOCK, latency_ms: 0, ...cells };
}
