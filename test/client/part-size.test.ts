import { describe, expect, it } from 'vitest';
import { MAX_PART_SIZE, MAX_PARTS, MAX_UPLOAD_SIZE, MIB, MIN_PART_SIZE, partCountFor, partRange, partSizeFor, streamCapacity, streamPartSize } from '../../src/client/part-size.js';

describe('part size for a known size', () => {
  it('uses 5 MiB parts up to 10,000 × 5 MiB', () => {
    expect(partSizeFor(0)).toBe(MIN_PART_SIZE);
    expect(partSizeFor(1)).toBe(MIN_PART_SIZE);
    expect(partSizeFor(256 * MIB)).toBe(MIN_PART_SIZE);
    expect(partSizeFor(MAX_PARTS * MIN_PART_SIZE)).toBe(MIN_PART_SIZE);
  });

  it('grows in whole MiB past ~48.8 GiB so that 10,000 parts always suffice', () => {
    expect(partSizeFor(MAX_PARTS * MIN_PART_SIZE + 1)).toBe(6 * MIB);
    expect(partSizeFor(100 * 1024 * MIB)).toBe(11 * MIB);
    expect(partSizeFor(MAX_UPLOAD_SIZE)).toBe(MAX_PART_SIZE);
    for (const size of [50 * 1024 * MIB, 1024 ** 4, 3.3 * 1024 ** 4, MAX_UPLOAD_SIZE]) {
      const s = Math.floor(size);
      const part = partSizeFor(s);
      expect(part % MIB).toBe(0);
      expect(partCountFor(s, part)).toBeLessThanOrEqual(MAX_PARTS);
      expect(part).toBeLessThanOrEqual(MAX_PART_SIZE);
    }
  });

  it('refuses sizes past the limit and non-integers', () => {
    expect(() => partSizeFor(MAX_UPLOAD_SIZE + 1)).toThrow(RangeError);
    expect(() => partSizeFor(-1)).toThrow(RangeError);
    expect(() => partSizeFor(1.5)).toThrow(RangeError);
  });

  it('counts parts (an empty file is one empty part) and cuts ranges', () => {
    expect(partCountFor(0, MIN_PART_SIZE)).toBe(1);
    expect(partCountFor(MIN_PART_SIZE, MIN_PART_SIZE)).toBe(1);
    expect(partCountFor(MIN_PART_SIZE + 1, MIN_PART_SIZE)).toBe(2);
    expect(partRange(1, 10, 25)).toEqual({ start: 0, end: 10 });
    expect(partRange(3, 10, 25)).toEqual({ start: 20, end: 25 });
    expect(partRange(1, 10, 0)).toEqual({ start: 0, end: 0 });
  });
});

describe('part size for a stream of unknown size (Go SDK schedule)', () => {
  it('follows 100×5, 200×10, 300×20, 500×40 MiB, …', () => {
    expect(streamPartSize(1)).toBe(5 * MIB);
    expect(streamPartSize(100)).toBe(5 * MIB);
    expect(streamPartSize(101)).toBe(10 * MIB);
    expect(streamPartSize(300)).toBe(10 * MIB);
    expect(streamPartSize(301)).toBe(20 * MIB);
    expect(streamPartSize(600)).toBe(20 * MIB);
    expect(streamPartSize(601)).toBe(40 * MIB);
    expect(streamPartSize(1100)).toBe(40 * MIB);
    expect(streamPartSize(1101)).toBe(80 * MIB);
    expect(streamPartSize(MAX_PARTS)).toBe(1280 * MIB);
  });

  it('never shrinks, stays within S3 limits and carries several TiB', () => {
    let prev = 0;
    for (let n = 1; n <= MAX_PARTS; n += 7) {
      const s = streamPartSize(n);
      expect(s).toBeGreaterThanOrEqual(prev);
      expect(s).toBeLessThanOrEqual(MAX_PART_SIZE);
      prev = s;
    }
    expect(streamCapacity()).toBe(4_812_500 * MIB);
    expect(() => streamPartSize(0)).toThrow(RangeError);
    expect(() => streamPartSize(MAX_PARTS + 1)).toThrow(RangeError);
  });
});
