// Presigned download URLs: reused while valid, refreshed before expiry, and
// refreshed transparently when the server refuses an expired one (403).
import { describe, expect, it } from 'vitest';
import { useEmulator } from '../support/emulator.js';
import { API_KEY, clientFor } from './support.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('download URLs', () => {
  const emu = useEmulator({ apiKey: API_KEY, downloadTtlSeconds: 1 });

  it('reuses one URL for many reads of a file (any spelling), then refreshes it before it expires', async () => {
    const c = clientFor(emu());
    await c.upload('Dl/file.txt', { buffer: Buffer.from('0123456789') });
    emu().resetStats();
    const reads = await Promise.all([c.readRange('Dl/file.txt', 0, 2), c.readRange('dl/FILE.txt', 2, 2), c.readRange('/Dl//file.txt', 4, 2)]);
    expect(Buffer.concat(reads).toString()).toBe('012345');
    expect(emu().stats().requests['GET /files']).toBe(1);
    expect(emu().stats().requests['GET download']).toBe(3);
    await sleep(1_100);
    expect((await c.readRange('Dl/file.txt', 6, 4)).toString()).toBe('6789');
    const stats = emu().stats().requests;
    expect(stats['GET /files']).toBe(2);
    expect(stats['GET download']).toBe(4);
  });

  it('an expired URL refused with 403 is replaced transparently', async () => {
    // A clock running 100× slow keeps the client from noticing the expiry itself.
    const t0 = Date.now();
    const c = clientFor(emu(), { now: () => t0 + (Date.now() - t0) / 100 });
    await c.upload('Dl/slow.txt', { buffer: Buffer.from('abcdefghij') });
    expect((await c.readRange('Dl/slow.txt', 0, 3)).toString()).toBe('abc');
    await sleep(2_100);
    emu().resetStats();
    // The 403, then the retry with a fresh URL. On a busy machine a slow answer is hedged (the
    // same GET again), and a fresh URL may expire too (1 s) before it is used: each counts.
    let hedges = c.stats.hedges.sent;
    expect((await c.readRange('Dl/slow.txt', 3, 3)).toString()).toBe('def');
    const s = emu().stats().requests;
    expect(s['GET /files']).toBeGreaterThanOrEqual(1);
    expect(s['GET download']).toBe(1 + s['GET /files']! + c.stats.hedges.sent - hedges);
    // The same for a stream.
    await sleep(2_100);
    emu().resetStats();
    hedges = c.stats.hedges.sent;
    let text = '';
    for await (const chunk of await c.createReadStream('Dl/slow.txt', { offset: 5 })) text += chunk;
    expect(text).toBe('fghij');
    const t = emu().stats().requests;
    expect(t['GET /files']).toBeGreaterThanOrEqual(1);
    expect(t['GET download']).toBe(1 + t['GET /files']! + c.stats.hedges.sent - hedges);
  });
});
