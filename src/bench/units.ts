// Units, clocks and small numeric helpers shared by the benchmark modules.
// Times come from process.hrtime (monotonic, nanoseconds), never Date.now.

export const KiB = 1024;
export const MiB = 1024 * KiB;
export const GiB = 1024 * MiB;

/** Seconds since an arbitrary fixed point (monotonic). */
export function now(): number {
  return Number(process.hrtime.bigint()) / 1e9;
}

/** Runs `work` and returns its result with the seconds it took. */
export async function timed<T>(work: () => Promise<T>): Promise<{ value: T; seconds: number }> {
  const started = now();
  const value = await work();
  return { value, seconds: now() - started };
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/**
 * Resolves after `ms` without keeping the process alive: the limit of a race
 * against something that usually ends first (a process's exit). A plain
 * sleep there kept the bench alive for up to 30 s after its report.
 */
export function sleepUnref(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms).unref());
}

export function median(values: readonly number[]): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

/** Rounds to `digits` significant decimals for the JSON report (keeps it readable). */
export function round(value: number, digits = 3): number {
  if (!Number.isFinite(value)) return value;
  const f = 10 ** digits;
  return Math.round(value * f) / f;
}

export function mibps(bytes: number, seconds: number): number {
  return bytes / MiB / seconds;
}

/** "1 GiB", "100 MiB", "4 KiB": sizes as the table shows them. */
export function formatSize(bytes: number): string {
  for (const [unit, size] of [['GiB', GiB], ['MiB', MiB], ['KiB', KiB]] as const) {
    if (bytes >= size) {
      const n = bytes / size;
      return `${Number.isInteger(n) ? n : n.toFixed(1)} ${unit}`;
    }
  }
  return `${bytes} B`;
}
