// LockTable: POSIX range locks of the programs on this machine, per file.
import { describe, expect, it } from 'vitest';
import { LockTable } from '../../../src/vfs/locks/lock-table.js';

describe('LockTable', () => {
  it('two read locks share; a write lock conflicts with any overlapping lock of another owner', () => {
    const t = new LockTable();
    t.set({ owner: 'a', type: 'read', start: 0, end: 100, pid: 1 });
    expect(t.conflict({ owner: 'b', type: 'read', start: 50, end: 60 })).toBeUndefined();
    expect(t.conflict({ owner: 'b', type: 'write', start: 50, end: 60 })).toMatchObject({ owner: 'a', pid: 1 });
    expect(t.conflict({ owner: 'b', type: 'write', start: 100, end: 200 })).toBeUndefined(); // end is exclusive
    expect(t.conflict({ owner: 'a', type: 'write', start: 0, end: 100 })).toBeUndefined(); // one's own locks never conflict
    expect(t.hasWriteLock).toBe(false);
  });

  it('unlocking the middle of a lock splits it; setting a range replaces the owner’s locks there', () => {
    const t = new LockTable();
    t.set({ owner: 'a', type: 'write', start: 0, end: Infinity, pid: 1 });
    t.remove('a', 10, 20);
    expect(t.conflict({ owner: 'b', type: 'write', start: 10, end: 20 })).toBeUndefined();
    expect(t.conflict({ owner: 'b', type: 'write', start: 5, end: 11 })).toBeDefined();
    expect(t.conflict({ owner: 'b', type: 'read', start: 1_000_000, end: 1_000_001 })).toBeDefined();
    // Downgrading part of it to a read lock lets readers in there only.
    t.set({ owner: 'a', type: 'read', start: 0, end: 10, pid: 1 });
    expect(t.conflict({ owner: 'b', type: 'read', start: 0, end: 10 })).toBeUndefined();
    expect(t.conflict({ owner: 'b', type: 'read', start: 20, end: 30 })).toBeDefined();
    expect(t.hasWriteLock).toBe(true);
    t.remove('a');
    expect(t.empty).toBe(true);
  });

  it('adjacent locks of one owner and type merge; owners are listed once', () => {
    const t = new LockTable();
    t.set({ owner: 'a', type: 'read', start: 0, end: 10, pid: 1 });
    t.set({ owner: 'a', type: 'read', start: 10, end: 20, pid: 1 });
    t.set({ owner: 'b', type: 'read', start: 0, end: 5, pid: 2 });
    expect(t.owners().sort()).toEqual(['a', 'b']);
    t.remove('a', 0, 20);
    expect(t.owners()).toEqual(['b']);
  });
});
