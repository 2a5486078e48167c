// The emulator the benchmark measures against: `filesfs emulator` in its own
// process (as a real server would be: it must not share the benchmark's or the
// mount's JavaScript thread), on a data dir inside the benchmark's work dir,
// with an API key it receives through the environment (never on a command
// line, where `ps` would show it). Its control endpoints give request counts
// per route, change the injected latency at run time, and say when its
// background work is done (`settle`: a 1 GiB upload is hashed in ~2 s of its
// CPU afterwards, which would otherwise run during the next measurement).
import { fileURLToPath } from 'node:url';
import { request } from 'undici';
import type { Janitor } from './procs.js';
import { firstLine, startChild, stopChild, type Child } from './procs.js';

/** Repository root (this file is dist/bench/emulator.js once built). */
export const REPO_ROOT = fileURLToPath(new URL('../../', import.meta.url));
export const FILESFS_BIN = fileURLToPath(new URL('../../bin/filesfs.js', import.meta.url));
/** Longest wait for the emulator's background work (hashing a few GiB takes seconds). */
const SETTLE_TIMEOUT_MS = 120_000;

export interface EmulatorStats {
  total: number;
  requests: Record<string, number>;
  connections: number;
}

export class BenchEmulator {
  private constructor(readonly url: string, readonly apiKey: string, private readonly child: Child) {}

  get pid(): number {
    return this.child.pid;
  }

  static async start(janitor: Janitor, dataDir: string, apiKey: string): Promise<BenchEmulator> {
    const child = startChild('emulator', process.execPath, [FILESFS_BIN, 'emulator', '--data', dataDir, '--log-level', 'warn'], {
      env: { ...process.env, FILES_EMULATOR_API_KEY: apiKey },
    });
    janitor.defer('stop the emulator', () => stopChild(child));
    const url = await firstLine(child, 30_000);
    if (!/^https?:\/\//.test(url)) throw new Error(`emulator printed ${JSON.stringify(url)} instead of its URL`);
    return new BenchEmulator(url, apiKey, child);
  }

  async stats(): Promise<EmulatorStats> {
    const res = await request(`${this.url}/__emulator/stats`);
    if (res.statusCode !== 200) throw new Error(`emulator stats: HTTP ${res.statusCode}`);
    return (await res.body.json()) as EmulatorStats;
  }

  async resetStats(): Promise<void> {
    const res = await request(`${this.url}/__emulator/reset-stats`, { method: 'POST' });
    await res.body.dump();
    if (res.statusCode >= 300) throw new Error(`emulator reset-stats: HTTP ${res.statusCode}`);
  }

  /** Resolves once the emulator's background work (hashing uploaded files) is done. */
  async settle(): Promise<void> {
    const res = await request(`${this.url}/__emulator/idle`, { headersTimeout: SETTLE_TIMEOUT_MS });
    await res.body.dump();
    if (res.statusCode !== 204) throw new Error(`emulator idle: HTTP ${res.statusCode}`);
  }

  /** Delay added to every API and transfer request from now on. */
  async setLatency(ms: number): Promise<void> {
    await this.configure({ latencyMs: ms });
  }

  /**
   * Faults from now on: `rate` of the requests fail, the kind drawn evenly
   * from every kind (429, 500, 503, reset, stall), a stall held `stallMs`
   * then dropped, draws from a generator seeded with `seed`. Rate 0 = none.
   */
  async setFaults(rate: number, options: { stallMs: number; seed: number }): Promise<void> {
    await this.configure({ faultRate: rate, faults: ['429', '500', '503', 'reset', 'stall'], stallMs: options.stallMs, faultSeed: options.seed });
  }

  private async configure(patch: Record<string, unknown>): Promise<void> {
    const res = await request(`${this.url}/__emulator/config`, {
      method: 'PUT',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(patch),
    });
    await res.body.dump();
    if (res.statusCode !== 200) throw new Error(`emulator config: HTTP ${res.statusCode}`);
  }
}
