// Is the API server answering? When FAILURES_TO_UNREACHABLE API requests in
// a row ended without any HTTP answer (refused, reset, DNS, TLS, no answer
// within the deadline), over at least SILENCE_TO_UNREACHABLE_MS, the server
// is "unreachable since T (last error …)"; the first HTTP answer of any status
// (even a 5xx: the server is there) makes it reachable again. Hedges count
// like any request, and so does a request stopped by its deadline; a request
// we aborted ourselves (a lost hedge, the caller's abort) says nothing and is
// not counted.
//
// Both conditions, because failures in a row come in bursts from servers that
// are there: keep-alive connections closed while we were idle fail together
// in a millisecond, and a server resetting 20 % of connections fails three in
// a row every ~125 requests (the fault tests saw it) while answering the
// others. A server that is down fails every request, for as long as it is
// down: with the defaults it is unreachable within one call's budget (15 s,
// deadlines.ts) when it hangs, and after the third retry (3.5 s) when it
// refuses connections.
//
// While unreachable, an API request does not run its retry schedule against a
// server that is not there:
//   - one request at a time is let through as a probe (one attempt, no hedge,
//     the first-attempt deadline): its answer ends the outage;
//   - every other request waits for that probe (at most its deadline) and
//     then goes on if the server answered, or fails with
//     ServerUnreachableError.
// So, while unreachable, a metadata call fails within one metadataTimeout
// (5 s with the defaults), and a call that began while the server was still
// reachable within its budget (15 s). With no request to act as one, a probe
// (a one-entry listing of the site root) is sent after PROBE_FIRST_MS, then
// with doubling pauses up to PROBE_MAX_MS, until the server answers: the
// filesystem, serving from its caches meanwhile, learns that the server is
// back without a user's request having to fail first.
import type { Logger } from '../log/logger.js';
import { ServerUnreachableError, type FilesError } from './errors.js';
import { abortError } from './retry.js';

export { ServerUnreachableError } from './errors.js';

export const FAILURES_TO_UNREACHABLE = 3;
/** ...spread over at least this long without an answer. */
export const SILENCE_TO_UNREACHABLE_MS = 2_000;
/** First background probe after the server became unreachable. */
export const PROBE_FIRST_MS = 1_000;
/** Longest pause between background probes. */
export const PROBE_MAX_MS = 30_000;

export interface HealthSnapshot {
  readonly state: 'reachable' | 'unreachable';
  /** When the failures that made it unreachable began (unreachable only). */
  readonly since: Date | null;
  /** The last failure's message (never a secret: FilesError messages carry none). */
  readonly lastError: string | null;
  /** API requests in a row that ended without an answer. */
  readonly consecutiveFailures: number;
  /** The last time any API request got an answer. */
  readonly lastAnswer: Date | null;
}

/** What admit() lets a caller do. */
export type Admission = 'go' | 'probe';

export class Health {
  private failures = 0;
  private firstFailureAt: number | null = null;
  private lastError: string | null = null;
  private lastAnswerAt: number | null = null;
  private down = false;
  private probing: Promise<void> | undefined;
  private endProbe: (() => void) | undefined;
  private probeTimer: NodeJS.Timeout | undefined;
  private probePause = PROBE_FIRST_MS;
  private closed = false;
  private readonly listeners = new Set<(snapshot: HealthSnapshot) => void>();

  constructor(
    private readonly logger: Logger,
    /** Sends one probe request (one attempt, no hedge); its outcome is reported like any request's. */
    private readonly probe: () => Promise<void>,
    private readonly now: () => number = Date.now,
  ) {}

  get unreachable(): boolean {
    return this.down;
  }

  snapshot(): HealthSnapshot {
    return Object.freeze({
      state: this.down ? 'unreachable' : 'reachable',
      since: this.down && this.firstFailureAt !== null ? new Date(this.firstFailureAt) : null,
      lastError: this.lastError,
      consecutiveFailures: this.failures,
      lastAnswer: this.lastAnswerAt === null ? null : new Date(this.lastAnswerAt),
    });
  }

  /** Called on every change of state (reachable ↔ unreachable). */
  onChange(listener: (snapshot: HealthSnapshot) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** An API request got an HTTP answer. */
  answered(): void {
    this.lastAnswerAt = this.now();
    this.failures = 0;
    this.firstFailureAt = null;
    if (!this.down) return;
    this.down = false;
    this.stopProbing();
    this.logger.info('the server answers again');
    this.emit();
  }

  /** An API request ended without an answer (network error or deadline). */
  failed(err: FilesError): void {
    const now = this.now();
    this.failures++;
    this.firstFailureAt ??= now;
    this.lastError = err.message;
    if (this.down || this.failures < FAILURES_TO_UNREACHABLE || now - this.firstFailureAt < SILENCE_TO_UNREACHABLE_MS) return;
    this.down = true;
    this.logger.warn(`the server is unreachable (${this.failures} requests in a row without an answer for ${Math.round((now - this.firstFailureAt) / 1000)} s; last: ${err.message}); requests fail fast until it answers again`);
    this.emit();
    this.scheduleProbe(PROBE_FIRST_MS);
  }

  /**
   * Before an API attempt: 'go' while reachable; while unreachable, 'probe'
   * for the one caller that becomes the probe (it must call probeDone()),
   * and for the others a wait for that probe, then 'go' if the server
   * answered, else ServerUnreachableError. `maxWaitMs` bounds the wait.
   */
  async admit(signal: AbortSignal | undefined, maxWaitMs: number, label: string): Promise<Admission> {
    for (;;) {
      if (!this.down) return 'go';
      if (signal?.aborted) throw abortError(signal);
      if (!this.probing) {
        this.probing = new Promise<void>((resolve) => {
          this.endProbe = resolve;
        });
        return 'probe';
      }
      const answered = await this.waitForProbe(signal, maxWaitMs);
      if (!answered) throw this.unreachableError(label);
    }
  }

  /** The probe admitted by admit() is over (whatever its outcome). */
  probeDone(): void {
    const end = this.endProbe;
    this.probing = undefined;
    this.endProbe = undefined;
    end?.();
  }

  unreachableError(label: string): ServerUnreachableError {
    const since = this.firstFailureAt === null ? '' : ` since ${new Date(this.firstFailureAt).toISOString()}`;
    return new ServerUnreachableError({
      message: `${label}: the server is unreachable${since} (last error: ${this.lastError ?? 'none'})`,
      operation: label,
    });
  }

  close(): void {
    this.closed = true;
    this.stopProbing();
    this.probeDone();
  }

  /** Resolves true when the probe found the server, false when it did not or `maxWaitMs` passed. */
  private async waitForProbe(signal: AbortSignal | undefined, maxWaitMs: number): Promise<boolean> {
    const probing = this.probing!;
    let timer: NodeJS.Timeout | undefined;
    let onAbort: (() => void) | undefined;
    try {
      await new Promise<void>((resolve, reject) => {
        timer = setTimeout(resolve, maxWaitMs);
        if (signal) {
          onAbort = () => reject(abortError(signal));
          signal.addEventListener('abort', onAbort, { once: true });
        }
        void probing.then(resolve);
      });
    } finally {
      if (timer) clearTimeout(timer);
      if (onAbort) signal?.removeEventListener('abort', onAbort);
    }
    return !this.down;
  }

  private scheduleProbe(ms: number): void {
    if (this.closed || this.probeTimer) return;
    this.probePause = ms;
    this.probeTimer = setTimeout(() => {
      this.probeTimer = undefined;
      if (!this.down || this.closed) return;
      const next = Math.min(PROBE_MAX_MS, this.probePause * 2);
      // A request already probing is as good as ours.
      if (this.probing) return this.scheduleProbe(next);
      this.probing = new Promise<void>((resolve) => {
        this.endProbe = resolve;
      });
      void this.probe()
        .catch(() => undefined)
        .finally(() => {
          this.probeDone();
          if (this.down) this.scheduleProbe(next);
        });
    }, ms);
    this.probeTimer.unref();
  }

  private stopProbing(): void {
    if (this.probeTimer) clearTimeout(this.probeTimer);
    this.probeTimer = undefined;
  }

  private emit(): void {
    const snap = this.snapshot();
    for (const l of this.listeners) {
      try {
        l(snap);
      } catch (err) {
        this.logger.debug(`health listener failed: ${(err as Error).message}`);
      }
    }
  }
}
