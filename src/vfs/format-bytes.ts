// Byte counts as people read them ("1.5 GiB"), for status lines, logs and the
// CLI. Its own module so that the short-lived commands (`filesfs status`,
// `cache`, `discard`) can print sizes without loading the filesystem layer.
export function formatBytes(n: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let value = n;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return unit === 0 ? `${n} B` : `${value.toFixed(value >= 100 ? 0 : 1)} ${units[unit]}`;
}
