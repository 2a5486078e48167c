import { describe, expect, test } from 'vitest';
import { trimMallocHeap } from '../../src/fuse/filesfs-fuse.js';
import { IDLE_CHECK_MS, IdleRelease, QUIET_CPU_SHARE, WORTH_RELEASING_CPU_MS } from '../../src/fuse/idle-release.js';

/** A process whose CPU clock the test moves, and which counts collections and trims. */
function fakeProcess() {
  const p = { cpuMs: 0, collected: 0, trimmed: 0 };
  const deps = {
    cpuMicros: () => p.cpuMs * 1000,
    collect: () => {
      p.collected++;
      p.cpuMs += 30; // a full collection costs CPU of its own
    },
    trim: () => {
      p.trimmed++;
    },
  };
  return { p, release: new IdleRelease(deps, IDLE_CHECK_MS) };
}

const busy = IDLE_CHECK_MS * 0.5;
const quiet = IDLE_CHECK_MS * QUIET_CPU_SHARE * 0.5;

describe('IdleRelease: memory back to the system once the process is quiet after work', () => {
  test('work, then a quiet interval: one collection and one trim; further quiet intervals do nothing', () => {
    const { p, release } = fakeProcess();
    p.cpuMs += busy;
    expect(release.check()).toBe(false); // busy: nothing yet
    p.cpuMs += quiet;
    expect(release.check()).toBe(true);
    expect(p).toMatchObject({ collected: 1, trimmed: 1 });
    // The collection's own CPU is not mistaken for work.
    for (let i = 0; i < 3; i++) {
      p.cpuMs += quiet;
      expect(release.check()).toBe(false);
    }
    expect(p).toMatchObject({ collected: 1, trimmed: 1 });
  });

  test('nothing while the process stays busy; a new quiet period after new work releases again', () => {
    const { p, release } = fakeProcess();
    for (let i = 0; i < 5; i++) {
      p.cpuMs += busy;
      expect(release.check()).toBe(false);
    }
    expect(p.collected).toBe(0);
    p.cpuMs += quiet;
    expect(release.check()).toBe(true);
    p.cpuMs += busy;
    release.check();
    p.cpuMs += quiet;
    expect(release.check()).toBe(true);
    expect(p).toMatchObject({ collected: 2, trimmed: 2 });
  });

  test('a mount that did little (below the threshold of work) is left alone', () => {
    const { p, release } = fakeProcess();
    const little = IDLE_CHECK_MS * QUIET_CPU_SHARE * 2; // busy for the check, but less than worth releasing
    expect(little).toBeLessThan(WORTH_RELEASING_CPU_MS);
    p.cpuMs += little;
    release.check();
    p.cpuMs += quiet;
    expect(release.check()).toBe(false);
    expect(p.collected).toBe(0);
  });
});

test('the binding can trim malloc\'s heap on this machine (glibc)', () => {
  expect(trimMallocHeap()).toBe(true);
});
