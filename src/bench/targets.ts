// The headline ratios and the performance targets, judged from a run's rows. The
// targets are reported, never asserted: machines drift, ratios less so.
import type { Scale } from './context.js';
import { isMeasured, ratio, ratioOfSums, type Row, type Target } from './report.js';
import { GiB, round } from './units.js';
import { LIST_PAGE_SIZE } from './workloads/listing.js';

/** The peak-RSS target holds "while moving 5 GiB": judged only when the run moved that much through filesfs. */
const RSS_TARGET_MIB = 150;
const RSS_TARGET_MOVED = 5 * GiB;

/** How many times longer filesfs took for `slow` than for `fast` (the same work): above 1 = slower. */
function slowdown(slow: Row | undefined, fast: Row | undefined): number | null {
  if (!slow || !fast || !isMeasured(slow.filesfs) || !isMeasured(fast.filesfs) || fast.filesfs.seconds <= 0) return null;
  return round(slow.filesfs.seconds / fast.filesfs.seconds);
}

export function evaluate(rows: readonly Row[], scale: Scale, peakRssMiB: number | null, movedBytes: number): { ratios: Record<string, number | null>; targets: Target[] } {
  const row = (id: string): Row | undefined => rows.find((r) => r.workload === id);
  const L = scale.latencyMs;
  const small = (latency: number): Array<Row | undefined> => [row(`small_files_in_${latency}ms`), row(`small_files_out_${latency}ms`)];

  const ratios: Record<string, number | null> = {
    seq_read_vs_raw: ratio(row('seq_read'), 'raw'),
    seq_read_vs_curl: ratio(row('seq_read'), 'curl'),
    seq_read_vs_rclone: ratio(row('seq_read'), 'rclone'),
    seq_write_vs_raw: ratio(row('seq_write'), 'raw'),
    seq_write_vs_curl: ratio(row('seq_write'), 'curl'),
    seq_write_vs_rclone: ratio(row('seq_write'), 'rclone'),
    seq_read_first_vs_rclone_full: ratio(row('seq_read_first'), 'rclone'),
    seq_read_warm_vs_rclone_full: ratio(row('seq_read_warm'), 'rclone'),
    seq_read_warm_vs_cold_raw: ratio(row('seq_read_warm'), 'raw'),
    random_read_vs_raw: ratio(row('random_read_4k'), 'raw'),
    random_read_vs_rclone: ratio(row('random_read_4k'), 'rclone'),
    small_files_0ms_vs_raw: ratioOfSums(small(0), 'raw'),
    small_files_0ms_vs_rclone: ratioOfSums(small(0), 'rclone'),
    [`small_files_${L}ms_vs_raw`]: ratioOfSums(small(L), 'raw'),
    [`small_files_${L}ms_vs_rclone`]: ratioOfSums(small(L), 'rclone'),
    [`small_files_in_${L}ms_vs_rclone`]: ratio(row(`small_files_in_${L}ms`), 'rclone'),
    [`small_files_out_${L}ms_vs_rclone`]: ratio(row(`small_files_out_${L}ms`), 'rclone'),
    ls_10k_cold_vs_raw: ratio(row('ls_cold'), 'raw'),
    ls_10k_cold_vs_rclone: ratio(row('ls_cold'), 'rclone'),
    ls_10k_warm_vs_rclone: ratio(row('ls_warm'), 'rclone'),
    round_trip_10pct_faults_slowdown: slowdown(row('round_trip_faults_10pct'), row('round_trip_faults_0pct')),
    peak_rss_mib: peakRssMiB,
  };

  const atLeast = (name: string, goal: number, value: number | null): Target => ({
    name, goal: `≥ ${goal}×`, value, met: value === null ? null : value >= goal,
  });
  const atMost = (name: string, goal: number, value: number | null): Target => ({
    name, goal: `≤ ${goal}×`, value, met: value === null ? null : value <= goal,
  });
  const coldCell = row('ls_cold')?.filesfs;
  const warmCell = row('ls_warm')?.filesfs;
  const expectedPages = Math.ceil(scale.listEntries / LIST_PAGE_SIZE);
  const listRequests = isMeasured(coldCell) ? coldCell.requests?.by_route['GET /folders'] ?? 0 : null;
  const warmRequests = isMeasured(warmCell) ? warmCell.requests?.total ?? null : null;
  const moved = movedBytes >= RSS_TARGET_MOVED;

  const targets: Target[] = [
    atLeast('seq read vs raw', 0.8, ratios.seq_read_vs_raw ?? null),
    atLeast('seq read vs rclone', 2, ratios.seq_read_vs_rclone ?? null),
    atLeast('seq write (durable) vs raw', 0.7, ratios.seq_write_vs_raw ?? null),
    atLeast('seq write (durable) vs rclone', 1.5, ratios.seq_write_vs_rclone ?? null),
    atLeast(`small files @${L} ms vs rclone`, 5, ratios[`small_files_${L}ms_vs_rclone`] ?? null),
    atLeast('ls -l cold vs rclone', 3, ratios.ls_10k_cold_vs_rclone ?? null),
    {
      name: 'ls -l cold list requests', goal: `= ${expectedPages}`, value: listRequests,
      met: listRequests === null ? null : listRequests === expectedPages,
    },
    { name: 'ls -l warm requests', goal: '= 0', value: warmRequests, met: warmRequests === null ? null : warmRequests === 0 },
    atLeast('random 4 KiB reads vs rclone', 1, ratios.random_read_vs_rclone ?? null),
    atMost('round trip at 10 % faults vs none', 3, ratios.round_trip_10pct_faults_slowdown ?? null),
    {
      name: 'peak RSS of the mount (MiB)', goal: `≤ ${RSS_TARGET_MIB} over 5 GiB`, value: peakRssMiB,
      met: peakRssMiB === null || !moved ? null : peakRssMiB <= RSS_TARGET_MIB,
      ...(moved ? {} : { note: `this run moved ${(movedBytes / GiB).toFixed(2)} GiB through filesfs, less than 5 GiB` }),
    },
  ];
  return { ratios, targets };
}
