// Giving memory back: a scavenge every few MiB received while reading, and
// everything that can go once nothing was read for a while (once per quiet
// period, not on a schedule).
import { describe, expect, it } from 'vitest';
import { collectGarbage, GarbagePacer, IdleMemory } from '../../src/vfs/read/idle-memory.js';

describe('IdleMemory', () => {
  it('lets go once a whole period passed without a read, and not again until something is read', () => {
    const calls: string[] = [];
    const idle = new IdleMemory(() => calls.push('release'), () => calls.push('collect'), 1_000_000);
    idle.check(); // nothing read yet
    expect(calls).toEqual([]);
    idle.active();
    idle.check(); // a read in this period: not idle yet
    expect(calls).toEqual([]);
    idle.check();
    expect(calls).toEqual(['release', 'collect']);
    idle.check();
    expect(calls).toEqual(['release', 'collect']);
    idle.active();
    idle.check();
    idle.check();
    expect(calls).toEqual(['release', 'collect', 'release', 'collect']);
    idle.close();
  });

  it('a full collection is available at run time', () => {
    expect(collectGarbage()).toBe(true);
  });
});

describe('GarbagePacer', () => {
  it('asks for a young-generation collection every N bytes received', () => {
    let collections = 0;
    const pacer = new GarbagePacer(100, () => collections++);
    for (let i = 0; i < 25; i++) pacer.received(10);
    expect(collections).toBe(2);
  });
});
