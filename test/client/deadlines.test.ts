// Deadlines, stall watches and hedges against the emulator: a slow but moving
// transfer (the emulator's bandwidth limit) never trips the stall timeout,
// even one far shorter than the transfer; a stalled one does; at a 10 %
// injected fault rate (stalls included) every metadata call succeeds, hedges
// stay within their budget, and the server is never taken for unreachable.
import { describe, expect, it } from 'vitest';
import { TimeoutError } from '../../src/client/errors.js';
import { HEDGE_BURST, HEDGE_RATIO } from '../../src/client/hedging.js';
import { useEmulator } from '../support/emulator.js';
import { API_KEY, clientFor, MiB, patternChunk } from './support.js';

/** Far beyond vitest's 60 s: only the stall watch or a hedge can end a stall in time. */
const NEVER = 600_000;

describe('data transfers are judged by bytes, not by time', () => {
  const emu = useEmulator({ apiKey: API_KEY });

  it('a slow but moving upload and download never trip a stall timeout shorter than they take', async () => {
    // 1.5 MiB each way at 512 KiB/s: about 3 s each, against a 1 s stall timeout.
    const c = clientFor(emu(), { stallTimeoutMs: 1_000, requestTimeoutMs: NEVER, retries: 0 });
    const data = patternChunk(0, 1.5 * MiB, 3);
    emu().configure({ bandwidth: 512 * 1024 });
    try {
      expect((await c.upload('Slow/up.bin', { buffer: data })).size).toBe(data.length);
      expect((await c.readRange('Slow/up.bin', 0, data.length)).equals(data)).toBe(true);
      const chunks: Buffer[] = [];
      for await (const chunk of await c.createReadStream('Slow/up.bin')) chunks.push(chunk as Buffer);
      expect(Buffer.concat(chunks).equals(data)).toBe(true);
    } finally {
      emu().configure({ bandwidth: 0 });
    }
    expect(c.stats).toMatchObject({ stalls: 0, retries: 0 });
    // The part once (no retry), plus the API calls' JSON.
    expect(c.stats.bytes.up).toBeGreaterThanOrEqual(data.length);
    expect(c.stats.bytes.up).toBeLessThan(data.length + 4096);
    expect(c.stats.bytes.down).toBeGreaterThanOrEqual(2 * data.length);
  });

  it('a stalled transfer is abandoned after the stall timeout (never the outer timeout)', async () => {
    const c = clientFor(emu(), { stallTimeoutMs: 300, requestTimeoutMs: NEVER, retries: 1, retryBaseDelayMs: 10, retryMaxDelayMs: 10 });
    await c.upload('Stalled/a.bin', { buffer: patternChunk(0, 1000, 1) });
    await c.readRange('Stalled/a.bin', 0, 1); // the download URL is cached: only the transfer is faulted below
    emu().configure({ faultRate: 1, faults: ['stall'] });
    try {
      await expect(c.readRange('Stalled/a.bin', 0, 1000)).rejects.toBeInstanceOf(TimeoutError);
    } finally {
      emu().configure({ faultRate: 0 });
    }
    // Two attempts, each a stall (and maybe its hedge, stalled too).
    expect(c.stats.stalls).toBeGreaterThanOrEqual(2);
    expect(c.stats.requests.range.timeout).toBeGreaterThanOrEqual(2);
  });
});

describe('10 % injected faults, stalls included', () => {
  const emu = useEmulator({ apiKey: API_KEY });

  it('every metadata call succeeds; stalls are hedged within the budget; the server stays reachable', async () => {
    // A stall holds the request for minutes: hedges (or the 5 s deadline) must answer for it.
    const c = clientFor(emu(), { requestTimeoutMs: NEVER, retries: 5, retryBaseDelayMs: 10, retryMaxDelayMs: 50 });
    const N = 200;
    await Promise.all(Array.from({ length: 20 }, (_, i) => c.upload(`Hedge/f${i}.txt`, { buffer: Buffer.from(`file ${i}`) })));
    const before = c.stats;
    emu().configure({ faultRate: 0.1, faults: ['429', '500', '503', 'reset', 'stall'] });
    try {
      for (let i = 0; i < N; i++) expect((await c.stat(`Hedge/f${i % 20}.txt`)).type).toBe('file');
    } finally {
      emu().configure({ faultRate: 0 });
    }
    const after = c.stats;
    const sent = after.hedges.sent - before.hedges.sent;
    expect(sent).toBeLessThanOrEqual(HEDGE_RATIO * N + HEDGE_BURST);
    expect(after.hedges.won).toBeLessThanOrEqual(after.hedges.sent);
    expect(after.requests.metadata.ok - before.requests.metadata.ok).toBe(N);
    expect(c.health.state).toBe('reachable');
  });
});
