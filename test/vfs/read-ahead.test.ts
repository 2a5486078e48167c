import { describe, expect, it } from 'vitest';
import { ReadAhead, type ByteRange } from '../../src/vfs/read/read-ahead.js';
import { KiB, MiB } from './helpers.js';

const config = { blockSize: 256 * KiB, initialWindow: 1 * MiB, maxWindow: 32 * MiB, maxRequest: 8 * MiB };

function scan(size: number, readSize = 128 * KiB): { ranges: ByteRange[]; maxAhead: number } {
  const ra = new ReadAhead(config);
  const ranges: ByteRange[] = [];
  let requested = 0;
  let maxAhead = 0;
  for (let pos = 0; pos < size; pos += readSize) {
    const end = Math.min(pos + readSize, size);
    const r = ra.onRead(pos, end, size);
    if (r) {
      ranges.push(r);
      requested = r.end;
    }
    maxAhead = Math.max(maxAhead, requested - end);
  }
  return { ranges, maxAhead };
}

describe('ReadAhead', () => {
  it('grows requests 1, 2, 4, 8 MiB and then keeps 8 MiB requests for a sequential reader', () => {
    const { ranges } = scan(256 * MiB);
    const sizes = ranges.map((r) => (r.end - r.start) / MiB);
    expect(sizes.slice(0, 5)).toEqual([1, 2, 4, 8, 8]);
    // Every later request is 8 MiB but the last, which ends at the end of the file.
    expect(sizes.slice(3, -1).every((s) => s === 8)).toBe(true);
    // Contiguous, no overlap, covering the whole file.
    expect(ranges[0]!.start).toBe(0);
    for (let i = 1; i < ranges.length; i++) expect(ranges[i]!.start).toBe(ranges[i - 1]!.end);
    expect(ranges.at(-1)!.end).toBe(256 * MiB);
    // The promise: at most 256 MiB / 4 MiB requests for `cat` of 256 MiB.
    expect(ranges.length).toBeLessThanOrEqual(64);
    expect(ranges.length).toBe(35);
  });

  it('keeps at most the maximum window requested ahead of the reader', () => {
    const { maxAhead } = scan(256 * MiB);
    expect(maxAhead).toBeLessThanOrEqual(config.maxWindow);
    expect(maxAhead).toBeGreaterThanOrEqual(16 * MiB);
  });

  it('asks only for the initial window on a first short read at offset 0 (head -c)', () => {
    const ra = new ReadAhead(config);
    expect(ra.onRead(0, 4 * KiB, 100 * MiB)).toEqual({ start: 0, end: 1 * MiB });
  });

  it('clamps requests to the end of a small file and stops there', () => {
    const ra = new ReadAhead(config);
    expect(ra.onRead(0, 10_000, 10_000)).toEqual({ start: 0, end: 10_000 });
    expect(ra.onRead(10_000, 10_000, 10_000)).toBeNull();
  });

  it('treats a first read elsewhere as random: nothing ahead', () => {
    const ra = new ReadAhead(config);
    expect(ra.onRead(50 * MiB, 50 * MiB + 4 * KiB, 100 * MiB)).toBeNull();
    expect(ra.sequentialReads).toBe(0);
  });

  it('shrinks the window back to its initial size on a random read, and grows again after', () => {
    const ra = new ReadAhead(config);
    const size = 1024 * MiB;
    for (let pos = 0; pos < 64 * MiB; pos += 128 * KiB) ra.onRead(pos, pos + 128 * KiB, size);
    expect(ra.currentWindow).toBe(config.maxWindow);
    expect(ra.onRead(700 * MiB, 700 * MiB + 128 * KiB, size)).toBeNull();
    expect(ra.currentWindow).toBe(config.initialWindow);
    // Reading on from there is sequential again: the ramp restarts at 1 MiB, block-aligned.
    const next = ra.onRead(700 * MiB + 128 * KiB, 700 * MiB + 256 * KiB, size);
    expect(next).toEqual({ start: 700 * MiB + 256 * KiB, end: 700 * MiB + 256 * KiB + 1 * MiB });
  });

  it('accepts reads arriving slightly out of order as sequential', () => {
    const ra = new ReadAhead(config);
    const size = 100 * MiB;
    ra.onRead(0, 128 * KiB, size);
    ra.onRead(256 * KiB, 384 * KiB, size);
    ra.onRead(128 * KiB, 256 * KiB, size);
    ra.onRead(384 * KiB, 512 * KiB, size);
    expect(ra.sequentialReads).toBe(4);
  });

  it('random 4 KiB reads spread over a file never request ahead', () => {
    const ra = new ReadAhead(config);
    const size = 1024 * MiB;
    const offsets = [500, 3, 900, 120, 777, 40, 640].map((n) => n * MiB + 8 * KiB);
    for (const o of offsets) expect(ra.onRead(o, o + 4 * KiB, size)).toBeNull();
    expect(ra.currentWindow).toBe(config.initialWindow);
  });

  it('a retracted range (no memory for it) is asked for again by the next read, and the window stops growing', () => {
    const ra = new ReadAhead(config);
    const size = 100 * MiB;
    const first = ra.onRead(0, 128 * KiB, size)!;
    const second = ra.onRead(128 * KiB, 256 * KiB, size)!;
    expect(second).toEqual({ start: 1 * MiB, end: 3 * MiB });
    ra.retract(second);
    expect(ra.currentWindow).toBe(config.initialWindow);
    let next = null;
    for (let p = 256 * KiB; !next && p < 1 * MiB; p += 128 * KiB) next = ra.onRead(p, p + 128 * KiB, size);
    expect(next).toEqual({ start: first.end, end: first.end + 1 * MiB });
  });
});
