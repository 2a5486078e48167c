// ChunkedData: a range response kept as its chunks must copy out exactly what
// the joined buffer would, for any split and any window (Buffer.copy's contract).
import { randomBytes } from 'node:crypto';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ChunkedData } from '../../src/vfs/read/file-content.js';

describe('ChunkedData', () => {
  it('copies like Buffer.copy of the joined chunks', () => {
    fc.assert(
      fc.property(
        fc.array(fc.integer({ min: 0, max: 300 }), { minLength: 1, maxLength: 12 }),
        fc.nat(),
        fc.nat(),
        fc.integer({ min: 0, max: 64 }),
        fc.integer({ min: 0, max: 900 }),
        (sizes, a, b, targetStart, targetLength) => {
          const chunks = sizes.map((n) => randomBytes(n));
          const joined = Buffer.concat(chunks);
          const data = new ChunkedData(chunks);
          expect(data.length).toBe(joined.length);
          const start = joined.length ? a % (joined.length + 1) : 0;
          const end = start + (joined.length - start ? b % (joined.length - start + 1) : 0);
          const expected = Buffer.alloc(targetStart + targetLength, 7);
          const actual = Buffer.alloc(targetStart + targetLength, 7);
          const n = joined.copy(expected, targetStart, start, end);
          expect(data.copy(actual, targetStart, start, end)).toBe(n);
          expect(actual.equals(expected)).toBe(true);
        },
      ),
      { numRuns: 500 },
    );
  });
});
