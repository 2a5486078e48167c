// Injected faults: each kind at 20 % of all requests (API calls and
// transfers), and every operation still succeeds; Retry-After is honoured; a
// stall ends in a TimeoutError within the configured time.
//
// At a 20 % fault rate a request fails four times in a row (the default three
// retries used up) with probability 0.2⁴ = 1/625, far too often for a test
// that makes hundreds of requests; these clients allow 8 retries (0.2⁹ ≈ 5e-7)
// with short backoff. Retry-After (1 s on 429/503) is honoured regardless.
// The fault draws are seeded: every request takes the next draw, so how many
// of the first N requests are faulted is fixed, and the test knows it.
import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { TimeoutError } from '../../src/client/errors.js';
import { Faults } from '../../src/emulator/faults.js';
import type { FaultKind } from '../../src/emulator/index.js';
import { useEmulator } from '../support/emulator.js';
import { API_KEY, clientFor, collect, MiB, patternChunk, sha256 } from './support.js';

const FAULTY = { retries: 8, retryBaseDelayMs: 20, retryMaxDelayMs: 100 };
const SEED = 42;

/** How many of the first `n` requests an emulator seeded with SEED faults at `rate`. */
function replayFaults(rate: number, kind: FaultKind, n: number): number {
  const faults = new Faults(rate, [kind], SEED);
  let count = 0;
  for (let i = 0; i < n; i++) if (faults.pick()) count++;
  return count;
}

describe('fault injection', () => {
  const emu = useEmulator({ apiKey: API_KEY, migrationMs: 50 });

  it.each<FaultKind>(['429', '500', '503', 'reset'])('every operation succeeds with %s faults at a 20 percent rate', async (kind) => {
    const c = clientFor(emu(), FAULTY);
    const root = `Faults-${kind}`;
    const data = patternChunk(0, 12 * MiB + 5, kind.length);
    emu().resetStats();
    emu().configure({ faultRate: 0.2, faults: [kind], faultSeed: SEED });
    let faulty = emu().stats();
    try {
      await c.mkdir(`${root}/a/b`, { parents: true });
      await c.mkdir(`${root}/c`);
      const up = await c.upload(`${root}/a/data.bin`, { buffer: data }, { mtime: new Date('2022-02-02T02:02:02Z') });
      expect(up.size).toBe(data.length);
      await c.upload(`${root}/a/stream.bin`, { stream: Readable.from([data.subarray(0, 6 * MiB)]) });
      await Promise.all(Array.from({ length: 8 }, (_, i) => c.upload(`${root}/c/small-${i}.txt`, { buffer: Buffer.from(`small ${i}`) })));
      expect((await c.stat(`${root}/a/data.bin`)).size).toBe(data.length);
      expect(await collect(c.list(`${root}/c`, { perPage: 3 }))).toHaveLength(8);
      expect((await c.readRange(`${root}/a/data.bin`, 5 * MiB - 3, 10)).equals(data.subarray(5 * MiB - 3, 5 * MiB + 7))).toBe(true);
      const whole = await c.readRange(`${root}/a/data.bin`, 0, data.length);
      expect(createHash('sha256').update(whole).digest('hex')).toBe(createHash('sha256').update(data).digest('hex'));
      expect(await sha256(await c.createReadStream(`${root}/a/data.bin`))).toBe(await sha256([data]));
      await c.setMtime(`${root}/a/data.bin`, new Date('2000-01-01T00:00:00Z'));
      await c.move(`${root}/a/data.bin`, `${root}/c/moved.bin`);
      await c.copy(`${root}/c`, `${root}/c2`);
      await c.move(`${root}/a`, `${root}/a2`);
      expect(await collect(c.list(`${root}/c2`))).toContain(`${root}/c2/moved.bin`);
      await c.delete(`${root}/c/small-0.txt`);
      await c.delete(root, { recursive: true });
      faulty = emu().stats();
    } finally {
      emu().configure({ faultRate: 0 });
    }
    await expect(c.stat(root)).rejects.toMatchObject({ kind: 'not-found' });
    // Every request while faults were on took the next seeded draw: exactly these were faulted,
    // at least the 14 of the first 60 draws (the operations alone need more than 60 requests).
    expect(faulty.total).toBeGreaterThan(60);
    expect(faulty.faults).toBe(replayFaults(0.2, kind, faulty.total));
    expect(replayFaults(0.2, kind, 60)).toBe(14);
  });

  it('honours Retry-After: a 429 with Retry-After: 1 delays the retry by about 1 s', async () => {
    const c = clientFor(emu(), { retries: 3, retryBaseDelayMs: 10, retryMaxDelayMs: 20 });
    await c.mkdir('RA');
    emu().resetStats();
    emu().configure({ faultRate: 1, faults: ['429'] });
    const started = performance.now();
    const failed = await c.stat('RA').catch((e: unknown) => e);
    const elapsed = performance.now() - started;
    emu().configure({ faultRate: 0 });
    expect(failed).toMatchObject({ kind: 'rate-limited', status: 429, retryAfterMs: 1000 });
    // Three retries, each after the server's 1 s (not the 10–20 ms backoff).
    expect(emu().stats().requests['GET /file_actions/metadata']).toBe(4);
    expect(elapsed).toBeGreaterThanOrEqual(2_950);
    expect(elapsed).toBeLessThan(6_000);
  });

  it('a stall fails with TimeoutError within the configured time', async () => {
    const c = clientFor(emu(), { requestTimeoutMs: 500, retries: 0 });
    await c.mkdir('Stall');
    emu().configure({ faultRate: 1, faults: ['stall'] });
    try {
      const started = performance.now();
      await expect(c.stat('Stall')).rejects.toBeInstanceOf(TimeoutError);
      // undici's timers tick every ~0.5 s: the timeout fires within T … T + 1 s.
      expect(performance.now() - started).toBeLessThan(500 + 1_200);
      const retrying = clientFor(emu(), { requestTimeoutMs: 500, retries: 1, retryBaseDelayMs: 10, retryMaxDelayMs: 10 });
      const t2 = performance.now();
      await expect(retrying.readRange('Stall', 0, 1)).rejects.toBeInstanceOf(TimeoutError);
      expect(performance.now() - t2).toBeLessThan(2 * (500 + 1_200) + 50);
    } finally {
      emu().configure({ faultRate: 0 });
    }
  });
});
