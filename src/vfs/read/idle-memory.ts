// Giving memory back: promptly while files are read, and all of it once the
// mount is idle.
//
// While files are read, the network leaves garbage behind: Node reads each
// socket into a new buffer (up to 64 KiB), which the client copies into the
// pool (block-pool.ts) and drops at once. Those buffers die young, but V8
// collects the young generation when its JavaScript objects fill it, or when
// external memory has grown by tens of MiB: between two collections, tens of
// MiB of dead buffers piled up in malloc's heap, and malloc's heap does not
// shrink (measured: peak 183 MiB for a 2 GiB cat with a 16 MiB pool). So the
// read path asks for a young-generation collection (a scavenge: ~1 ms, it
// touches only what is alive in the young generation) every
// YOUNG_GC_EVERY_BYTES received (GarbagePacer).
//
// An idle process allocates nothing, so V8 never collects, and the process
// kept its peak size for good (measured: 460 MiB resident minutes after 20
// parallel cats had finished). So once nothing was read for IDLE_MS, the
// read path lets go of what is on disk anyway and of its pool, and one full
// collection runs, which returns the pool's slab (one mapping) and the dead
// buffers to the system. Once per idle period, not on a schedule: a mount
// nobody reads costs nothing.
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';

/** Quiet time after which memory is given back. */
export const IDLE_MS = 5_000;
/** Network bytes received between two young-generation collections. */
export const YOUNG_GC_EVERY_BYTES = 4 * 1024 * 1024;

type Gc = (options?: { type?: 'major' | 'minor'; execution?: 'sync' | 'async' }) => void;

let gc: Gc | null | undefined;

function gcFunction(): Gc | null {
  if (gc === undefined) {
    try {
      setFlagsFromString('--expose-gc');
      gc = runInNewContext('gc') as Gc;
      if (typeof gc !== 'function') gc = null;
    } catch {
      gc = null;
    }
  }
  return gc;
}

/** Runs a full garbage collection (V8's gc(), made available at run time); false if it cannot. */
export function collectGarbage(): boolean {
  const f = gcFunction();
  f?.();
  return f !== null;
}

/** Runs a young-generation collection (a scavenge: frees buffers that died young). */
export function collectYoungGarbage(): boolean {
  const f = gcFunction();
  f?.({ type: 'minor' });
  return f !== null;
}

export class IdleMemory {
  private readSinceCheck = false;
  private readSinceRelease = false;
  private timer: NodeJS.Timeout | undefined;
  private closed = false;

  /** `release` lets go of what can go; then `collect` runs (default: a full GC). */
  constructor(private readonly release: () => unknown, private readonly collect: () => unknown = collectGarbage, private readonly idleMs = IDLE_MS) {}

  /** Something was read now. */
  active(): void {
    this.readSinceCheck = true;
    this.readSinceRelease = true;
    if (this.timer || this.closed) return;
    this.timer = setInterval(() => this.check(), this.idleMs);
    this.timer.unref();
  }

  /** One idle check (the timer's; tests call it). */
  check(): void {
    if (this.readSinceCheck) {
      this.readSinceCheck = false;
      return;
    }
    this.stop();
    if (!this.readSinceRelease) return;
    this.readSinceRelease = false;
    this.release();
    this.collect();
  }

  close(): void {
    this.closed = true;
    this.stop();
  }

  private stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
  }
}

/** Asks for a young-generation collection every YOUNG_GC_EVERY_BYTES received. */
export class GarbagePacer {
  private bytes = 0;

  constructor(private readonly every = YOUNG_GC_EVERY_BYTES, private readonly collect: () => unknown = collectYoungGarbage) {}

  /** `n` more bytes came from the network (a bound function: pass it as a callback). */
  readonly received = (n: number): void => {
    this.bytes += n;
    if (this.bytes < this.every) return;
    this.bytes = 0;
    this.collect();
  };
}
