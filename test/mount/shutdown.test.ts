// The mount's stop sequence without a kernel: hooks in order, then the
// unmount, then the after-unmount hooks; one stop however many ask; a forced
// stop cuts the waiting short; a failing step never prevents the unmount.
import { describe, expect, test } from 'vitest';
import { createLogger } from '../../src/log/logger.js';
import type { Named, ShutdownContext, ShutdownHook } from '../../src/mount/lifecycle.js';
import { FORCE_GRACE_MS, Shutdown } from '../../src/mount/shutdown.js';

function setup(before: Array<Named<ShutdownHook>>, options: { unmountFails?: boolean } = {}) {
  const events: string[] = [];
  const lines: string[] = [];
  const shutdown = new Shutdown({
    beforeUnmount: before,
    unmount: async () => {
      events.push('unmount');
      if (options.unmountFails) throw new Error('device busy');
    },
    afterUnmount: [{ name: 'close journal', hook: async () => { events.push('after'); } }],
    logger: createLogger({ level: 'debug', sink: (l) => lines.push(l) }),
  });
  return { shutdown, events, lines };
}

describe('Shutdown', () => {
  test('runs the hooks in order, then unmounts, then the after hooks; progress reaches subscribers', async () => {
    const order: string[] = [];
    const { shutdown, events, lines } = setup([
      { name: 'drain', hook: async (c) => { order.push(`drain force=${c.force}`); c.progress('3 files left', { files: 3 }); c.progress('done'); } },
      { name: 'flush', hook: async () => { order.push('flush'); } },
    ]);
    const seen: string[] = [];
    const unsubscribe = shutdown.subscribe((p) => seen.push(`${p.message}${p.files ? ` (${p.files})` : ''}`));
    const outcome = await shutdown.request('SIGTERM received');
    unsubscribe();
    expect([...order, ...events]).toEqual(['drain force=false', 'flush', 'unmount', 'after']);
    expect(seen).toEqual(['3 files left (3)', 'done']);
    expect(outcome).toEqual({ unmounted: true, failures: [], forced: false, leftUndone: [] });
    expect(lines.some((l) => l.includes('SIGTERM received: unmounting'))).toBe(true);
    expect(lines.some((l) => l.includes('3 files left'))).toBe(true);
  });

  test('with nothing registered it goes straight to the unmount', async () => {
    const { shutdown, events } = setup([]);
    expect(shutdown.hasWaitingSteps).toBe(false);
    expect(await shutdown.request('x')).toMatchObject({ unmounted: true });
    expect(events).toEqual(['unmount', 'after']);
  });

  test('every request gets the same stop; `finished` resolves with it', async () => {
    let release!: () => void;
    const { shutdown, events } = setup([{ name: 'slow', hook: () => new Promise<void>((r) => { release = r; }) }]);
    const a = shutdown.request('SIGINT received');
    const b = shutdown.request('unmount requested');
    expect(shutdown.started).toBe(true);
    expect(shutdown.reason).toBe('SIGINT received');
    release();
    expect(await a).toBe(await b);
    expect(await shutdown.finished).toBe(await a);
    expect(events).toEqual(['unmount', 'after']);
  });

  test('a forced stop aborts the waiting hook, calls the rest with force, and unmounts at once', async () => {
    const contexts: ShutdownContext[] = [];
    const { shutdown, events, lines } = setup([
      {
        name: 'drain',
        hook: async (c) => {
          contexts.push(c);
          await new Promise<void>((r) => c.signal.addEventListener('abort', () => r()));
          c.progress('2 uploads stay in the journal');
        },
      },
      { name: 'second', hook: async (c) => { contexts.push(c); } },
    ]);
    const stopping = shutdown.request('SIGINT received');
    await new Promise((r) => setTimeout(r, 20));
    expect(events).toEqual([]);
    void shutdown.request('SIGINT received again', { force: true });
    const outcome = await stopping;
    expect(outcome).toEqual({ unmounted: true, failures: [], forced: true, leftUndone: [] });
    expect(contexts.map((c) => c.force)).toEqual([false, true]);
    expect(contexts[0]!.signal.aborted).toBe(true);
    expect(events).toEqual(['unmount', 'after']);
    expect(lines.some((l) => l.includes('SIGINT received again: unmounting at once'))).toBe(true);
    expect(lines.some((l) => l.includes('2 uploads stay in the journal'))).toBe(true);
  });

  test('a hook that ignores the forced stop gets a short grace, then the unmount goes on', async () => {
    const { shutdown, events, lines } = setup([{ name: 'stubborn', hook: () => new Promise<void>(() => undefined) }]);
    const stopping = shutdown.request('SIGINT received');
    const started = Date.now();
    shutdown.force('SIGINT received again');
    await stopping;
    expect(Date.now() - started).toBeGreaterThanOrEqual(FORCE_GRACE_MS - 50);
    expect(events).toEqual(['unmount', 'after']);
    expect(lines.some((l) => l.includes('stubborn did not return'))).toBe(true);
  });

  test('a failing hook is reported and does not prevent the unmount; a failing unmount is reported', async () => {
    const { shutdown, events } = setup([{ name: 'drain', hook: async () => { throw new Error('server refused'); } }]);
    expect(await shutdown.request('x')).toEqual({ unmounted: true, failures: ['drain failed: server refused'], forced: false, leftUndone: [] });
    expect(events).toEqual(['unmount', 'after']);
    const second = setup([], { unmountFails: true });
    expect(await second.shutdown.request('x')).toEqual({ unmounted: false, failures: ['unmount failed: device busy'], forced: false, leftUndone: [] });
    expect(second.events).toEqual(['unmount', 'after']);
  });
});
