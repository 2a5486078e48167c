// `npm run bench -- --quick --json FILE` end to end: it must finish, clean up
// every mount and process it started, and write the report's shape: the
// machine, one row per workload with a cell per way (a measurement, or the
// reason it is not available), the ratios, the targets. Speed is never
// checked here (the machine is shared; the numbers are the bench's to report).
// Every way that this machine and build can run must have been measured.
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const root = fileURLToPath(new URL('../../', import.meta.url));
const COLUMNS = ['filesfs', 'raw', 'rclone'] as const;
const WORKLOADS = ['seq_write', 'seq_read', 'seq_read_first', 'seq_read_warm', 'random_read_4k', 'small_files_in_0ms', 'small_files_out_0ms', 'ls_cold', 'ls_warm', 'small_files_in_20ms', 'small_files_out_20ms', 'round_trip_faults_0pct', 'round_trip_faults_10pct'];
/** filesfs compared with itself without faults: raw and rclone are not measured there. */
const FILESFS_ONLY = new Set(['round_trip_faults_0pct', 'round_trip_faults_10pct']);
const RATIOS = ['seq_read_vs_raw', 'seq_read_vs_curl', 'seq_read_vs_rclone', 'seq_write_vs_raw', 'seq_write_vs_curl', 'seq_write_vs_rclone', 'seq_read_warm_vs_rclone_full', 'seq_read_warm_vs_cold_raw', 'small_files_20ms_vs_rclone', 'ls_10k_cold_vs_rclone', 'round_trip_10pct_faults_slowdown', 'peak_rss_mib'];
/** Workloads that only read: they need no write-back. */
const READ_ONLY = new Set(['seq_read', 'seq_read_first', 'seq_read_warm', 'random_read_4k', 'small_files_out_0ms', 'small_files_out_20ms', 'ls_cold', 'ls_warm']);

type Cell = { seconds: number; requests?: { total: number; by_route: Record<string, number> } } | { available: false; reason: string; failed?: boolean };
interface Report {
  machine: Record<string, unknown>;
  settings: Record<string, unknown>;
  results: Array<{ workload: string; title: string } & Record<(typeof COLUMNS)[number], Cell>>;
  ratios: Record<string, number | null>;
  targets: Array<{ name: string; goal: string; value: number | null; met: boolean | null }>;
  notes: string[];
  memory?: { idle_mib: number; after_s: number; peak_mib: number; cases: Array<{ what: string; peak_mib: number; after_mib: number }> };
}

function runBench(json: string): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn('npm', ['run', '--silent', 'bench', '--', '--quick', '--json', json], { cwd: root, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (b: Buffer) => (stdout += b.toString()));
    child.stderr.on('data', (b: Buffer) => (stderr += b.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

/**
 * The mountpoints at or under `dir` (/proc/mounts escapes spaces and the like
 * as \NNN). Only this run's own work dir is looked at: other benches and
 * tests may be mounting on the same machine at the same time.
 */
const mountsUnder = (dir: string): string[] =>
  readFileSync('/proc/mounts', 'utf8')
    .split('\n')
    .map((line) => (line.split(' ')[1] ?? '').replace(/\\([0-7]{3})/g, (_, octal: string) => String.fromCharCode(parseInt(octal, 8))))
    .filter((mountpoint) => mountpoint === dir || mountpoint.startsWith(`${dir}/`));
const measured = (cell: Cell): cell is Extract<Cell, { seconds: number }> => !('available' in cell);

describe('npm run bench -- --quick', () => {
  it('writes the report with every available way measured, and leaves nothing mounted', async () => {
    const dir = mkdtempSync(join(process.env.FILESFS_TEST_ROOT ?? tmpdir(), 'bench-'));
    const json = join(dir, 'out.json');
    const { code, stdout, stderr } = await runBench(json);
    expect(code, stderr.slice(-3000)).toBe(0);
    expect(stdout).toMatch(/^workload\s+filesfs\s+raw\s+rclone\s+curl/m);
    expect(existsSync(json)).toBe(true);

    const report = JSON.parse(readFileSync(json, 'utf8')) as Report;
    // Everything the run mounted lay under its own work dir: nothing is left
    // mounted there, and the dir itself is gone.
    const workDir = report.settings.work_dir;
    expect(typeof workDir === 'string' && workDir.includes('filesfs-bench-'), String(workDir)).toBe(true);
    expect(mountsUnder(workDir as string)).toEqual([]);
    expect(existsSync(workDir as string)).toBe(false);
    expect(report.machine).toMatchObject({ nproc: expect.any(Number), kernel: expect.any(String), node: process.version, rclone: expect.any(String) });
    expect(report.results.map((r) => r.workload)).toEqual(WORKLOADS);
    for (const row of report.results) {
      for (const column of COLUMNS) {
        const cell = row[column];
        if (measured(cell)) {
          expect(cell.seconds, `${row.workload}/${column}`).toBeGreaterThan(0);
        } else {
          expect(cell.failed, `${row.workload}/${column}: ${cell.reason}`).toBeUndefined();
          expect(cell.reason.length).toBeGreaterThan(0);
        }
      }
    }
    for (const name of RATIOS) expect(report.ratios, name).toHaveProperty(name);
    expect(report.targets.length).toBeGreaterThanOrEqual(10);

    // raw is always possible; rclone whenever the machine has it; filesfs
    // wherever this build can mount (and write, for the write workloads).
    const row = (id: string) => report.results.find((r) => r.workload === id)!;
    for (const id of WORKLOADS.filter((w) => w !== 'ls_warm' && !FILESFS_ONLY.has(w))) expect(measured(row(id).raw), `${id}/raw`).toBe(true);
    const rcloneAvailable = !String(report.machine.rclone).startsWith('not available');
    // Random reads through a mount use fio; without it those cells say so.
    const fioAvailable = !String(report.machine.fio).startsWith('not available');
    const throughMounts = WORKLOADS.filter((id) => fioAvailable || id !== 'random_read_4k');
    if (rcloneAvailable) for (const id of throughMounts.filter((w) => !FILESFS_ONLY.has(w))) expect(measured(row(id).rclone), `${id}/rclone`).toBe(true);
    const canMount = existsSync(join(root, 'dist/cli/commands/mount.js'));
    const canWrite = canMount && existsSync(join(root, 'dist/cli/commands/status.js'));
    for (const id of throughMounts) {
      if (canMount && (READ_ONLY.has(id) || canWrite)) expect(measured(row(id).filesfs), `${id}/filesfs`).toBe(true);
    }
    // curl, the second limit, for the sequential transfers only.
    const curlAvailable = !String(report.machine.curl).startsWith('not available');
    for (const id of ['seq_write', 'seq_read']) {
      const cell = (row(id) as unknown as { curl?: Cell }).curl;
      expect(cell, `${id}/curl`).toBeDefined();
      if (curlAvailable) expect(measured(cell!), `${id}/curl`).toBe(true);
    }
    expect((row('random_read_4k') as unknown as { curl?: Cell }).curl).toBeUndefined();
    if (canMount) {
      // The second read after a remount comes from the disk cache: no download.
      const again = row('seq_read_warm').filesfs;
      expect(measured(again) && (again.requests?.by_route['GET download'] ?? 0)).toBe(0);
      // The memory cases ran on a mount of their own.
      // (--quick reads "after" 1 s after each case, not past the idle release, and says so.)
      expect(report.memory?.idle_mib).toBeGreaterThan(0);
      expect(report.memory?.after_s).toBe(1);
      expect(report.memory?.cases.length).toBeGreaterThanOrEqual(2);
      for (const c of report.memory?.cases ?? []) expect(c.peak_mib > 0 && c.after_mib > 0, c.what).toBe(true);
      expect(typeof report.ratios.seq_read_vs_raw).toBe('number');
      expect(typeof report.ratios.peak_rss_mib).toBe('number');
      const warm = row('ls_warm').filesfs;
      expect(measured(warm) && warm.requests).toBeTruthy();
      if (rcloneAvailable) expect(typeof report.ratios.ls_10k_cold_vs_rclone).toBe('number');
      if (canWrite) expect(typeof report.ratios.round_trip_10pct_faults_slowdown).toBe('number');
    }
  }, 15 * 60_000);
});
