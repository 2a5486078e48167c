// When the server fails or is down, what was last seen is better than EIO
// (docs/semantics.md, "When the server is down"): expired attributes and
// listings are served after a transient failure, and at once, without a
// request, while the client counts the server as unreachable; definite
// answers (not found) still count; a read that went well never ends in EIO
// because the kernel asked for the attributes again; what was never seen
// fails with EIO.
import { describe, expect, it } from 'vitest';
import { NetworkError, NotFoundError, ServerError, TimeoutError } from '../../src/client/errors.js';
import { expectErrno, O_RDONLY, readAll, setup } from './helpers.js';

const reset = (): NetworkError => new NetworkError({ message: 'socket hang up' });

describe('a transient failure serves what was last seen', () => {
  it('expired attributes: getattr answers from the cache when the stat fails (network, timeout, 5xx)', async () => {
    const { fs, client, clock, logs } = setup({ attrTtlMs: 1000, dirTtlMs: 1000 });
    client.serverPut('a.txt', 'hello');
    expect((await fs.getattr('/a.txt')).size).toBe(5);
    for (const failure of [reset(), new TimeoutError({ message: 'no answer within 5 s' }), new ServerError({ message: 'Internal Server Error', status: 500 })]) {
      clock.advance(1000);
      client.failNext('stat', failure);
      expect((await fs.getattr('/a.txt')).size).toBe(5);
    }
    expect(logs.some((l) => /serving what was last seen/.test(l))).toBe(true);
  });

  it('a definite answer still counts: not found after the TTL is ENOENT', async () => {
    const { fs, client, clock } = setup({ attrTtlMs: 1000, dirTtlMs: 1000 });
    client.serverPut('a.txt', 'hello');
    await fs.getattr('/a.txt');
    client.serverDelete('a.txt');
    clock.advance(1000);
    await expectErrno(fs.getattr('/a.txt'), 'ENOENT');
  });

  it('an expired listing: readdir and lookups of its names answer from it when the new listing fails', async () => {
    const { fs, client, clock } = setup({ attrTtlMs: 1000, dirTtlMs: 1000 });
    client.serverPut('d/a', '1');
    client.serverPut('d/b', '22');
    await fs.readdir('/d');
    clock.advance(5000);
    client.failNext('list', reset(), 3);
    expect((await fs.readdir('/d')).map((e) => e.name)).toEqual(['a', 'b']);
    // The kernel's lookups re-list the folder (expired): that fails too, the names are still answered.
    expect((await fs.getattr('/d/b')).size).toBe(2);
    await expectErrno(fs.getattr('/d/missing'), 'ENOENT');
  });

  it('what was never seen fails with EIO', async () => {
    const { fs, client } = setup();
    client.serverPut('a.txt', 'x');
    client.failNext('stat', reset());
    await expectErrno(fs.getattr('/a.txt'), 'EIO');
  });

  it('a read that reached the end never turns into EIO because the attributes were asked again and the server failed', async () => {
    const { fs, client, clock } = setup({ attrTtlMs: 1000, dirTtlMs: 1000, metadataMaxEntries: 1 });
    client.serverPut('d/big.bin', Buffer.alloc(300_000, 7));
    client.serverPut('d/other', 'x');
    const fh = await fs.open('/d/big.bin', O_RDONLY);
    const buf = Buffer.alloc(300_000);
    expect(await fs.read('/d/big.bin', fh, buf, 0)).toBe(300_000);
    expect(await fs.read('/d/big.bin', fh, buf, 300_000)).toBe(0);
    // The entry is gone from the (tiny) cache, the TTL is over, and the server fails: the handle shows what it reads.
    await fs.getattr('/d/other');
    clock.advance(5000);
    client.failNext('stat', reset(), 10);
    client.failNext('list', reset(), 10);
    expect((await fs.fgetattr('/d/big.bin', fh)).size).toBe(300_000);
    await fs.release('/d/big.bin', fh);
  });
});

describe('while the server is unreachable', () => {
  it('the tree as last seen stays browsable without a request; cached contents are read; what was never seen is EIO', async () => {
    const { fs, client, clock, logs } = setup({ attrTtlMs: 1000, dirTtlMs: 1000 });
    client.serverPut('docs/a.txt', 'alpha');
    client.serverPut('docs/sub/b.txt', 'beta');
    client.serverPut('docs/unread.txt', 'never read');
    client.serverPut('other/x', 'in a folder never listed');
    await fs.readdir('/');
    await fs.readdir('/docs');
    await fs.readdir('/docs/sub');
    expect((await readAll(fs, '/docs/a.txt')).toString()).toBe('alpha');
    clock.advance(60_000);
    client.setHealth('unreachable');
    client.resetCounts();
    // Every request would fail from now on.
    for (const m of ['stat', 'list', 'readRange'] as const) client.failNext(m, reset(), Infinity);

    expect((await fs.readdir('/docs')).map((e) => e.name)).toEqual(['sub', 'a.txt', 'unread.txt']);
    expect((await fs.getattr('/docs/sub/b.txt')).size).toBe(4);
    await expectErrno(fs.getattr('/docs/nothing-here'), 'ENOENT');
    expect((await readAll(fs, '/docs/a.txt')).toString()).toBe('alpha');
    expect(client.counts.stat + client.counts.list).toBe(0);
    expect(logs.filter((l) => /WARN/.test(l) && /serving files and folders as last seen/.test(l))).toHaveLength(1);

    // Content never fetched cannot be read; a path never seen cannot be looked up.
    const fh = await fs.open('/docs/unread.txt', O_RDONLY);
    await expectErrno(fs.read('/docs/unread.txt', fh, Buffer.alloc(10), 0), 'EIO');
    await fs.release('/docs/unread.txt', fh);
    await expectErrno(fs.getattr('/other/x'), 'EIO');
    // ... while a name the last listing did not have does not exist.
    await expectErrno(fs.getattr('/elsewhere'), 'ENOENT');
  });

  it('not found stays not found', async () => {
    const { fs, client, clock } = setup({ attrTtlMs: 1000, dirTtlMs: 1000 });
    client.serverPut('a', '1');
    await fs.getattr('/a');
    client.serverDelete('a');
    clock.advance(1000);
    client.failNext('stat', new NotFoundError({ message: 'Not Found', status: 404 }));
    await expectErrno(fs.getattr('/a'), 'ENOENT');
    client.setHealth('unreachable');
    clock.advance(1000);
    await expectErrno(fs.getattr('/a'), 'ENOENT');
  });
});
