// The same round trip without faults and at 10 % faults: `cp -r` of the
// small-file tree and `cp` of a big file (a quarter of the sequential
// workloads' size: 256 MiB by default) into the mount, each timed until the
// uploads are durable, then out of it (page cache dropped). For the faulty
// pass the emulator fails 10 % of its requests, the kind drawn evenly from
// 429 and 503 (each with Retry-After: 1), 500, a reset connection and a stall
// (the request held FAULT_STALL_MS, then dropped), from a seeded generator.
// Each pass writes to folders of its own; what comes out is compared with
// what went in. The headline is the faulty round trip's time over the
// fault-free one (targets.ts: within 3×); the filesfs cell also carries each
// phase's time and the client's retries and hedges (from `filesfs status`).
// raw HTTP has no retries, so only filesfs is measured here.
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { readdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { countEmulatorRequests, dropCaches, type Bench } from '../context.js';
import type { FilesfsMount } from '../filesfs.js';
import { runOk } from '../procs.js';
import { unavailable, type Measurement, type Row } from '../report.js';
import { now, round } from '../units.js';

/** The faulty pass's share of failed requests. */
export const FAULT_RATE = 0.1;
/** How long a stalled request is held before the emulator drops it: long enough for hedges and deadlines to matter. */
export const FAULT_STALL_MS = 3_000;
/** The seed of the fault draws: the same requests in the same order meet the same faults. */
export const FAULT_SEED = 20_261_207;
const DURABLE_TIMEOUT_MS = 15 * 60_000;

async function sha256(file: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(file)) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

interface Phases {
  smallIn: number;
  smallOut: number;
  bigIn: number;
  bigOut: number;
}

/** One round trip through the mount; the seconds of each phase. */
async function roundTrip(bench: Bench, mount: FilesfsMount, tag: string, bigSource: string): Promise<Phases> {
  const smallSource = join(bench.paths.sources, 'small');
  const target = join(mount.mountpoint, `faults-${tag}`);
  const out = join(bench.paths.outputs, `faults-${tag}`);
  await runOk('mkdir', ['-p', target, out]);

  let started = now();
  await runOk('cp', ['-r', smallSource, join(target, 'small')]);
  const smallIn = (await mount.waitDurable(DURABLE_TIMEOUT_MS)) - started;
  await dropCaches(bench);
  started = now();
  await runOk('cp', ['-r', join(target, 'small'), join(out, 'small')]);
  const smallOut = now() - started;

  started = now();
  await runOk('cp', [bigSource, join(target, 'big.bin')]);
  const bigIn = (await mount.waitDurable(DURABLE_TIMEOUT_MS)) - started;
  await dropCaches(bench);
  started = now();
  await runOk('cp', [join(target, 'big.bin'), join(out, 'big.bin')]);
  const bigOut = now() - started;

  // What came out is what went in.
  const names = (await readdir(smallSource)).sort();
  const copied = (await readdir(join(out, 'small'))).sort();
  if (copied.join('\n') !== names.join('\n')) throw new Error(`faults-${tag}: ${copied.length} small files came out instead of ${names.length}`);
  for (const name of names) {
    if ((await sha256(join(smallSource, name))) !== (await sha256(join(out, 'small', name)))) throw new Error(`faults-${tag}: small/${name} came out different`);
  }
  if ((await sha256(bigSource)) !== (await sha256(join(out, 'big.bin')))) throw new Error(`faults-${tag}: big.bin came out different`);
  await rm(out, { recursive: true, force: true });
  return { smallIn, smallOut, bigIn, bigOut };
}

export async function faultRoundTrips(bench: Bench): Promise<Row[]> {
  const { smallFiles, smallFileBytes, bigBytes } = bench.scale;
  const big = Math.max(1024 * 1024, Math.round(bigBytes / 4 / (1024 * 1024)) * 1024 * 1024);
  const bigSource = join(bench.paths.sources, 'faults-big.bin');
  await runOk('sh', ['-c', `head -c ${big} "$1" > "$2"`, 'sh', join(bench.paths.sources, 'big.bin'), bigSource]);
  const bytes = smallFiles * smallFileBytes + big;
  const title = (pct: number): string => `round trip ${pct} % faults: ${smallFiles} × 4 KiB + ${Math.round(big / (1024 * 1024))} MiB`;
  const notMeasured = unavailable('raw HTTP has no retries; the fault rows compare filesfs with itself without faults');
  const rows: Row[] = [];
  for (const rate of [0, FAULT_RATE]) {
    const pct = Math.round(rate * 100);
    const workload = `round_trip_faults_${pct}pct`;
    if (typeof bench.filesfs === 'string' || bench.filesfsWrites) {
      const reason = typeof bench.filesfs === 'string' ? bench.filesfs : bench.filesfsWrites!;
      rows.push({ workload, title: title(pct), bytes, files: smallFiles + 1, latency_ms: 0, filesfs: unavailable(reason), raw: notMeasured, rclone: unavailable('not measured under faults') });
      continue;
    }
    const mount = bench.filesfs;
    bench.log(`bench: round trip at ${pct} % faults`);
    const before = (await mount.status()).server;
    await bench.emulator.setFaults(rate, { stallMs: FAULT_STALL_MS, seed: FAULT_SEED });
    let phases: Phases;
    let requests: NonNullable<Measurement['requests']>;
    try {
      ({ value: phases, requests } = await countEmulatorRequests(bench, () => roundTrip(bench, mount, `${pct}pct`, bigSource)));
    } finally {
      await bench.emulator.setFaults(0, { stallMs: FAULT_STALL_MS, seed: FAULT_SEED });
    }
    const after = (await mount.status()).server;
    const seconds = phases.smallIn + phases.smallOut + phases.bigIn + phases.bigOut;
    const client = before && after
      ? `; ${after.requests - before.requests} requests, ${after.retries - before.retries} retried, ${after.hedges.sent - before.hedges.sent} hedged (${after.hedges.won - before.hedges.won} won)`
      : '';
    bench.filesfsBytesMoved += 2 * bytes;
    rows.push({
      workload,
      title: title(pct),
      bytes,
      files: smallFiles + 1,
      latency_ms: 0,
      filesfs: {
        seconds: round(seconds, 2),
        passes: [phases.smallIn, phases.smallOut, phases.bigIn, phases.bigOut].map((s) => round(s, 2)),
        requests,
        note: `small in ${phases.smallIn.toFixed(1)} s, out ${phases.smallOut.toFixed(1)} s; big in ${phases.bigIn.toFixed(1)} s, out ${phases.bigOut.toFixed(1)} s${client}`,
      },
      raw: notMeasured,
      rclone: unavailable('not measured under faults'),
    });
  }
  return rows;
}
