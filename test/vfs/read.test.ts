// The read path: read-ahead on the wire, random reads, shared blocks, memory
// bounds, versions.
import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { ContentChangedError, NetworkError } from '../../src/client/errors.js';
import { expectErrno, KiB, MiB, O_RDONLY, pattern, readAll, readAt, readHash, setup } from './helpers.js';

const sha256 = (b: Buffer): string => createHash('sha256').update(b).digest('hex');

describe('sequential reads', () => {
  it('cat of a 256 MiB file in 128 KiB reads: ≤ 64 range requests, ≥ 4 MiB once sequential, identical bytes', async () => {
    const { fs, client } = setup();
    const data = pattern(256 * MiB, 7);
    client.serverPut('big.bin', data);
    expect(await readHash(fs, '/big.bin', 128 * KiB)).toEqual({ sha256: sha256(data), size: data.length });
    const ranges = client.ranges;
    expect(ranges.length).toBeLessThanOrEqual(64);
    // 1 and 2 MiB while the window ramps up, then ≥ 4 MiB except the tail.
    expect(ranges.slice(2, -1).every((r) => r.length >= 4 * MiB)).toBe(true);
    // No byte fetched twice.
    expect(ranges.reduce((n, r) => n + r.length, 0)).toBe(256 * MiB);
  });

  it('keeps two requests in flight ahead of a reader (parallel range requests, as many as memory holds)', async () => {
    const { fs, client } = setup();
    client.serverPut('big.bin', pattern(64 * MiB));
    let inflight = 0;
    let most = 0;
    client.on('readRange', async () => {
      inflight++;
      most = Math.max(most, inflight);
      await new Promise((r) => setTimeout(r, 5));
      inflight--;
    });
    await readAll(fs, '/big.bin');
    expect(most).toBeGreaterThanOrEqual(2);
  });

  it('a first short read at offset 0 (head -c) fetches only the initial window', async () => {
    const { fs, client } = setup();
    client.serverPut('f.bin', pattern(100 * MiB));
    const fh = await fs.open('/f.bin', O_RDONLY);
    await readAt(fs, '/f.bin', fh, 0, 4 * KiB);
    expect(client.ranges).toEqual([{ path: 'f.bin', offset: 0, length: 1 * MiB }]);
  });

  it('a small file is fetched in one request', async () => {
    const { fs, client } = setup();
    client.serverPut('small.txt', 'hello world');
    expect((await readAll(fs, '/small.txt')).toString()).toBe('hello world');
    expect(client.ranges).toEqual([{ path: 'small.txt', offset: 0, length: 11 }]);
  });

  it('reads at or after the end return 0; a read across the end returns the rest', async () => {
    const { fs, client } = setup();
    client.serverPut('f', '0123456789');
    const fh = await fs.open('/f', O_RDONLY);
    expect((await readAt(fs, '/f', fh, 8, 100)).toString()).toBe('89');
    expect((await readAt(fs, '/f', fh, 10, 100)).length).toBe(0);
    expect((await readAt(fs, '/f', fh, 1000, 100)).length).toBe(0);
    client.serverPut('empty', '');
    const e = await fs.open('/empty', O_RDONLY);
    expect((await readAt(fs, '/empty', e, 0, 100)).length).toBe(0);
    expect(client.ranges.filter((r) => r.path === 'empty')).toEqual([]);
  });
});

describe('random reads', () => {
  it('fetch only the aligned blocks they touch, never the read-ahead window', async () => {
    const { fs, client } = setup();
    const data = pattern(64 * MiB, 3);
    client.serverPut('r.bin', data);
    const fh = await fs.open('/r.bin', O_RDONLY);
    const offsets = [40 * MiB + 100, 3 * MiB + 5000, 60 * MiB, 17 * MiB + 256 * KiB - 2000];
    for (const o of offsets) expect(sha256(await readAt(fs, '/r.bin', fh, o, 4 * KiB))).toBe(sha256(data.subarray(o, o + 4 * KiB)));
    expect(client.ranges).toEqual([
      { path: 'r.bin', offset: 40 * MiB, length: 256 * KiB },
      { path: 'r.bin', offset: 3 * MiB, length: 256 * KiB },
      { path: 'r.bin', offset: 60 * MiB, length: 256 * KiB },
      // a read across a block boundary: both blocks, in one request
      { path: 'r.bin', offset: 17 * MiB, length: 512 * KiB },
    ]);
  });

  it('a random read of cached blocks costs nothing; the window shrinks back after a sequential run', async () => {
    const { fs, client } = setup();
    const data = pattern(64 * MiB, 5);
    client.serverPut('r.bin', data);
    const fh = await fs.open('/r.bin', O_RDONLY);
    for (let p = 0; p < 16 * MiB; p += 128 * KiB) await readAt(fs, '/r.bin', fh, p, 128 * KiB);
    const before = client.ranges.length;
    await readAt(fs, '/r.bin', fh, 16 * MiB - 512 * KiB, 4 * KiB); // cached, just behind the reader
    await readAt(fs, '/r.bin', fh, 20 * MiB, 4 * KiB); // requested ahead
    expect(client.ranges.length).toBe(before);
    await readAt(fs, '/r.bin', fh, 50 * MiB, 4 * KiB); // far away: one block only
    expect(client.ranges.slice(before)).toEqual([{ path: 'r.bin', offset: 50 * MiB, length: 256 * KiB }]);
  });
});

describe('behind a sequential reader', () => {
  it('a lone reader of a large file keeps only 1 MiB behind it: the kernel has the rest', async () => {
    const { fs, client } = setup();
    client.serverPut('big.bin', pattern(96 * MiB, 3));
    const fh = await fs.open('/big.bin', O_RDONLY);
    for (let p = 0; p < 80 * MiB; p += 128 * KiB) await readAt(fs, '/big.bin', fh, p, 128 * KiB);
    const { cachedBytes, inflightBytes } = fs.context.contents.blocks.stats();
    // What is left: the window ahead (16 MiB to the end), the segment being read, 1 MiB behind.
    expect(cachedBytes + inflightBytes).toBeLessThanOrEqual(16 * MiB + 8 * MiB + 1 * MiB);
    const before = client.ranges.length;
    expect((await readAt(fs, '/big.bin', fh, 4 * MiB, 4 * KiB)).equals(pattern(96 * MiB, 3).subarray(4 * MiB, 4 * MiB + 4 * KiB))).toBe(true);
    expect(client.ranges.length).toBe(before + 1);
  });
});

describe('sharing', () => {
  it('two handles on one file version share the fetched blocks', async () => {
    const { fs, client } = setup();
    const data = pattern(8 * MiB, 9);
    client.serverPut('s.bin', data);
    const a = await fs.open('/s.bin', O_RDONLY);
    const b = await fs.open('/S.BIN', O_RDONLY);
    const x = await readAt(fs, '/s.bin', a, 2 * MiB, 64 * KiB);
    const requests = client.ranges.length;
    const y = await readAt(fs, '/s.bin', b, 2 * MiB, 64 * KiB);
    expect(y.equals(x)).toBe(true);
    expect(client.ranges.length).toBe(requests);
  });

  it('concurrent sequential readers of one file fetch each byte once', async () => {
    const { fs, client } = setup();
    const data = pattern(32 * MiB, 11);
    client.serverPut('c.bin', data);
    client.delay('readRange', 2);
    const [x, y] = await Promise.all([readAll(fs, '/c.bin'), readAll(fs, '/c.bin')]);
    expect(sha256(x)).toBe(sha256(data));
    expect(sha256(y)).toBe(sha256(data));
    expect(client.ranges.reduce((n, r) => n + r.length, 0)).toBe(32 * MiB);
  });

  it('re-opening an unchanged file reads from memory', async () => {
    const { fs, client } = setup();
    client.serverPut('f', pattern(3 * MiB));
    await readAll(fs, '/f');
    client.resetCounts();
    await readAll(fs, '/f');
    expect(client.counts.readRange).toBe(0);
    expect(client.counts.invalidateDownload).toBe(0);
  });
});

describe('memory bounds', () => {
  const small = {
    readBlockSize: 64 * KiB,
    readAheadInitialBytes: 256 * KiB,
    readAheadMaxBytes: 1 * MiB,
    readRequestMaxBytes: 512 * KiB,
    readCachePerFileBytes: 2 * MiB,
    readCacheTotalBytes: 3 * MiB,
  };

  it('never holds more than the per-file and total bounds (cached + in flight)', async () => {
    const { fs, client } = setup(small);
    const files = ['a', 'b', 'c'].map((n, i) => {
      const data = pattern(8 * MiB, i + 20);
      client.serverPut(n, data);
      return { path: `/${n}`, data };
    });
    const handles = await Promise.all(files.map((f) => fs.open(f.path, O_RDONLY)));
    const out = files.map(() => [] as Buffer[]);
    let worst = 0;
    const check = () => {
      const s = fs.context.contents.blocks.stats();
      worst = Math.max(worst, s.cachedBytes + s.inflightBytes);
      expect(s.cachedBytes + s.inflightBytes).toBeLessThanOrEqual(small.readCacheTotalBytes);
      for (const f of files) {
        const c = fs.context.contents.current(f.path.slice(1));
        if (c) expect(c.cachedBytes + c.inflightBytes).toBeLessThanOrEqual(small.readCachePerFileBytes);
      }
    };
    client.on('readRange', check);
    // Interleaved sequential readers plus random reads.
    for (let p = 0; p < 8 * MiB; p += 128 * KiB) {
      for (let i = 0; i < files.length; i++) {
        out[i]!.push(await readAt(fs, files[i]!.path, handles[i]!, p, 128 * KiB));
        check();
      }
      if (p % MiB === 0) await readAt(fs, '/a', handles[0]!, (p * 7) % (8 * MiB), 4 * KiB);
    }
    for (let i = 0; i < files.length; i++) expect(sha256(Buffer.concat(out[i]!))).toBe(sha256(files[i]!.data));
    expect(worst).toBeGreaterThan(2 * MiB); // the bound was actually reached
  });

  it('the default bounds hold while reading a 256 MiB file', async () => {
    const { fs, client } = setup();
    client.serverPut('big', Buffer.alloc(256 * MiB, 1));
    let worst = 0;
    client.on('readRange', () => {
      const s = fs.context.contents.blocks.stats();
      worst = Math.max(worst, s.cachedBytes + s.inflightBytes);
    });
    expect((await readHash(fs, '/big')).size).toBe(256 * MiB);
    expect(worst).toBeLessThanOrEqual(64 * MiB);
  });
});

describe('versions', () => {
  it('a file changed on the server between opens is read anew, never mixed (close-to-open after the TTL)', async () => {
    const { fs, client, clock } = setup({ attrTtlMs: 1000 });
    const v1 = pattern(4 * MiB, 1);
    const v2 = pattern(4 * MiB + 10, 2);
    client.serverPut('v.bin', v1);
    expect(sha256(await readAll(fs, '/v.bin'))).toBe(sha256(v1));
    clock.advance(1000);
    client.serverPut('v.bin', v2);
    client.resetCounts();
    expect(sha256(await readAll(fs, '/v.bin'))).toBe(sha256(v2));
    expect(client.counts.stat).toBe(1);
    expect(client.calls.filter((c) => c.method === 'invalidateDownload').map((c) => c.path)).toContain('v.bin');
  });

  it('with attrTtlMs 0, every open asks the server (even when a listing knows the file)', async () => {
    const { fs, client } = setup({ attrTtlMs: 0 });
    client.serverPut('d/v.bin', 'one');
    await fs.readdir('/d');
    client.resetCounts();
    expect((await readAll(fs, '/d/v.bin')).toString()).toBe('one');
    client.serverPut('d/v.bin', 'two!');
    expect((await readAll(fs, '/d/v.bin')).toString()).toBe('two!');
    expect(client.counts.stat).toBe(2);
  });

  it('a handle on a superseded version fails with ESTALE instead of mixing versions', async () => {
    const { fs, client, clock } = setup({ attrTtlMs: 1000 });
    client.serverPut('v.bin', pattern(8 * MiB, 1), { mtime: new Date('2020-01-01T00:00:00Z') });
    const old = await fs.open('/v.bin', O_RDONLY);
    await readAt(fs, '/v.bin', old, 0, 128 * KiB);
    clock.advance(1000);
    client.serverPut('v.bin', pattern(8 * MiB, 2), { mtime: new Date('2021-01-01T00:00:00Z') });
    const fresh = await fs.open('/v.bin', O_RDONLY);
    expect((await readAt(fs, '/v.bin', fresh, 6 * MiB, 16)).equals(pattern(8 * MiB, 2).subarray(6 * MiB, 6 * MiB + 16))).toBe(true);
    await expectErrno(readAt(fs, '/v.bin', old, 6 * MiB, 16), 'ESTALE');
  });

  it('a response shorter than the version promises (file shrank on the server) is ESTALE', async () => {
    const { fs, client, logs } = setup();
    client.serverPut('s.bin', pattern(2 * MiB));
    const fh = await fs.open('/s.bin', O_RDONLY);
    client.serverPut('s.bin', pattern(100));
    await expectErrno(readAt(fs, '/s.bin', fh, 1 * MiB, 16), 'ESTALE');
    expect(logs.some((l) => l.includes('changed on the server'))).toBe(true);
  });

  it("the client's ContentChangedError supersedes the version: ESTALE, and a new open reads the new content", async () => {
    const { fs, client } = setup();
    client.serverPut('c.bin', pattern(2 * MiB, 1));
    const fh = await fs.open('/c.bin', O_RDONLY);
    client.serverPut('c.bin', pattern(2 * MiB, 2)); // same size: only the ETag tells
    client.failNext('readRange', new ContentChangedError({ message: 'ETag differs' }));
    await expectErrno(readAt(fs, '/c.bin', fh, 0, 16), 'ESTALE');
    await expectErrno(readAt(fs, '/c.bin', fh, 0, 16), 'ESTALE');
    client.resetCounts();
    expect(sha256(await readAll(fs, '/c.bin'))).toBe(sha256(pattern(2 * MiB, 2)));
    expect(client.counts.stat).toBe(1); // its metadata was forgotten too
  });

  it('our own utimens keeps the cached content (same bytes, new time)', async () => {
    const { fs, client } = setup();
    client.serverPut('t.bin', pattern(1 * MiB));
    const fh = await fs.open('/t.bin', O_RDONLY);
    await readAt(fs, '/t.bin', fh, 0, 128 * KiB);
    await fs.utimens('/t.bin', null, new Date('2001-01-01T00:00:00Z'));
    client.resetCounts();
    expect((await readAt(fs, '/t.bin', fh, 512 * KiB, 16)).length).toBe(16);
    await readAll(fs, '/t.bin');
    expect(client.counts.readRange).toBe(0);
  });
});

describe('failures', () => {
  it('a read whose request fails (after one retry of the read-ahead it joined) fails; the next read asks again', async () => {
    const { fs, client } = setup();
    const data = pattern(2 * MiB);
    client.serverPut('f', data);
    const fh = await fs.open('/f', O_RDONLY);
    const err = new NetworkError({ message: 'connection reset' });
    client.failNext('readRange', err, 2); // the read-ahead the read joined, then the read's own request
    const failure = await readAt(fs, '/f', fh, 0, 16).catch((e: unknown) => e);
    expect(failure).toMatchObject({ code: 'EIO' });
    expect((failure as Error).cause).toBe(err);
    expect((await readAt(fs, '/f', fh, 0, 16)).equals(data.subarray(0, 16))).toBe(true);
    expect(fs.context.contents.blocks.stats().inflightBytes).toBe(0);
  });

  it('a failed read-ahead does not fail reads that do not need it', async () => {
    const { fs, client } = setup();
    const data = pattern(16 * MiB);
    client.serverPut('f', data);
    const fh = await fs.open('/f', O_RDONLY);
    await readAt(fs, '/f', fh, 0, 128 * KiB); // requests [0, 1 MiB)
    client.failNext('readRange', new NetworkError({ message: 'reset' })); // the next read-ahead, [1, 3 MiB)
    expect((await readAt(fs, '/f', fh, 128 * KiB, 128 * KiB)).equals(data.subarray(128 * KiB, 256 * KiB))).toBe(true);
    // The hole is fetched on demand when the reader gets there.
    const rest = await readAt(fs, '/f', fh, 1 * MiB, 128 * KiB);
    expect(rest.equals(data.subarray(1 * MiB, 1 * MiB + 128 * KiB))).toBe(true);
  });

  it('EBADF for an unknown handle; release forgets the handle', async () => {
    const { fs, client } = setup();
    client.serverPut('f', 'x');
    await expectErrno(fs.read('/f', 42, Buffer.alloc(1), 0), 'EBADF');
    const fh = await fs.open('/f', O_RDONLY);
    expect(fs.openHandles.files).toBe(1);
    await fs.release('/f', fh);
    expect(fs.openHandles.files).toBe(0);
    await expectErrno(fs.read('/f', fh, Buffer.alloc(1), 0), 'EBADF');
  });

  it('open of a folder is EISDIR, of a missing file ENOENT', async () => {
    const { fs, client } = setup();
    client.serverMkdirs('d');
    await expectErrno(fs.open('/d', O_RDONLY), 'EISDIR');
    await expectErrno(fs.open('/nope', O_RDONLY), 'ENOENT');
  });

  it('fgetattr answers through the handle, even after the file was deleted', async () => {
    const { fs, client } = setup();
    client.serverPut('f', 'abc');
    const fh = await fs.open('/f', O_RDONLY);
    expect((await fs.fgetattr('/f', fh)).size).toBe(3);
    await fs.unlink('/f');
    expect((await fs.fgetattr('/f', fh)).size).toBe(3);
  });
});
