// A small tmpfs for tests that need a full disk (a cache dir that runs out of
// space). Mounting needs root, which the real-mount tests already require;
// the mount is always removed, also when the test fails.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface Tmpfs {
  dir: string;
  unmount(): void;
}

/** Mounts a tmpfs of `bytes` at a fresh folder (mode 0700). */
export function mountTmpfs(bytes: number, prefix = 'tmpfs'): Tmpfs {
  const dir = mkdtempSync(join(process.env.FILESFS_TEST_ROOT ?? tmpdir(), `${prefix}-`));
  execFileSync('mount', ['-t', 'tmpfs', '-o', `size=${bytes},mode=0700`, 'tmpfs', dir]);
  let mounted = true;
  return {
    dir,
    unmount() {
      if (!mounted) return;
      mounted = false;
      try {
        execFileSync('umount', [dir]);
      } catch {
        execFileSync('umount', ['-l', dir]);
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
