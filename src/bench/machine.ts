// The machine a run measured: what a reader needs to judge the numbers
// (cores, memory, kernel, Node, the peer's version, where the data lived,
// whether the page cache could be dropped). Nothing identifying: no host
// name, user or address.
import { readFile } from 'node:fs/promises';
import { availableParallelism, cpus, release, totalmem } from 'node:os';
import { VERSION } from '../version.js';
import { run } from './procs.js';
import type { Tools } from './tools.js';
import { GiB, round } from './units.js';

export interface Machine {
  nproc: number;
  cpu: string;
  memory_gib: number;
  kernel: string;
  os: string;
  node: string;
  filesfs: string;
  libfuse: string;
  rclone: string;
  fio: string;
  curl: string;
  /** Filesystem of the work dir (emulator data, rclone's backend, both caches). */
  work_dir_fs: string;
  /** Whether `echo 3 > /proc/sys/vm/drop_caches` works (root), making "cold" reads cold in the kernel too. */
  can_drop_caches: boolean;
  date: string;
}

async function osName(): Promise<string> {
  const text = await readFile('/etc/os-release', 'utf8').catch(() => '');
  const m = /^PRETTY_NAME="?([^"\n]*)"?/m.exec(text);
  return m?.[1] ?? 'unknown';
}

/** The libfuse 3 our binding links (e.g. "libfuse3.so.3.14.0"). */
async function libfuseVersion(): Promise<string> {
  const result = await run('sh', ['-c', 'ls /lib/*/libfuse3.so.3.* /usr/lib/*/libfuse3.so.3.* 2>/dev/null | head -1']).catch(() => undefined);
  const file = result?.stdout.split('\n').find((l) => /libfuse3\.so\.3\.\d/.test(l));
  return file ? file.slice(file.lastIndexOf('/') + 1) : 'libfuse3.so.3';
}

async function filesystemOf(path: string): Promise<string> {
  const result = await run('stat', ['-f', '-c', '%T', path]).catch(() => undefined);
  return result?.stdout.trim() || 'unknown';
}

export async function describeMachine(tools: Tools, workDir: string, canDropCaches: boolean): Promise<Machine> {
  return {
    nproc: availableParallelism(),
    cpu: cpus()[0]?.model.trim() ?? 'unknown',
    memory_gib: round(totalmem() / GiB, 1),
    kernel: release(),
    os: await osName(),
    node: process.version,
    filesfs: VERSION,
    libfuse: await libfuseVersion(),
    rclone: tools.rclone.version ?? `not available: ${tools.rclone.reason ?? 'unknown'}`,
    fio: tools.fio.version ?? `not available: ${tools.fio.reason ?? 'unknown'}`,
    curl: tools.curl.version ?? `not available: ${tools.curl.reason ?? 'unknown'}`,
    work_dir_fs: await filesystemOf(workDir),
    can_drop_caches: canDropCaches,
    date: new Date().toISOString(),
  };
}
