// Helpers for real-mount tests: scratch folders under the run's scratch root
// (FILESFS_TEST_ROOT, set by test/support/global-setup.ts), and shell commands
// run asynchronously. Asynchronously matters: the test process itself serves
// the mount, so a synchronous child (spawnSync) touching the mount would wait
// for an event loop it is blocking.
import { execFile } from 'node:child_process';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface ShellResult {
  code: number;
  stdout: string;
  stderr: string;
}

export function sh(script: string, options: { cwd?: string; timeoutMs?: number } = {}): Promise<ShellResult> {
  return new Promise((resolve) => {
    execFile('bash', ['-c', script], { cwd: options.cwd, timeout: options.timeoutMs ?? 30_000, maxBuffer: 64 * 1024 * 1024, encoding: 'utf8' }, (err, stdout, stderr) => {
      const code = err ? (typeof err.code === 'number' ? err.code : 1) : 0;
      resolve({ code, stdout, stderr });
    });
  });
}

export function scratchDir(prefix: string): Promise<string> {
  return mkdtemp(join(process.env.FILESFS_TEST_ROOT ?? tmpdir(), `${prefix}-`));
}
