// Global setup: one scratch root per test run (FILESFS_TEST_ROOT) for temp
// dirs and mountpoints. At the end every FUSE mount (and every tmpfs a
// full-disk test made) still under it is lazily unmounted, so a failing test
// can never leave a mount behind for the next run.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';

export function mountsUnder(root: string): string[] {
  const lines = readFileSync('/proc/mounts', 'utf8').split('\n');
  const found: string[] = [];
  for (const line of lines) {
    const [, target, type] = line.split(' ');
    if (!target || !type || !(type.startsWith('fuse') || type === 'tmpfs')) continue;
    const decoded = target.replace(/\\([0-7]{3})/g, (_, oct: string) => String.fromCharCode(parseInt(oct, 8)));
    if (decoded === root || decoded.startsWith(root + '/')) found.push(decoded);
  }
  return found;
}

export default function setup(): () => void {
  const root = mkdtempSync(join(tmpdir(), 'filesfs-test-'));
  process.env.FILESFS_TEST_ROOT = root;
  return () => {
    for (const mnt of mountsUnder(root)) {
      console.error(`global teardown: unmounting leftover mount ${mnt}`);
      const tmpfs = readFileSync('/proc/mounts', 'utf8').split('\n').some((l) => l.split(' ')[1] === mnt && l.split(' ')[2] === 'tmpfs');
      if (tmpfs) spawnSync('umount', ['-l', mnt], { stdio: 'inherit' });
      else spawnSync('fusermount3', ['-uz', mnt], { stdio: 'inherit' });
    }
    if (mountsUnder(root).length === 0) rmSync(root, { recursive: true, force: true });
  };
}
