// A 256 MiB upload in 8 parallel parts with 10 % injected faults (429, 500,
// 503, resets), downloaded back byte-identical. Data is generated and hashed
// as a stream on both sides: no 256 MiB buffer is ever held.
import { createHash } from 'node:crypto';
import { Transform } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { useEmulator } from '../support/emulator.js';
import { API_KEY, clientFor, MiB, patternStream, sha256 } from './support.js';

const SIZE = 256 * MiB;

describe('large transfer under faults', () => {
  const emu = useEmulator({ apiKey: API_KEY });

  it('uploads 256 MiB with 8 parallel parts and 10 % faults, and reads it back identical', async () => {
    // 6 retries: at 10 % a request exhausts them with probability 1e-7.
    const c = clientFor(emu(), { partConcurrency: 8, retries: 6, retryBaseDelayMs: 20, retryMaxDelayMs: 200 });
    const sent = createHash('sha256');
    const source = patternStream(SIZE, 9).pipe(new Transform({
      transform(chunk: Buffer, _enc, done) {
        sent.update(chunk);
        done(null, chunk);
      },
    }));
    let lastProgress = 0;
    emu().resetStats();
    emu().configure({ faultRate: 0.1, faults: ['429', '500', '503', 'reset'] });
    try {
      const entry = await c.upload('Large/blob.bin', { stream: source, size: SIZE }, { onProgress: (n) => { lastProgress = n; } });
      expect(entry.size).toBe(SIZE);
      expect(lastProgress).toBe(SIZE);
      const puts = emu().stats().requests['PUT upload']!;
      expect(puts).toBeGreaterThanOrEqual(52); // 52 parts of 5 MiB, plus the faulted ones again
      const got = await sha256(await c.createReadStream('Large/blob.bin'));
      expect(got).toBe(sent.digest('hex'));
    } finally {
      emu().configure({ faultRate: 0 });
    }
    expect(emu().stats().total).toBeGreaterThan(emu().stats().requests['PUT upload']! + 2);
  }, 180_000);
});
