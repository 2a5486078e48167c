import { describe, expect, it } from 'vitest';
import { HandleTable } from '../../src/vfs/handles/handle-table.js';
import { SingleFlight } from '../../src/vfs/single-flight.js';
import { FsError } from '../../src/vfs/fs-error.js';

describe('SingleFlight', () => {
  it('shares one call among concurrent callers of a key, not across keys', async () => {
    const flights = new SingleFlight<number>();
    let calls = 0;
    const work = async () => {
      calls++;
      await new Promise((r) => setTimeout(r, 5));
      return calls;
    };
    const results = await Promise.all([flights.run('a', work), flights.run('a', work), flights.run('b', work)]);
    expect(calls).toBe(2);
    expect(results[0]).toBe(results[1]);
    expect(flights.size).toBe(0);
    await flights.run('a', work);
    expect(calls).toBe(3);
  });

  it('a forgotten flight is stale, and later callers start a new one', async () => {
    const flights = new SingleFlight<string>();
    let release!: () => void;
    const seen: boolean[] = [];
    const first = flights.run('k', async (f) => {
      await new Promise<void>((r) => (release = r));
      seen.push(f.stale);
      return 'old';
    });
    flights.forget('k');
    const second = flights.run('k', async (f) => {
      seen.push(f.stale);
      return 'new';
    });
    release();
    expect(await first).toBe('old');
    expect(await second).toBe('new');
    expect(seen).toEqual([false, true]);
  });

  it('shares a failure too, and forgets it', async () => {
    const flights = new SingleFlight<number>();
    let calls = 0;
    const work = async () => {
      calls++;
      throw new Error('boom');
    };
    const settled = await Promise.allSettled([flights.run('x', work), flights.run('x', work)]);
    expect(settled.map((s) => s.status)).toEqual(['rejected', 'rejected']);
    expect(calls).toBe(1);
    expect(flights.size).toBe(0);
  });
});

describe('HandleTable', () => {
  it('allocates numbers from 1 and answers EBADF for unknown ones', () => {
    const table = new HandleTable<string>();
    const a = table.add('a');
    const b = table.add('b');
    expect(a).toBe(1);
    expect(b).toBe(2);
    expect(table.get(a)).toBe('a');
    expect(table.remove(a)).toBe('a');
    expect(() => table.get(a)).toThrow(FsError);
    expect(() => table.get(0)).toThrow(expect.objectContaining({ code: 'EBADF' }));
    expect(table.add('c')).toBe(3);
    expect(table.size).toBe(2);
  });
});
