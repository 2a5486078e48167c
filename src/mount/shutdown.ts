// How a mount stops, in one ordered list: the beforeUnmount hooks (e.g. the
// write-back drain), then the kernel unmount, then the afterUnmount hooks.
// Every way of asking (SIGINT, SIGTERM, `filesfs unmount`, the mount vanishing
// from outside) calls `request`, which starts the stop once and returns the
// same promise to everyone.
//
// A forced request (the second SIGINT, `filesfs unmount --force`) aborts the
// hook in progress: it gets FORCE_GRACE_MS to record what is left and return,
// the hooks after it are called with force=true, and the kernel unmount
// follows at once. A failing hook is logged and never prevents the unmount:
// the process must not exit leaving a mount behind.
import type { Logger } from '../log/logger.js';
import type { ProgressUpdate } from '../control/index.js';
import type { Named, ShutdownHook } from './lifecycle.js';

/** How long a hook may take to return after a forced stop aborted it. */
export const FORCE_GRACE_MS = 2_000;

export interface ShutdownSteps {
  beforeUnmount: readonly Named<ShutdownHook>[];
  /** Removes the kernel mount; rejects when it cannot (the caller has a lazy fallback inside). */
  unmount: () => Promise<void>;
  afterUnmount: readonly Named<() => Promise<void>>[];
  logger: Logger;
}

export interface ShutdownOutcome {
  /** The kernel mount is gone. */
  unmounted: boolean;
  /** A hook or the unmount failed (logged). */
  failures: string[];
  /** Work the hooks left undone (e.g. uploads left in the journal), one line each. */
  leftUndone: string[];
  forced: boolean;
}

export class Shutdown {
  readonly #steps: ShutdownSteps;
  readonly #force = new AbortController();
  readonly #listeners = new Set<(update: ProgressUpdate) => void>();
  #running: Promise<ShutdownOutcome> | undefined;
  #reason: string | undefined;
  #finish!: (outcome: ShutdownOutcome) => void;
  /** Resolves when a stop, however requested, is over. */
  readonly finished: Promise<ShutdownOutcome>;

  constructor(steps: ShutdownSteps) {
    this.#steps = steps;
    this.finished = new Promise((resolve) => { this.#finish = resolve; });
  }

  get started(): boolean {
    return this.#running !== undefined;
  }

  /** There are steps that wait (e.g. a drain), so "again to force" means something. */
  get hasWaitingSteps(): boolean {
    return this.#steps.beforeUnmount.length > 0;
  }

  get forced(): boolean {
    return this.#force.signal.aborted;
  }

  /** Why the stop started (first request), for messages. */
  get reason(): string | undefined {
    return this.#reason;
  }

  /** Starts the stop (once) and resolves when it is over; `force` also skips what is left of the waiting. */
  request(reason: string, options: { force?: boolean } = {}): Promise<ShutdownOutcome> {
    if (!this.#running) {
      this.#reason = reason;
      this.#steps.logger.info('%s: unmounting', reason);
      this.#running = this.#run();
      void this.#running.then(this.#finish);
    }
    if (options.force) this.force(reason);
    return this.#running;
  }

  /** Stops waiting for the hooks. */
  force(reason: string): void {
    if (this.#force.signal.aborted) return;
    this.#force.abort(new Error(reason));
    this.#steps.logger.warn('%s: unmounting at once, without waiting for the shutdown steps to finish', reason);
  }

  /** Progress lines of the hooks go to `listener` until the returned function is called. */
  subscribe(listener: (update: ProgressUpdate) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  #progress(message: string, data?: Record<string, unknown>): void {
    this.#steps.logger.info('%s', message);
    for (const listener of this.#listeners) {
      try {
        listener({ ...data, message });
      } catch {
        // A listener that fails (its client went away) must not stop the shutdown.
      }
    }
  }

  async #run(): Promise<ShutdownOutcome> {
    const { logger } = this.#steps;
    const failures: string[] = [];
    const leftUndone: string[] = [];
    for (const { name, hook } of this.#steps.beforeUnmount) {
      const error = await this.#runHook(name, hook, leftUndone);
      if (error) failures.push(error);
    }
    let unmounted = false;
    try {
      await this.#steps.unmount();
      unmounted = true;
    } catch (err) {
      const message = `unmount failed: ${err instanceof Error ? err.message : String(err)}`;
      logger.error('%s', message);
      failures.push(message);
    }
    for (const { name, hook } of this.#steps.afterUnmount) {
      try {
        await hook();
      } catch (err) {
        const message = `${name} failed: ${err instanceof Error ? err.message : String(err)}`;
        logger.error('%s', message);
        failures.push(message);
      }
    }
    return { unmounted, failures, leftUndone, forced: this.forced };
  }

  /** Runs one hook; resolves to an error line, or undefined when it succeeded. */
  async #runHook(name: string, hook: ShutdownHook, leftUndone: string[]): Promise<string | undefined> {
    const { logger } = this.#steps;
    const forceSignal = this.#force.signal;
    const force = forceSignal.aborted;
    const context = { force, signal: forceSignal, progress: (m: string, d?: Record<string, unknown>) => this.#progress(m, d), leftUndone: (summary: string) => { leftUndone.push(summary); } };
    const hookDone = (async () => hook(context))().then(
      () => undefined,
      (err: unknown) => `${name} failed: ${err instanceof Error ? err.message : String(err)}`,
    );
    const forced = new Promise<'forced'>((resolve) => {
      if (forceSignal.aborted) resolve('forced');
      else forceSignal.addEventListener('abort', () => resolve('forced'), { once: true });
    });
    let outcome = await Promise.race([hookDone, forced.then(() => 'forced' as const)]);
    if (outcome === 'forced') {
      let timer: NodeJS.Timeout | undefined;
      const grace = new Promise<'late'>((resolve) => { timer = setTimeout(() => resolve('late'), FORCE_GRACE_MS); });
      outcome = await Promise.race([hookDone, grace]);
      clearTimeout(timer);
      if (outcome === 'late') {
        logger.warn('%s did not return within %d ms of the forced stop; unmounting without it', name, FORCE_GRACE_MS);
        return undefined;
      }
    }
    if (outcome) logger.error('%s', outcome);
    return outcome;
  }
}
