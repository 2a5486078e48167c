// filesfs as a user runs it: `filesfs mount <mountpoint> --base-url URL
// --cache-dir DIR` in the foreground, in its own process, with the API key in
// FILES_API_KEY (never on the command line). The benchmark reads the mount
// process's peak RSS from /proc and asks it for pending uploads over its
// control socket, as `filesfs status --json` does (askMount): polled ten
// times a second while a write becomes durable, a process per poll would take
// the CPU the measured upload needs (~0.15 s each on 2 cores). Unmounting is
// `filesfs unmount`, which drains uploads first; cleanup after a failure
// falls back to SIGTERM, then `fusermount3 -uz`.
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { askMount } from '../cli/mount-request.js';
import { findMount, fusermount, waitForMount } from '../fuse/index.js';
import { FILESFS_BIN } from './emulator.js';
import type { Janitor } from './procs.js';
import { run, startChild, stopChild, type Child } from './procs.js';
import { now, sleep, sleepUnref } from './units.js';

/** How often durability is polled while a write is being uploaded. */
const POLL_MS = 100;

/** What `filesfs status --json` reports (the fields the benchmark needs). */
export interface UploadStatus {
  pendingUploads: number;
  pendingBytes: number;
  uploading: number;
  failedUploads: number;
  /** The client's counters (requests, retries, hedges), when the build reports them. */
  server?: { requests: number; retries: number; hedges: { sent: number; won: number } } | null;
}

/** Why filesfs cannot be mounted by this checkout, or undefined when it can. */
export function mountUnavailable(): string | undefined {
  const command = fileURLToPath(new URL('../cli/commands/mount.js', import.meta.url));
  if (!existsSync(command)) return '`filesfs mount` is not implemented in this build (no dist/cli/commands/mount.js)';
  return undefined;
}

/** Why writes through filesfs cannot be measured, or undefined when they can. */
export function writesUnavailable(): string | undefined {
  const status = fileURLToPath(new URL('../cli/commands/status.js', import.meta.url));
  const upload = fileURLToPath(new URL('../vfs/write-back/', import.meta.url));
  if (!existsSync(status) || !existsSync(upload)) return 'write-back is not in this build (no `filesfs status` / src/vfs/write-back): writes fail with EROFS';
  return undefined;
}

export interface FilesfsMountOptions {
  mountpoint: string;
  baseUrl: string;
  apiKey: string;
  cacheDir: string;
  /** Extra `filesfs mount` flags (tuning experiments). */
  extraArgs?: readonly string[];
}

export class FilesfsMount {
  private constructor(readonly mountpoint: string, private readonly child: Child, private readonly env: NodeJS.ProcessEnv, private readonly forget: () => void) {}

  get pid(): number {
    return this.child.pid;
  }

  static async start(janitor: Janitor, options: FilesfsMountOptions): Promise<FilesfsMount> {
    const env: NodeJS.ProcessEnv = { ...process.env, FILES_API_KEY: options.apiKey };
    delete env.FILESCOM_API_KEY;
    const args = [FILESFS_BIN, 'mount', options.mountpoint, '--base-url', options.baseUrl, '--cache-dir', options.cacheDir, '--log-level', 'warn', ...(options.extraArgs ?? [])];
    const child = startChild('filesfs mount', process.execPath, args, { env });
    const forget = janitor.defer(`unmount filesfs at ${options.mountpoint}`, async () => {
      // SIGTERM drains and unmounts; a second one forces; then detach whatever is left.
      await stopChild(child, 'SIGTERM', 60_000);
      if (await findMount(options.mountpoint)) await fusermount(options.mountpoint, true);
    });
    const deadline = now() + 60;
    for (;;) {
      const entry = await findMount(options.mountpoint);
      if (entry && entry.fstype === 'fuse.filesfs') break;
      if (child.hasExited()) throw new Error(`filesfs mount exited: ${child.stderrTail()}`);
      if (now() > deadline) throw new Error(`filesfs did not mount ${options.mountpoint} within 60 s: ${child.stderrTail()}`);
      await sleep(50);
    }
    return new FilesfsMount(options.mountpoint, child, env, forget);
  }

  /** What `filesfs status <mountpoint> --json` reports, asked over the mount's control socket. */
  async status(): Promise<UploadStatus> {
    const status = await askMount<Partial<UploadStatus>>(this.mountpoint, 'status', {}, 30_000);
    return {
      pendingUploads: Number(status.pendingUploads ?? NaN),
      pendingBytes: Number(status.pendingBytes ?? NaN),
      uploading: Number(status.uploading ?? NaN),
      failedUploads: Number(status.failedUploads ?? NaN),
      server: status.server ?? null,
    };
  }

  /** Waits until nothing is pending or uploading; returns the monotonic time it was first seen. */
  async waitDurable(timeoutMs: number): Promise<number> {
    const deadline = now() + timeoutMs / 1000;
    for (;;) {
      const s = await this.status();
      if (s.failedUploads > 0) throw new Error(`filesfs reports ${s.failedUploads} failed upload(s)`);
      if (s.pendingUploads === 0 && s.uploading === 0 && s.pendingBytes === 0) return now();
      if (this.child.hasExited()) throw new Error(`filesfs mount exited: ${this.child.stderrTail()}`);
      if (now() > deadline) throw new Error(`filesfs: uploads not done after ${timeoutMs / 1000} s (${JSON.stringify(s)})`);
      await sleep(POLL_MS);
    }
  }

  /** `filesfs unmount` (drains pending uploads), then waits for the process to exit. */
  async unmount(): Promise<void> {
    const result = await run(process.execPath, [FILESFS_BIN, 'unmount', this.mountpoint], { env: this.env, timeoutMs: 120_000 });
    if (result.code !== 0) throw new Error(`filesfs unmount: exit ${result.code}: ${result.stderr.trim()}`);
    await waitForMount(this.mountpoint, false, 10_000);
    await Promise.race([this.child.exited, sleepUnref(30_000)]);
    await stopChild(this.child);
    this.forget();
  }
}

/** A process's peak resident set (VmHWM), MiB; undefined once it is gone. */
export async function peakRssMiB(pid: number): Promise<number | undefined> {
  return statusMiB(pid, 'VmHWM');
}

/** A process's resident set now (VmRSS), MiB; undefined once it is gone. */
export async function rssMiB(pid: number): Promise<number | undefined> {
  return statusMiB(pid, 'VmRSS');
}

async function statusMiB(pid: number, field: 'VmHWM' | 'VmRSS'): Promise<number | undefined> {
  const text = await readFile(`/proc/${pid}/status`, 'utf8').catch(() => undefined);
  const m = text && new RegExp(`^${field}:\\s+(\\d+)\\s+kB`, 'm').exec(text);
  return m ? Number(m[1]) / 1024 : undefined;
}
