// Injected latency, bandwidth limits and faults, and the control endpoints
// (stats, reset-stats, config).
import { randomBytes } from 'node:crypto';
import { Agent, request } from 'undici';
import { describe, expect, it } from 'vitest';
import { Faults, type FaultKind } from '../../src/emulator/faults.js';
import { startTestEmulator, useEmulator } from '../support/emulator.js';
import { API, MiB, call, upload } from './helpers.js';

type Emu = Parameters<typeof call>[0];

/** How many of the first `n` requests a seeded emulator faults. */
function replayFaults(seed: number, rate: number, kinds: FaultKind[], n: number): number {
  const faults = new Faults(rate, kinds, seed);
  let count = 0;
  for (let i = 0; i < n; i++) if (faults.pick()) count++;
  return count;
}

async function configure(emu: Emu, body: Record<string, unknown>) {
  return call(emu, 'PUT', '/__emulator/config', { json: body });
}

/** Sends `n` metadata requests (each on a fresh connection), returns outcome counts. */
async function hammer(emu: Emu, n: number, path = `${API}/file_actions/metadata/`): Promise<Record<string, number>> {
  const counts: Record<string, number> = {};
  const url = (typeof emu === 'string' ? emu : emu.url) + path;
  await Promise.all(Array.from({ length: n }, async () => {
    const agent = new Agent({ pipelining: 0 });
    let key: string;
    try {
      const r = await request(url, { dispatcher: agent, headersTimeout: 2000, bodyTimeout: 2000 });
      await r.body.text();
      key = String(r.statusCode);
    } catch (err) {
      const code = (err as { code?: string }).code ?? '';
      key = code === 'UND_ERR_HEADERS_TIMEOUT' ? 'timeout' : 'error';
    } finally {
      agent.destroy().catch(() => undefined);
    }
    counts[key] = (counts[key] ?? 0) + 1;
  }));
  return counts;
}

describe('faults and control', () => {
  const emu = useEmulator();

  it('counts requests per route (faulted ones too) and connections; resets on request', async () => {
    await call(emu(), 'POST', '/__emulator/reset-stats');
    await call(emu(), 'GET', `${API}/folders/`);
    await call(emu(), 'GET', `${API}/file_actions/metadata/`);
    await upload(emu(), 'stats/f', Buffer.from('x'));
    const s = (await call(emu(), 'GET', '/__emulator/stats')).json;
    expect(s.requests).toMatchObject({ 'GET /folders': 1, 'GET /file_actions/metadata': 1, 'POST /file_actions/begin_upload': 1, 'PUT upload': 1, 'POST /files': 1 });
    expect(s.total).toBe(5);
    expect(s.connections).toBeGreaterThanOrEqual(1);
    expect(emu().stats()).toMatchObject({ total: 5 });
    expect(Object.keys(s.requests)).toEqual(expect.arrayContaining(['GET download', 'DELETE /sessions', 'GET /file_migrations', 'PATCH /files']));
    emu().resetStats();
    expect(emu().stats().total).toBe(0);
    expect((await call(emu(), 'GET', '/__emulator/config')).json.faultSeed).toBeNull(); // unseeded: Math.random
  });

  it('faults each kind at the configured rate; with a seed, exactly the replayed draws', async () => {
    for (const kind of ['429', '500', '503', 'reset'] as const) {
      await configure(emu(), { faultRate: 0.5, faults: [kind], faultSeed: 11 });
      emu().resetStats();
      const counts = await hammer(emu(), 200);
      const faulted = kind === 'reset' ? (counts.error ?? 0) : (counts[kind] ?? 0);
      // Every request takes the next draw, whatever the order they arrive in: the count is the seed's.
      const expected = replayFaults(11, 0.5, [kind], 200);
      expect(faulted, `${kind}: ${JSON.stringify(counts)}`).toBe(expected);
      expect(emu().stats().faults).toBe(expected);
      // The seeded draws are uniform: near half of 200.
      expect(expected).toBeGreaterThan(70);
      expect(expected).toBeLessThan(130);
      expect((counts['200'] ?? 0) + faulted, kind).toBe(200);
      expect(emu().stats().requests['GET /file_actions/metadata']).toBe(200);
    }
    await configure(emu(), { faultRate: 1, faults: ['429'] });
    const r = await call(emu(), 'GET', `${API}/folders/`);
    expect(r.status).toBe(429);
    expect(r.json.type).toBe('rate-limited/too-many-requests');
    expect(r.headers['retry-after']).toBe('1');
    await configure(emu(), { faults: ['503'] });
    const u = await call(emu(), 'GET', `${API}/folders/`);
    expect(u.json.type).toBe('service-unavailable');
    expect(u.headers['retry-after']).toBe('1');
    // Control endpoints are never faulted.
    expect((await call(emu(), 'GET', '/__emulator/stats')).status).toBe(200);
    await configure(emu(), { faultRate: 0 });
  });

  it('draws the same faults again after reseeding with the same seed', async () => {
    const outcomes = async (): Promise<number[]> => {
      await configure(emu(), { faultRate: 0.4, faults: ['429', '500', '503'], faultSeed: 1234 });
      const seen: number[] = [];
      for (let i = 0; i < 40; i++) seen.push((await call(emu(), 'GET', `${API}/file_actions/metadata/`)).status);
      return seen;
    };
    const first = await outcomes();
    const second = await outcomes();
    await configure(emu(), { faultRate: 0 });
    expect(second).toEqual(first);
    expect(new Set(first)).toEqual(new Set([200, 429, 500, 503]));
    expect((await call(emu(), 'GET', '/__emulator/config')).json.faultSeed).toBe(1234);
  });

  it('resets a download after some bytes and an upload part while reading its body', async () => {
    const data = randomBytes(2 * MiB);
    await upload(emu(), 'reset/f.bin', data);
    const uri = (await call(emu(), 'GET', `${API}/files/reset/f.bin`)).json.download_uri as string;
    await configure(emu(), { faultRate: 1, faults: ['reset'] });
    let received = 0;
    const failure = await (async () => {
      const r = await request(uri);
      expect(r.statusCode).toBe(200);
      for await (const chunk of r.body) received += (chunk as Buffer).length;
      return null;
    })().catch((e: Error) => e);
    expect(failure).toBeInstanceOf(Error);
    expect(received).toBeGreaterThan(0);
    expect(received).toBeLessThan(data.length);
    await configure(emu(), { faultRate: 0 });
    const slot = (await call(emu(), 'POST', `${API}/file_actions/begin_upload/reset/g.bin`)).json[0];
    await configure(emu(), { faultRate: 1, faults: ['reset'] });
    const put = await request(slot.upload_uri, { method: 'PUT', body: data, headers: { 'content-length': String(data.length) } }).then(() => null, (e: Error) => e);
    expect(put).toBeInstanceOf(Error);
    await configure(emu(), { faultRate: 0 });
    // Nothing of the reset part was kept: ending now has no part to use.
    const end = await call(emu(), 'POST', `${API}/files/reset/g.bin`, { json: { action: 'end', ref: slot.ref, size: data.length } });
    expect(end.status).toBe(400);
  });

  it('adds latency to every request', async () => {
    const time = async () => {
      const t = performance.now();
      await call(emu(), 'GET', `${API}/file_actions/metadata/`);
      return performance.now() - t;
    };
    await time();
    const base = Math.min(await time(), await time(), await time());
    expect((await configure(emu(), { latencyMs: 150 })).json.latencyMs).toBe(150);
    const slow = Math.min(await time(), await time(), await time());
    await configure(emu(), { latencyMs: 0 });
    expect(slow - base).toBeGreaterThanOrEqual(140);
    expect(slow - base).toBeLessThan(400);
  });

  it('caps transfer bodies at the configured bandwidth', async () => {
    const data = randomBytes(MiB);
    await configure(emu(), { bandwidth: 2 * MiB });
    let t = performance.now();
    expect((await upload(emu(), 'bw/f.bin', data)).status).toBe(201);
    const up = performance.now() - t;
    const uri = (await call(emu(), 'GET', `${API}/files/bw/f.bin`)).json.download_uri as string;
    t = performance.now();
    const body = Buffer.from(await (await request(uri)).body.arrayBuffer());
    const down = performance.now() - t;
    await configure(emu(), { bandwidth: 0 });
    expect(body.equals(data)).toBe(true);
    // 1 MiB at 2 MiB/s ≈ 500 ms (less the 64 KiB burst).
    expect(up).toBeGreaterThan(400);
    expect(down).toBeGreaterThan(400);
    expect(up).toBeLessThan(2000);
    expect(down).toBeLessThan(2000);
  });

  it('refuses a bad config', async () => {
    expect((await configure(emu(), { faults: ['500', 'stall'], faultSeed: 9 })).status).toBe(200);
    expect((await configure(emu(), { faultRate: 2 })).status).toBe(400);
    expect((await configure(emu(), { faults: ['meteor'] })).status).toBe(400);
    expect((await configure(emu(), { stallMs: -1 })).status).toBe(400);
    expect((await configure(emu(), { faultSeed: 1.5 })).status).toBe(400);
    expect((await call(emu(), 'GET', '/__emulator/config')).json).toEqual({ latencyMs: 0, bandwidth: 0, faultRate: 0, faults: ['500', 'stall'], stallMs: 300_000, faultSeed: 9 });
  });
});

describe('stall', () => {
  it('drops a stalled request after the configured stall time (--stall-ms, config stallMs)', async () => {
    const emu = await startTestEmulator({ faultRate: 1, faults: ['stall'], stallMs: 200 });
    try {
      const ask = () => request(`${emu.url}${API}/folders/`, { headersTimeout: 20_000 }).then(() => 'answered', (e: { code?: string }) => e.code ?? 'dropped');
      // Dropped by the emulator (socket closed), long before the client's own 20 s timeout.
      expect(await ask()).toBe('UND_ERR_SOCKET');
      expect((await call(emu, 'PUT', '/__emulator/config', { json: { stallMs: 100 } })).json.stallMs).toBe(100);
      expect(await ask()).toBe('UND_ERR_SOCKET');
      expect(emu.stats().faults).toBe(2);
    } finally {
      await emu.stop();
    }
  });

  it('holds a request without answering, and stop() still returns promptly', async () => {
    const emu = await startTestEmulator({ faultRate: 1, faults: ['stall'] });
    const pending = request(`${emu.url}${API}/folders/`, { headersTimeout: 10_000 }).then(() => 'answered', () => 'dropped');
    const early = await Promise.race([pending, new Promise((r) => setTimeout(() => r('still waiting'), 2500))]);
    expect(early).toBe('still waiting');
    expect(emu.stats().requests['GET /folders']).toBe(1);
    const t = performance.now();
    await emu.stop();
    expect(performance.now() - t).toBeLessThan(1000);
    expect(await pending).toBe('dropped');
  });
});
