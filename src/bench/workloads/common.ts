// Running one workload the three ways: each pass runs filesfs, raw and
// rclone in a rotated order; a way that is not available gets its reason, a
// way that fails gets the error (and is not tried again in later passes);
// the cell reports the median pass.
import { order, type Bench } from '../context.js';
import { failed, unavailable, type Cell, type Column, type MainColumn, type Measurement } from '../report.js';
import { median, mibps, round } from '../units.js';

/** One pass of one way. */
export interface PassResult {
  seconds: number;
  /** Bytes moved (→ MiB/s). */
  bytes?: number;
  /** Operations done (→ IOPS). */
  ops?: number;
  /** Files handled (→ files/s). */
  files?: number;
  requests?: Measurement['requests'];
  copySeconds?: number;
}

export type Way = (pass: number) => Promise<PassResult>;

/** A way to run, or the reason it cannot run. */
export type WayOrReason = Way | string;

/** The ways of a workload: the three every workload has, and curl for sequential transfers. */
export type Ways = Record<MainColumn, WayOrReason> & { curl?: WayOrReason };

export async function measure(bench: Bench, name: string, passes: number, ways: Ways): Promise<Record<MainColumn, Cell> & { curl?: Cell }> {
  const results: Record<Column, PassResult[]> = { filesfs: [], raw: [], rclone: [], curl: [] };
  const errors: Partial<Record<Column, unknown>> = {};
  const columns: Column[] = ['filesfs', 'raw', 'rclone', ...(ways.curl !== undefined ? ['curl' as const] : [])];
  for (let pass = 0; pass < passes; pass++) {
    for (const column of order(pass, columns)) {
      const way = ways[column]!;
      if (typeof way === 'string' || errors[column] !== undefined) continue;
      bench.log(`bench: ${name}: ${column}${passes > 1 ? ` (pass ${pass + 1}/${passes})` : ''}`);
      try {
        // Every pass starts on a quiet server: not while it hashes what the pass before uploaded.
        await bench.emulator.settle();
        const result = await way(pass);
        results[column].push(result);
        bench.log(`bench:   ${describe(result)}`);
      } catch (err) {
        errors[column] = err;
        bench.log(`bench:   ${column} failed: ${err instanceof Error ? err.message : String(err)}`);
      }
    }
  }
  const cell = (column: Column): Cell => {
    const way = ways[column]!;
    if (typeof way === 'string') return unavailable(way);
    if (errors[column] !== undefined) return failed(errors[column]);
    return summarize(results[column]);
  };
  return { filesfs: cell('filesfs'), raw: cell('raw'), rclone: cell('rclone'), ...(ways.curl !== undefined ? { curl: cell('curl') } : {}) };
}

function describe(r: PassResult): string {
  const parts = [`${r.seconds.toFixed(3)} s`];
  if (r.bytes !== undefined) parts.push(`${mibps(r.bytes, r.seconds).toFixed(1)} MiB/s`);
  if (r.ops !== undefined) parts.push(`${Math.round(r.ops / r.seconds)} IOPS`);
  if (r.copySeconds !== undefined) parts.push(`copy ${r.copySeconds.toFixed(3)} s`);
  if (r.requests) parts.push(`${r.requests.total} requests`);
  return parts.join(', ');
}

function summarize(passes: PassResult[]): Measurement {
  const seconds = median(passes.map((p) => p.seconds));
  const first = passes[0]!;
  const m: Measurement = { seconds: round(seconds) };
  if (first.bytes !== undefined) m.mibps = round(mibps(first.bytes, seconds), 1);
  if (first.ops !== undefined) m.iops = round(median(passes.map((p) => p.ops! / p.seconds)), 1);
  if (first.files !== undefined) m.files_per_s = round(first.files / seconds, 1);
  if (passes.length > 1) m.passes = passes.map((p) => round(p.seconds));
  if (first.requests) m.requests = first.requests;
  const copies = passes.map((p) => p.copySeconds).filter((s): s is number => s !== undefined);
  if (copies.length) m.copy_seconds = round(median(copies));
  return m;
}
