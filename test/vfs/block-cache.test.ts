import { describe, expect, it } from 'vitest';
import type { RemoteEntry } from '../../src/client/files-client.js';
import { BlockCache } from '../../src/vfs/read/block-cache.js';
import { FileContent, type Segment } from '../../src/vfs/read/file-content.js';

const B = 1000;

function file(path: string, size = 100 * B): FileContent {
  const entry: RemoteEntry = { path, name: path, type: 'file', size, mtime: new Date(0), serverMtime: null, providedMtime: null, createdAt: null, md5: null, crc32: null, permissions: null };
  return new FileContent(entry);
}

function segment(content: FileContent, firstBlock: number, blocks: number): Segment {
  return { content, key: `${content.id}:${firstBlock}`, start: firstBlock * B, data: Buffer.alloc(blocks * B), firstBlock, lastBlock: firstBlock + blocks - 1 };
}

function held(cache: BlockCache): number {
  const s = cache.stats();
  return s.cachedBytes + s.inflightBytes;
}

describe('BlockCache', () => {
  it('finds a segment by any of its blocks', () => {
    const cache = new BlockCache({ perFileBytes: 10 * B, totalBytes: 20 * B });
    const f = file('a');
    cache.insert(segment(f, 2, 3));
    expect(cache.find(f, 1)).toBeUndefined();
    expect(cache.find(f, 2)?.start).toBe(2 * B);
    expect(cache.find(f, 4)?.start).toBe(2 * B);
    expect(cache.find(f, 5)).toBeUndefined();
    expect(f.cachedBytes).toBe(3 * B);
  });

  it('keeps one file within its bound, evicting its least recently used segment', () => {
    const cache = new BlockCache({ perFileBytes: 4 * B, totalBytes: 100 * B });
    const f = file('a');
    for (let i = 0; i < 4; i++) cache.insert(segment(f, i, 1));
    cache.find(f, 0); // 0 becomes the most recently used
    cache.insert(segment(f, 10, 1));
    expect(cache.has(f, 1)).toBe(false);
    expect(cache.has(f, 0)).toBe(true);
    expect(f.cachedBytes).toBeLessThanOrEqual(4 * B);
  });

  it('keeps all files within the total bound, evicting the least recently used anywhere', () => {
    const cache = new BlockCache({ perFileBytes: 10 * B, totalBytes: 10 * B });
    const a = file('a');
    const b = file('b');
    for (let i = 0; i < 6; i++) cache.insert(segment(a, i, 1));
    for (let i = 0; i < 6; i++) {
      cache.insert(segment(b, i, 1));
      expect(held(cache)).toBeLessThanOrEqual(10 * B);
    }
    expect(cache.has(a, 0)).toBe(false);
    expect(cache.has(a, 5)).toBe(true);
    expect(a.cachedBytes + b.cachedBytes).toBe(cache.stats().cachedBytes);
  });

  it('counts requests in flight: optional ones are refused when they cannot fit, required ones evict', () => {
    const cache = new BlockCache({ perFileBytes: 5 * B, totalBytes: 8 * B });
    const a = file('a');
    const b = file('b');
    for (let i = 0; i < 5; i++) cache.insert(segment(a, i, 1));
    expect(cache.reserve(b, 4 * B, true)).toBe(true);
    expect(held(cache)).toBeLessThanOrEqual(8 * B);
    expect(cache.reserve(b, 2 * B, true)).toBe(false); // b would exceed its own bound in flight
    expect(cache.reserve(a, 5 * B, true)).toBe(false); // in flight alone would exceed the total
    expect(cache.reserve(a, 3 * B, false)).toBe(true);
    expect(held(cache)).toBeLessThanOrEqual(8 * B + 0);
    cache.settle(b, 4 * B);
    cache.settle(a, 3 * B);
    expect(cache.stats().inflightBytes).toBe(0);
  });

  it('drops every segment of a file, telling when the file holds nothing more', () => {
    const emptied: FileContent[] = [];
    const cache = new BlockCache({ perFileBytes: 10 * B, totalBytes: 10 * B }, (c) => emptied.push(c));
    const f = file('a');
    cache.insert(segment(f, 0, 2));
    cache.insert(segment(f, 2, 2));
    cache.drop(f);
    expect(cache.stats()).toEqual({ cachedBytes: 0, inflightBytes: 0, segments: 0 });
    expect(f.blocks.size).toBe(0);
    expect(emptied).toEqual([f]);
  });

  it('ignores segments of a superseded version', () => {
    const cache = new BlockCache({ perFileBytes: 10 * B, totalBytes: 10 * B });
    const f = file('a');
    f.superseded = true;
    cache.insert(segment(f, 0, 1));
    expect(cache.stats().segments).toBe(0);
  });
});
