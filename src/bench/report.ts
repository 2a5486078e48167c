// What a run produces: result rows (one per workload, a cell per way of doing
// it), the ratios that are the headline, the performance targets judged
// against them, the table printed on stdout, and the JSON written by --json.
//
// A ratio is filesfs's throughput divided by the other's for the same work
// (other seconds ÷ filesfs seconds, or IOPS ÷ IOPS): above 1, filesfs is
// faster. A cell that could not be measured says why, and every ratio it
// feeds is null, with the reason under `notes`.
import type { Machine } from './machine.js';
import type { MemoryProfile } from './workloads/memory.js';
import { formatSize, round } from './units.js';

/** The ways every workload runs; curl (a second limit) runs only for sequential transfers. */
export const COLUMNS = ['filesfs', 'raw', 'rclone', 'curl'] as const;
export type Column = (typeof COLUMNS)[number];
/** The columns every row has. */
export type MainColumn = Exclude<Column, 'curl'>;

export interface Measurement {
  /** Median of the passes; what the ratios use. */
  seconds: number;
  mibps?: number;
  iops?: number;
  files_per_s?: number;
  /** Seconds of each pass, in run order. */
  passes?: number[];
  /** API requests the work caused: the emulator's counts (filesfs, raw) or the delaying proxy's (rclone). */
  requests?: { total: number; by_route: Record<string, number> };
  /** Writes: seconds until the copy command returned (the rest is upload after close). */
  copy_seconds?: number;
  note?: string;
}

export interface Unavailable {
  available: false;
  reason: string;
  /** true when it was attempted and failed (the run then exits non-zero). */
  failed?: boolean;
}

export type Cell = Measurement | Unavailable;

export function isMeasured(cell: Cell | undefined): cell is Measurement {
  return cell !== undefined && !('available' in cell);
}

export interface Row {
  workload: string;
  title: string;
  /** The amount of work: bytes moved, files copied, entries listed, seconds of random reads. */
  bytes?: number;
  files?: number;
  latency_ms: number;
  filesfs: Cell;
  raw: Cell;
  rclone: Cell;
  /** Sequential transfers only: the same bytes with curl (C, libcurl): what the machine can do. */
  curl?: Cell;
}

export interface Target {
  name: string;
  goal: string;
  value: number | null;
  met: boolean | null;
  note?: string;
}

export interface Report {
  machine: Machine;
  settings: Record<string, unknown>;
  results: Row[];
  ratios: Record<string, number | null>;
  targets: Target[];
  notes: string[];
  /** The mount process's memory under the memory cases (workloads/memory.ts), when they ran. */
  memory?: MemoryProfile;
}

export function unavailable(reason: string): Unavailable {
  return { available: false, reason };
}

export function failed(err: unknown): Unavailable {
  return { available: false, failed: true, reason: `failed: ${err instanceof Error ? err.message : String(err)}` };
}

/** other ÷ filesfs in seconds, or filesfs ÷ other in IOPS: > 1 means filesfs is faster. */
export function ratio(row: Row | undefined, other: Column): number | null {
  if (!row) return null;
  const f = row.filesfs;
  const o = row[other];
  if (o === undefined) return null;
  if (!isMeasured(f) || !isMeasured(o)) return null;
  if (f.iops !== undefined && o.iops !== undefined) return o.iops > 0 ? round(f.iops / o.iops) : null;
  return f.seconds > 0 ? round(o.seconds / f.seconds) : null;
}

/** The same ratio over the sum of several rows' seconds (e.g. small files in + out). */
export function ratioOfSums(rows: ReadonlyArray<Row | undefined>, other: Column): number | null {
  let fs = 0;
  let o = 0;
  for (const row of rows) {
    if (!row || !isMeasured(row.filesfs) || !isMeasured(row[other] ?? undefined)) return null;
    fs += row.filesfs.seconds;
    o += (row[other] as Measurement).seconds;
  }
  return fs > 0 ? round(o / fs) : null;
}

function formatCell(cell: Cell): string {
  if (!isMeasured(cell)) return cell.reason.startsWith('failed') ? 'FAILED' : 'n/a';
  const parts = [`${cell.seconds.toFixed(cell.seconds < 10 ? 2 : 1)} s`];
  if (cell.iops !== undefined) parts[0] = `${Math.round(cell.iops)} IOPS`;
  else if (cell.files_per_s !== undefined) parts.push(`${Math.round(cell.files_per_s)}/s`);
  else if (cell.mibps !== undefined) parts.push(`${cell.mibps.toFixed(0)} MiB/s`);
  return parts.join(' ');
}

function formatRatio(value: number | null): string {
  return value === null ? '–' : `${value.toFixed(2)}×`;
}

function requestsOf(cell: Cell): string {
  return isMeasured(cell) && cell.requests ? String(cell.requests.total) : '–';
}

function formatOptional(cell: Cell | undefined): string {
  return cell === undefined ? '' : formatCell(cell);
}

/** The plain-text table: one line per workload, then ratios, targets and notes. */
export function formatTable(report: Report): string {
  const header = ['workload', 'filesfs', 'raw', 'rclone', 'curl', 'vs raw', 'vs rclone', 'vs curl', 'requests fs/raw/rclone'];
  const lines: string[][] = [header];
  for (const row of report.results) {
    lines.push([
      row.title,
      formatCell(row.filesfs),
      formatCell(row.raw),
      formatCell(row.rclone),
      formatOptional(row.curl),
      formatRatio(ratio(row, 'raw')),
      formatRatio(ratio(row, 'rclone')),
      row.curl === undefined ? '' : formatRatio(ratio(row, 'curl')),
      `${requestsOf(row.filesfs)}/${requestsOf(row.raw)}/${requestsOf(row.rclone)}`,
    ]);
  }
  const widths = header.map((_, i) => Math.max(...lines.map((l) => l[i]!.length)));
  const render = (l: string[]): string => l.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  ');
  const out = [render(lines[0]!), widths.map((w) => '-'.repeat(w)).join('  '), ...lines.slice(1).map(render)];

  out.push('', 'ratios (filesfs throughput ÷ other; > 1 = filesfs faster; a *_slowdown is filesfs\'s time with faults ÷ without):');
  for (const [name, value] of Object.entries(report.ratios)) out.push(`  ${name.padEnd(32)} ${value === null ? 'n/a' : value}`);
  if (report.memory) {
    const m = report.memory;
    out.push('', `memory of a fresh mount${m.flags.length ? ` (${m.flags.join(' ')})` : ' (default options)'}, MiB resident: idle ${m.idle_mib}`);
    const width = Math.max(...m.cases.map((c) => c.what.length));
    for (const c of m.cases) out.push(`  ${c.what.padEnd(width)}  peak ${String(c.peak_mib).padStart(6)}  ${m.after_s} s after ${String(c.after_mib).padStart(6)}  (${c.seconds.toFixed(1)} s${c.iops !== undefined ? `, ${Math.round(c.iops)} IOPS` : ''})`);
  }
  out.push('', 'targets:');
  for (const t of report.targets) {
    const verdict = t.met === null ? 'not judged' : t.met ? 'met' : 'MISSED';
    out.push(`  ${t.name.padEnd(34)} ${t.goal.padEnd(22)} ${(t.value === null ? 'n/a' : String(t.value)).padStart(8)}  ${verdict}${t.note ? ` (${t.note})` : ''}`);
  }
  // One line per reason (a column that is not available is so in every row).
  const reasons = new Map<string, string[]>();
  for (const row of report.results) {
    for (const c of COLUMNS) {
      const cell = row[c];
      if (cell === undefined || isMeasured(cell)) continue;
      const key = `${c}: ${cell.reason.split('\n')[0]}`;
      reasons.set(key, [...(reasons.get(key) ?? []), row.workload]);
    }
  }
  if (reasons.size || report.notes.length) {
    out.push('', 'notes:');
    out.push(...report.notes.map((n) => `  ${n}`));
    for (const [reason, rows] of reasons) out.push(`  ${reason} (${rows.length === report.results.length ? 'all workloads' : rows.join(', ')})`);
  }
  return out.join('\n');
}

export function sizeLabel(bytes: number): string {
  return formatSize(bytes);
}
