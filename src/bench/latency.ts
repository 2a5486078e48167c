// Checks that filesfs and rclone pay the same per-request latency in the
// latency phase: the median time of a small request (a metadata GET on the
// emulator; a PROPFIND Depth 0 on rclone's WebDAV), each measured without and
// with the delay; the difference is the delay actually added per request.
import { request } from 'undici';
import type { RawHttp } from './raw.js';
import { encodePath } from './raw.js';
import { median, round } from './units.js';

/** Requests per median: enough for a stable middle, few enough to take about a second at 20 ms. */
const SAMPLES = 41;

async function sample(one: () => Promise<void>): Promise<number> {
  await one(); // warm the connection
  const times: number[] = [];
  for (let i = 0; i < SAMPLES; i++) {
    const started = performance.now();
    await one();
    times.push(performance.now() - started);
  }
  return median(times);
}

export function emulatorProbe(raw: RawHttp, remote: string): () => Promise<void> {
  return async () => {
    await raw.api('GET', `/file_actions/metadata/${encodePath(remote)}`);
  };
}

export function webdavProbe(baseUrl: string, remote: string): () => Promise<void> {
  return async () => {
    const res = await request(`${baseUrl}${encodePath(remote)}`, { method: 'PROPFIND', headers: { depth: '0' } });
    await res.body.dump();
    if (res.statusCode !== 207) throw new Error(`PROPFIND ${remote}: HTTP ${res.statusCode}`);
  };
}

export interface AddedLatency {
  base_ms: number;
  delayed_ms: number;
  added_ms: number;
  /** The proxy's configured delay, when calibration changed it from the nominal latency. */
  delay_ms?: number;
}

/** Median request time before and after `enable()` switches the delay on. */
export async function addedLatency(base: () => Promise<void>, delayed: () => Promise<void>, enable?: () => Promise<void>): Promise<AddedLatency> {
  const baseMs = await sample(base);
  await enable?.();
  const delayedMs = await sample(delayed);
  return { base_ms: round(baseMs, 2), delayed_ms: round(delayedMs, 2), added_ms: round(delayedMs - baseMs, 2) };
}
