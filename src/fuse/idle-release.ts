// Giving the mount process's memory back once it has nothing to do.
//
// Moving file content leaves garbage behind in V8 (socket buffers, upload
// reads, range buffers) and in malloc, which keeps the pages of what V8
// frees for later: a mount that copied a few GiB stayed at its peak size for
// good (measured: 170 MiB resident 20 s after a 1 GiB write had landed, 90
// before it). The read path gives back what it holds when reads stop
// (vfs/read/idle-memory.ts); this covers the whole process, whatever it did
// (writes, uploads, listings): once the process, busy before, has used
// almost no CPU for a check interval, one full collection runs and malloc
// returns its free pages to the system (the binding's malloc_trim). Once per
// quiet period, not on a schedule: a mount nobody uses costs nothing.
//
// An earlier setting let V8's old generation grow 400 % between full
// collections (libfuse 2.9's 128 KiB requests made ~90 of them per GiB
// read). With libfuse 3's 1 MiB requests a GiB read takes 2 either way
// (--trace-gc), and the setting only let the heap grow: 100 MiB of heap
// for 2,000 small files copied in and out at 10 % faults, 141 MiB peak
// resident instead of 182 without it.
import { collectGarbage } from '../vfs/index.js';
import { trimMallocHeap } from './filesfs-fuse.js';

/** How often the process's CPU use is looked at. */
export const IDLE_CHECK_MS = 5_000;
/** At most this share of one core over a check interval counts as quiet (the timers of a mounted filesystem use less). */
export const QUIET_CPU_SHARE = 0.02;
/** CPU used since the last release below which there is nothing worth giving back (a few requests allocate little). */
export const WORTH_RELEASING_CPU_MS = 500;

export interface IdleReleaseDeps {
  /** CPU time used by the process so far, microseconds (process.cpuUsage). */
  cpuMicros(): number;
  /** A full garbage collection. */
  collect(): unknown;
  /** malloc's free pages back to the system. */
  trim(): unknown;
}

const processDeps: IdleReleaseDeps = {
  cpuMicros: () => {
    const { user, system } = process.cpuUsage();
    return user + system;
  },
  collect: collectGarbage,
  trim: trimMallocHeap,
};

export class IdleRelease {
  private lastCpu: number;
  private workSinceRelease = 0;
  private timer: NodeJS.Timeout | undefined;

  constructor(private readonly deps: IdleReleaseDeps = processDeps, private readonly checkMs = IDLE_CHECK_MS) {
    this.lastCpu = deps.cpuMicros();
  }

  start(): void {
    if (this.timer) return;
    this.timer = setInterval(() => this.check(), this.checkMs);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
  }

  /** One check (the timer's; tests call it): true when memory was given back. */
  check(): boolean {
    const now = this.deps.cpuMicros();
    const usedMs = (now - this.lastCpu) / 1000;
    this.lastCpu = now;
    if (usedMs > this.checkMs * QUIET_CPU_SHARE) {
      this.workSinceRelease += usedMs;
      return false;
    }
    if (this.workSinceRelease < WORTH_RELEASING_CPU_MS) return false;
    this.workSinceRelease = 0;
    this.deps.collect();
    this.deps.trim();
    // The collection's own CPU is not work to release after.
    this.lastCpu = this.deps.cpuMicros();
    return true;
  }
}

let processRelease: IdleRelease | undefined;

/** Starts the process's idle release (once per process: it serves the mount for its life). */
export function releaseMemoryWhenIdle(): void {
  processRelease ??= new IdleRelease();
  processRelease.start();
}
