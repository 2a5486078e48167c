// The memory layer of the read path: a fixed pool of blocks (the one budget
// for everything held in memory) and the cache of blocks cut from it.
import { describe, expect, it } from 'vitest';
import type { RemoteEntry } from '../../src/client/files-client.js';
import { BlockCache } from '../../src/vfs/read/block-cache.js';
import { BlockPool, type PoolBlock } from '../../src/vfs/read/block-pool.js';
import { FileContent } from '../../src/vfs/read/file-content.js';

const B = 1000;

function file(path: string, size = 100 * B): FileContent {
  const entry: RemoteEntry = { path, name: path, type: 'file', size, mtime: new Date(0), serverMtime: null, providedMtime: null, createdAt: null, md5: null, crc32: null, permissions: null };
  return new FileContent(entry);
}

/** A pool of `blocks` blocks whose reclaim evicts from the cache, and the cache (per-file bound `perFile` blocks). */
function memory(blocks: number, perFile = blocks, onDisk: (index: number) => boolean = () => false): { pool: BlockPool; cache: BlockCache; emptied: FileContent[] } {
  const emptied: FileContent[] = [];
  let cache: BlockCache | undefined;
  const pool = new BlockPool(B, blocks, (n, onDiskOnly, shortOnly) => cache!.evict(n, onDiskOnly, shortOnly));
  cache = new BlockCache(pool, perFile * B, (c) => emptied.push(c), (b) => onDisk(b.index));
  return { pool, cache, emptied };
}

/** Fetches block `index` of `content` into the cache, as a read does (it may push out any cached block). */
async function put(m: { pool: BlockPool; cache: BlockCache }, content: FileContent, index: number): Promise<PoolBlock> {
  const [block] = await m.pool.take(1);
  block!.buf.fill(index % 256);
  m.cache.insert(content, index, block!, B);
  return block!;
}

describe('BlockPool', () => {
  it('hands out at most its blocks; a block comes back when its last holder lets go', () => {
    const pool = new BlockPool(B, 3);
    const a = pool.tryTake(2)!;
    expect(pool.used).toBe(2);
    expect(pool.tryTake(2)).toBeNull();
    pool.retain(a[0]!); // a disk write holds it too
    pool.release(a[0]!);
    expect(pool.used).toBe(2);
    pool.release(a[0]!);
    pool.release(a[1]!);
    expect(pool.used).toBe(0);
    expect(pool.tryTake(3)).toHaveLength(3);
    expect(() => pool.release({ buf: Buffer.alloc(B), refs: 0 })).toThrow(/released more often/);
  });

  it('a read waits for blocks (in order) instead of allocating more; read-ahead does not wait', async () => {
    const pool = new BlockPool(B, 2);
    const held = pool.tryTake(2)!;
    let first: PoolBlock[] | undefined;
    let second: PoolBlock[] | undefined;
    void pool.take(1).then((b) => { first = b; });
    void pool.take(2).then((b) => { second = b; });
    expect(pool.waiting).toBe(2);
    // Read-ahead never jumps the queue.
    pool.release(held[0]!);
    await Promise.resolve();
    expect(first).toHaveLength(1);
    expect(pool.tryTake(1)).toBeNull();
    pool.release(held[1]!);
    pool.release(first![0]!);
    await Promise.resolve();
    expect(second).toHaveLength(2);
    expect(pool.used).toBe(2);
    await expect(pool.take(3)).rejects.toThrow(RangeError);
  });

  it('lets go of its slab only when nothing is held', () => {
    const pool = new BlockPool(B, 2);
    const [b] = pool.tryTake(1)!;
    expect(pool.allocated).toBe(true);
    expect(pool.releaseIdle()).toBe(false);
    pool.release(b!);
    expect(pool.releaseIdle()).toBe(true);
    expect(pool.allocated).toBe(false);
    // Taken again: a new slab.
    expect(pool.tryTake(2)).toHaveLength(2);
  });

  it('short blocks are buffers of their own size, within a quarter of the budget', () => {
    const { pool, cache } = memory(8); // 8,000 bytes: short blocks up to 2,000 in all
    const f = file('small', 100);
    expect(pool.fitsShort(B / 2)).toBe(true);
    expect(pool.fitsShort(B / 2 + 1)).toBe(false);
    const s1 = pool.takeShort(400, true)!;
    expect(s1.buf.length).toBe(400);
    cache.insert(f, 0, s1, 400);
    const g = file('small2', 100);
    cache.insert(g, 0, pool.takeShort(400, true)!, 400);
    expect(pool.usedBytes).toBe(800);
    // Over the short budget: the least recently used short block makes room.
    for (let i = 0; i < 4; i++) cache.insert(file(`s${i}`, 100), 0, pool.takeShort(400, false)!, 400);
    expect(pool.usedBytes).toBeLessThanOrEqual(2000);
    expect(cache.has(f, 0)).toBe(false);
  });
});

describe('BlockCache', () => {
  it('finds a block by its index; copies what was put there', async () => {
    const m = memory(10);
    const f = file('a');
    await put(m, f, 2);
    expect(m.cache.find(f, 1)).toBeUndefined();
    expect(m.cache.find(f, 2)?.block.buf[0]).toBe(2);
    expect(f.cachedBytes).toBe(B);
  });

  it('a read reclaims the least recently used block anywhere when the pool runs out', async () => {
    const m = memory(4);
    const a = file('a');
    const b = file('b');
    await put(m, a, 0);
    await put(m, a, 1);
    await put(m, b, 0);
    await put(m, b, 1);
    m.cache.find(a, 0); // a0 becomes the most recently used
    await put(m, b, 2); // evicts a1
    expect(m.cache.has(a, 1)).toBe(false);
    expect(m.cache.has(a, 0)).toBe(true);
    expect(m.pool.used).toBe(4);
  });

  it('read-ahead reclaims only blocks that are on disk too: it never pushes out what a reader is about to read', async () => {
    const m = memory(2, 2, (index) => index === 0);
    const a = file('a');
    await put(m, a, 0); // on disk
    await put(m, a, 1); // memory only
    expect(m.pool.tryTake(1)).toHaveLength(1); // a0 went
    expect(m.cache.has(a, 0)).toBe(false);
    expect(m.pool.tryTake(1)).toBeNull(); // a1 stays for its reader
    expect(m.cache.has(a, 1)).toBe(true);
  });

  it('keeps one file within its bound: read-ahead is refused when its requests in flight alone exceed it, reads evict its oldest', async () => {
    const m = memory(10, 3);
    const a = file('a');
    await put(m, a, 0);
    await put(m, a, 1);
    expect(m.cache.reserve(a, 2 * B, true)).toBe(true); // evicts a0: 1 cached + 2 in flight
    expect([...a.blocks.keys()]).toEqual([1]);
    expect(m.cache.reserve(a, 2 * B, true)).toBe(false); // 4 in flight > 3
    expect(m.cache.reserve(a, 2 * B, false)).toBe(true); // a read's own blocks always go
    m.cache.settle(a, 4 * B);
    expect(m.cache.stats().inflightBytes).toBe(0);
  });

  it('drops every block of a file, telling when the file holds nothing more; the blocks go back to the pool', async () => {
    const m = memory(10);
    const a = file('a');
    await put(m, a, 0);
    await put(m, a, 5);
    m.cache.drop(a);
    expect(a.cachedBytes).toBe(0);
    expect(m.emptied).toEqual([a]);
    expect(m.pool.used).toBe(0);
  });

  it('drops what a sequential reader left behind, and what is on disk (idle)', async () => {
    const m = memory(10, 10, (index) => index >= 3);
    const a = file('a');
    for (let i = 0; i < 6; i++) await put(m, a, i);
    m.cache.dropBefore(a, 2 * B, B);
    expect([...a.blocks.keys()].sort()).toEqual([2, 3, 4, 5]);
    m.cache.dropOnDisk();
    expect([...a.blocks.keys()]).toEqual([2]);
  });

  it('gives back the block of a superseded version at once', () => {
    const m = memory(10);
    const a = file('a');
    a.superseded = true;
    const [block] = m.pool.tryTake(1)!;
    expect(m.cache.insert(a, 0, block!, B)).toBeUndefined();
    expect(m.cache.has(a, 0)).toBe(false);
    expect(m.pool.used).toBe(0);
  });
});
