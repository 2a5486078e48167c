// Metadata cache behaviour through the Filesystem interface: what costs a
// request, what does not, and for how long.
import { describe, expect, it } from 'vitest';
import { expectErrno, setup } from './helpers.js';

describe('attribute cache', () => {
  it('answers getattr from the cache within the TTL, asks again after it', async () => {
    const { fs, client, clock } = setup({ attrTtlMs: 5000 });
    client.serverPut('a.txt', 'hello');
    expect(await fs.getattr('/a.txt')).toMatchObject({ kind: 'file', size: 5, permissions: 0o644, uid: 1000, gid: 1000 });
    expect(client.counts.stat).toBe(1);
    clock.advance(4999);
    await fs.getattr('/a.txt');
    expect(client.counts.stat).toBe(1);
    clock.advance(1);
    await fs.getattr('/a.txt');
    expect(client.counts.stat).toBe(2);
  });

  it('asks every time with attrTtlMs 0', async () => {
    const { fs, client } = setup({ attrTtlMs: 0, dirTtlMs: 0 });
    client.serverPut('a.txt', 'hello');
    await fs.getattr('/a.txt');
    await fs.getattr('/a.txt');
    expect(client.counts.stat).toBe(2);
  });

  it('shows the site root without a request, and a folder as a directory of size 0', async () => {
    const { fs, client } = setup();
    client.serverMkdirs('docs');
    expect(await fs.getattr('/')).toMatchObject({ kind: 'directory', permissions: 0o755, size: 0 });
    expect(client.requests).toBe(0);
    expect(await fs.getattr('/docs')).toMatchObject({ kind: 'directory', size: 0 });
  });

  it('shows provided_mtime when set', async () => {
    const { fs, client } = setup();
    const when = new Date('2010-11-17T20:34:58Z');
    client.serverPut('old.txt', 'x', { mtime: when });
    expect((await fs.getattr('/old.txt')).mtime).toEqual(when);
  });

  it('concurrent lookups of one path share one request', async () => {
    const { fs, client } = setup();
    client.serverPut('a.txt', 'hello');
    client.delay('stat', 20);
    const all = await Promise.all(Array.from({ length: 20 }, (_, i) => fs.getattr(i % 2 ? '/a.txt' : '/A.TXT')));
    expect(all.every((a) => a.size === 5)).toBe(true);
    expect(client.counts.stat).toBe(1);
  });

  it('bounds the number of cached entries', async () => {
    const { fs, client } = setup({ metadataMaxEntries: 10 });
    for (let i = 0; i < 30; i++) client.serverPut(`f${i}`, 'x');
    for (let i = 0; i < 30; i++) await fs.getattr(`/f${i}`);
    expect(fs.context.metadata.stats.entries).toBeLessThanOrEqual(10);
    client.resetCounts();
    await fs.getattr('/f29'); // recent: cached
    await fs.getattr('/f0'); // evicted: asked again
    expect(client.counts.stat).toBe(1);
  });
});

describe('negative entries', () => {
  it('remembers that a path does not exist, for the negative TTL', async () => {
    const { fs, client, clock } = setup({ attrTtlMs: 5000, negativeTtlMs: 2000 });
    await expectErrno(fs.getattr('/missing'), 'ENOENT');
    await expectErrno(fs.getattr('/MISSING'), 'ENOENT');
    expect(client.counts.stat).toBe(1);
    client.serverPut('missing', 'now here');
    clock.advance(1999);
    await expectErrno(fs.getattr('/missing'), 'ENOENT');
    clock.advance(1);
    expect((await fs.getattr('/missing')).size).toBe(8);
    expect(client.counts.stat).toBe(2);
  });

  it('answers a miss in a fresh listing without a request', async () => {
    const { fs, client } = setup();
    client.serverPut('dir/a', '1');
    await fs.readdir('/dir');
    client.resetCounts();
    await expectErrno(fs.getattr('/dir/nope'), 'ENOENT');
    await expectErrno(fs.open('/dir/nope', 0), 'ENOENT');
    expect(client.requests).toBe(0);
  });

  it('names the server cannot hold do not exist, without a request', async () => {
    const { fs, client } = setup();
    client.serverPut('a/b', 'x');
    await expectErrno(fs.getattr('/a\\b'), 'ENOENT'); // the server would read a\b as a/b
    await expectErrno(fs.getattr('/trailing '), 'ENOENT');
    expect(client.requests).toBe(0);
  });
});

describe('listings', () => {
  it('readdir fills the attribute cache: ls -l of 10,000 entries costs ⌈10,000 / per_page⌉ list requests and no stat; again within the TTL costs nothing', async () => {
    const { fs, client } = setup({ listPageSize: 1000 });
    for (let i = 0; i < 10_000; i++) client.serverPut(`big/file-${String(i).padStart(5, '0')}.txt`, 'x'.repeat(i % 100));
    client.resetCounts();
    const lsl = async () => {
      await fs.getattr('/big');
      const fh = await fs.opendir('/big', 0);
      const entries = await fs.readdir('/big');
      await fs.releasedir('/big', fh);
      for (const e of entries) await fs.getattr(`/big/${e.name}`);
      return entries;
    };
    const entries = await lsl();
    expect(entries).toHaveLength(10_000);
    expect(client.counts.list).toBe(10);
    expect(client.counts.stat).toBe(1); // the folder itself (its parent was never listed)
    client.resetCounts();
    await lsl();
    expect(client.requests).toBe(0);
  });

  it('shows the server names in the server order (folders first), with their attributes', async () => {
    const { fs, client } = setup();
    client.serverPut('d/b.txt', 'bb');
    client.serverMkdirs('d/Zeta');
    client.serverPut('d/A.txt', 'a');
    const entries = await fs.readdir('/d');
    expect(entries.map((e) => e.name)).toEqual(['Zeta', 'A.txt', 'b.txt']);
    expect(entries[0]!.attributes.kind).toBe('directory');
    expect(entries[2]!.attributes).toMatchObject({ kind: 'file', size: 2, permissions: 0o644 });
  });

  it('caches the listing for the dir TTL; a change elsewhere shows after it', async () => {
    const { fs, client, clock } = setup({ dirTtlMs: 3000, attrTtlMs: 3000 });
    client.serverPut('d/a', '1');
    await fs.readdir('/d');
    client.serverPut('d/b', '2');
    expect((await fs.readdir('/d')).map((e) => e.name)).toEqual(['a']);
    expect(client.counts.list).toBe(1);
    clock.advance(3000);
    expect((await fs.readdir('/d')).map((e) => e.name)).toEqual(['a', 'b']);
    expect(client.counts.list).toBe(2);
  });

  it('after a listing expired, looking up its names lists the folder once again instead of asking for each name', async () => {
    const { fs, client, clock } = setup({ dirTtlMs: 5000, attrTtlMs: 5000 });
    for (let i = 0; i < 50; i++) client.serverPut(`d/f${i}`, String(i));
    await fs.readdir('/d');
    clock.advance(5000);
    client.serverPut('d/new', 'n');
    client.resetCounts();
    for (let i = 0; i < 50; i++) expect((await fs.getattr(`/d/F${i}`)).size).toBe(String(i).length);
    expect((await fs.getattr('/d/new')).size).toBe(1);
    await expectErrno(fs.getattr('/d/missing'), 'ENOENT');
    expect(client.counts.list).toBe(1);
    expect(client.counts.stat).toBe(0);
  });

  it('lists the folder again however old its listing is: a walk an hour later still costs one request per folder', async () => {
    const { fs, client, clock } = setup({ dirTtlMs: 5000, attrTtlMs: 5000 });
    for (let i = 0; i < 20; i++) client.serverPut(`d/f${i}`, String(i));
    await fs.readdir('/d');
    clock.advance(3_600_000);
    client.resetCounts();
    for (let i = 0; i < 20; i++) expect((await fs.getattr(`/d/f${i}`)).size).toBe(String(i).length);
    expect(client.counts).toMatchObject({ list: 1, stat: 0 });
  });

  it('in an expired listing bigger than a page, the first name missed is one stat, the second lists the folder again', async () => {
    const big = setup({ dirTtlMs: 5000, attrTtlMs: 5000, listPageSize: 10 });
    for (let i = 0; i < 30; i++) big.client.serverPut(`d/f${String(i).padStart(2, '0')}`, '1');
    await big.fs.readdir('/d');
    expect(big.client.counts.list).toBe(3);
    big.clock.advance(5000);
    big.client.resetCounts();
    await big.fs.getattr('/d/f01');
    expect(big.client.counts).toMatchObject({ list: 0, stat: 1 });
    for (let i = 2; i < 30; i++) await big.fs.getattr(`/d/f${String(i).padStart(2, '0')}`);
    // One more name missed, then one listing (three pages) answered the rest.
    expect(big.client.counts).toMatchObject({ list: 3, stat: 1 });
  });

  it('asks for the one name when the folder was never listed, or is gone', async () => {
    const never = setup({ dirTtlMs: 5000, attrTtlMs: 5000 });
    never.client.serverPut('d/a', '1');
    never.client.serverPut('d/b', '1');
    await never.fs.getattr('/d/a');
    await never.fs.getattr('/d/b');
    expect(never.client.counts).toMatchObject({ list: 0, stat: 2 });

    const gone = setup({ dirTtlMs: 5000, attrTtlMs: 5000 });
    gone.client.serverPut('d/a', '1');
    await gone.fs.readdir('/d');
    gone.clock.advance(5000);
    gone.client.serverDelete('d');
    await expectErrno(gone.fs.getattr('/d/a'), 'ENOENT');
  });

  it('lists every time with dirTtlMs 0', async () => {
    const { fs, client } = setup({ dirTtlMs: 0 });
    client.serverPut('d/a', '1');
    await fs.readdir('/d');
    await fs.readdir('/d');
    expect(client.counts.list).toBe(2);
  });

  it('concurrent listings of one folder share one request', async () => {
    const { fs, client } = setup();
    client.serverPut('d/a', '1');
    client.delay('list', 20);
    await Promise.all([fs.readdir('/d'), fs.readdir('/D'), fs.readdir('/d')]);
    expect(client.counts.list).toBe(1);
  });

  it('readdir of a file is ENOTDIR, of a missing folder ENOENT', async () => {
    const { fs, client } = setup();
    client.serverPut('f', 'x');
    await expectErrno(fs.readdir('/f'), 'ENOTDIR');
    await expectErrno(fs.opendir('/f', 0), 'ENOTDIR');
    await expectErrno(fs.readdir('/nope'), 'ENOENT');
  });

  it('a listing that answers "not found" makes the folder missing', async () => {
    const { fs, client } = setup();
    client.serverMkdirs('gone');
    await fs.getattr('/gone');
    client.serverDelete('gone');
    await expectErrno(fs.readdir('/gone'), 'ENOENT');
    client.resetCounts();
    await expectErrno(fs.getattr('/gone'), 'ENOENT');
    expect(client.requests).toBe(0);
  });
});

describe('read-your-writes', () => {
  it('mkdir shows at once in the cached listing and getattr, without a new listing', async () => {
    const { fs, client } = setup();
    client.serverPut('d/a', '1');
    await fs.readdir('/d');
    await expectErrno(fs.getattr('/d/new'), 'ENOENT');
    await fs.mkdir('/d/new', 0o755);
    client.resetCounts();
    expect((await fs.readdir('/d')).map((e) => e.name)).toEqual(['a', 'new']);
    expect((await fs.getattr('/d/new')).kind).toBe('directory');
    expect(client.requests).toBe(0);
  });

  it('a folder made here is filled without requests for a minute; after that, what others put there shows within the TTL however busy the mount is there', async () => {
    const { fs, client, clock } = setup({ dirTtlMs: 5000, attrTtlMs: 5000 });
    await fs.mkdir('/inbox', 0o755);
    client.serverPut('inbox/theirs.txt', 'from another client');
    const names = async (): Promise<string[]> => (await fs.readdir('/inbox')).map((e) => e.name).filter((n) => n.startsWith('t'));
    client.resetCounts();
    // The mount keeps making things in it every 4 s (less than the TTL).
    for (let i = 0; i < 20; i++) {
      clock.advance(4000);
      await fs.mkdir(`/inbox/sub${i}`, 0o755);
      if (i < 10) expect(await names()).toEqual([]); // the mount's own listing: a cp -r asks nothing
    }
    expect(client.counts.list).toBe(0);
    // 80 s of changes, the last one just now: past the minute the listing expired like any other.
    expect(await names()).toEqual(['theirs.txt']);
  });

  it('unlink and rmdir remove at once (from the listing, and as negatives)', async () => {
    const { fs, client } = setup();
    client.serverPut('d/a', '1');
    client.serverMkdirs('d/sub');
    await fs.readdir('/d');
    await fs.unlink('/d/a');
    await fs.rmdir('/d/sub');
    client.resetCounts();
    expect(await fs.readdir('/d')).toEqual([]);
    await expectErrno(fs.getattr('/d/a'), 'ENOENT');
    await expectErrno(fs.getattr('/d/sub'), 'ENOENT');
    expect(client.requests).toBe(0);
  });

  it('a listing in flight during our own change is not cached over it', async () => {
    const { fs, client } = setup();
    client.serverPut('d/a', '1');
    const release = client.gate('list');
    const listing = fs.readdir('/d'); // answers as the server was before the mkdir
    await new Promise((r) => setTimeout(r, 5));
    await fs.mkdir('/d/new', 0o755);
    release();
    await listing;
    expect((await fs.readdir('/d')).map((e) => e.name)).toEqual(['new', 'a']);
  });

  it('utimens sets the time shown at once (touch -d, cp -p), keeping size', async () => {
    const { fs, client } = setup();
    client.serverPut('f.txt', 'abc');
    await fs.getattr('/f.txt');
    const when = new Date('2001-02-03T04:05:06Z');
    await fs.utimens('/f.txt', null, when);
    expect(client.counts.setMtime).toBe(1);
    client.resetCounts();
    expect(await fs.getattr('/f.txt')).toMatchObject({ mtime: when, size: 3 });
    expect(client.requests).toBe(0);
    expect(client.serverStat('f.txt')!.providedMtime).toEqual(when);
  });

  it('remoteChanged (an upload landed) shows the new entry at once', async () => {
    const { fs, client } = setup();
    client.serverPut('d/a', '1');
    await fs.readdir('/d');
    const entry = client.serverPut('d/up.bin', 'uploaded!');
    fs.remoteChanged(entry);
    client.resetCounts();
    expect((await fs.readdir('/d')).map((e) => e.name)).toEqual(['a', 'up.bin']);
    expect((await fs.getattr('/d/up.bin')).size).toBe(9);
    expect(client.requests).toBe(0);
  });

  it('invalidate forgets a path, so the next lookup asks', async () => {
    const { fs, client } = setup();
    client.serverPut('a', '1');
    await fs.getattr('/a');
    client.serverPut('a', '22');
    fs.invalidate('a');
    expect((await fs.getattr('/a')).size).toBe(2);
  });
});
