// The stall deadline of a data transfer (a range GET, a streamed download, a
// part PUT): the request is aborted when no bytes have moved, either way, for
// longer than its allowed silence; how long the whole transfer takes does not
// matter. The abort reason is a StallError (a TimeoutError), and undici
// destroys the socket, so the connection is not reused.
//
// Allowed silence = stallTimeoutMs, plus, while a request body is being sent,
// the time the operating system may need to send what it has already taken
// from us. We see a request body's progress only as undici pulls chunks of
// it, and the kernel buffers megabytes: on loopback, a server that never read
// a byte still let 4.1–4.25 MiB in (the sender's 4 MiB buffer,
// net.ipv4.tcp_wmem, and some of the receiver's); one reading 10 MiB at
// 256 KiB/s left up to 4.9 MiB in the buffers, so chunks were taken in bursts
// up to 19 s apart (31 s with two parts sharing the link) and the answer came
// up to 19 s after the last one. So the extra allowance is
//   min(bytes pulled, SEND_BUFFER_BYTES) / rate
// where rate is a low estimate of the connection's speed, the largest of:
//   - SLOWEST_LINK_BYTES_PER_S (512 kbit/s);
//   - half the slowest of the client's recent parts (LinkRate): once a part
//     has gone through, a stall is told from a slow link quickly;
//   - the bytes that must have left already, with a margin for buffers
//     larger than we think: (pulled − 2 × SEND_BUFFER_BYTES) / elapsed.
// A transfer on a connection that moves at least 512 kbit/s (or half its
// recent speed) never trips while bytes flow; a stalled part after fast ones
// is caught after stallTimeoutMs and a fraction of a second. Response bytes
// are seen as they arrive: no allowance is needed for them.
//
// While the consumer holds the body (a stream reader applying backpressure)
// the watch is paused: we stopped the bytes, not the server.
//
// Patience (upload parts): the wait for the answer, once the body has gone,
// may be cut short well before stallTimeoutMs. A request the server lost
// (a dropped connection, a proxy that ate it) is then sent again after about
// as long as recent answers took (hedging.ts patienceMs, at least 0.5 s), plus
// the same allowance for buffered bytes, instead of after the full stall
// timeout. Each early cut takes a token from the hedging budget (at most 5 %
// extra requests); without one the watch waits the full time.
import { TimeoutError } from './errors.js';
import { followSignals } from './follow-signals.js';

/** Bytes the kernels (ours and the receiver's) may hold of a request body: Linux's 4 MiB send buffer and more (measured up to 4.9 MiB). */
export const SEND_BUFFER_BYTES = 5 * 1024 * 1024;
/** The slowest connection whose buffered bytes are waited for: 512 kbit/s. */
export const SLOWEST_LINK_BYTES_PER_S = 64 * 1024;
/** The most a watch ever adds for buffered bytes (full buffers at the slowest rate: 80 s). */
export const MAX_SEND_ALLOWANCE_MS = (SEND_BUFFER_BYTES / SLOWEST_LINK_BYTES_PER_S) * 1000;

/** A transfer stopped because no bytes moved (kind `timeout`). */
export class StallError extends TimeoutError {}

/** Parts (request bodies) whose speed is remembered. */
const RATE_SAMPLES = 8;
/** Bodies smaller than this say more about latency than about the link: not sampled. */
const MIN_RATE_SAMPLE_BYTES = 1024 * 1024;

/**
 * The speed of the client's recent request bodies (upload parts), one
 * connection each: a stall watch expects at least half the slowest of them.
 */
export class LinkRate {
  private readonly rates: number[] = [];

  record(bytes: number, ms: number): void {
    if (bytes < MIN_RATE_SAMPLE_BYTES || ms <= 0) return;
    this.rates.push((bytes / ms) * 1000);
    if (this.rates.length > RATE_SAMPLES) this.rates.shift();
  }

  /** Bytes per second a connection can be expected to move now (0 when unknown). */
  expected(): number {
    return this.rates.length === 0 ? 0 : Math.min(...this.rates) / 2;
  }
}

/** Cutting the wait for an answer short (see Patience above the imports). */
export interface Patience {
  /** Silence allowed before the answer, instead of stallMs (the buffered bytes' allowance is added). */
  readonly ms: number;
  /** Asked when that silence has passed: true (a token was taken) aborts now, false waits for stallMs. */
  readonly take: () => boolean;
}

export class StallWatch {
  private readonly controller = new AbortController();
  private readonly unlink: () => void;
  private timer: NodeJS.Timeout | undefined;
  private last: number;
  private started: number;
  private pulled = 0;
  private sending = false;
  private holds = 0;
  private done = false;
  /** The answer (its headers) has begun: patience no longer applies. */
  private answered = false;
  /** Patience asked for a token and got none: wait the full stall time. */
  private patient = false;

  constructor(
    private readonly stallMs: number,
    parents: ReadonlyArray<AbortSignal | undefined>,
    private readonly label: string,
    private readonly onStall: () => void = () => undefined,
    /** Bytes per second this connection should manage (LinkRate.expected()); 0 when unknown. */
    private readonly expectedRate = 0,
    private readonly patience?: Patience,
  ) {
    this.started = this.last = performance.now();
    this.unlink = followSignals(this.controller, parents);
    if (!this.controller.signal.aborted) this.arm(this.firstCheckMs());
  }

  /** When the first check is due: at the patience, when it is the shorter wait. */
  private firstCheckMs(): number {
    return this.patience && this.patience.ms < this.stallMs ? this.patience.ms : this.stallMs;
  }

  /** Aborted on a stall, or when a parent signal aborts. */
  get signal(): AbortSignal {
    return this.controller.signal;
  }

  /** True when this watch (not a parent) stopped the transfer. */
  get stalled(): boolean {
    return this.controller.signal.aborted && this.controller.signal.reason instanceof StallError;
  }

  /** `bytes` of the request body were taken by the connection. */
  sent(bytes: number): void {
    this.sending = true;
    this.pulled += bytes;
    this.last = performance.now();
  }

  /** Response bytes (or its headers) arrived: the request body, if any, was all delivered. */
  received(): void {
    this.sending = false;
    this.answered = true;
    this.last = performance.now();
  }

  /** Milliseconds since the transfer began: since connected() for one that waited for its connection. */
  elapsedMs(now = performance.now()): number {
    return now - this.started;
  }

  /** Milliseconds from the last request byte taken to now (call at the answer: its latency). */
  sinceSent(now = performance.now()): number {
    return now - this.last;
  }

  /** The consumer stopped reading (backpressure); silence is not the server's. */
  hold(): void {
    this.holds++;
  }

  release(): void {
    if (this.holds > 0 && --this.holds === 0) {
      this.last = performance.now();
      if (this.done || this.controller.signal.aborted) return;
      if (this.timer) clearTimeout(this.timer);
      this.arm(this.firstCheckMs());
    }
  }

  /**
   * The request was waiting for a connection (the caller held the watch
   * from the start) and has one now: the transfer, and its silence, count
   * from here.
   */
  connected(): void {
    this.started = performance.now();
    this.release();
  }

  /** The longest silence allowed now (with `baseMs` instead of stallMs: the patience's). */
  allowedSilenceMs(now = performance.now(), baseMs = this.stallMs): number {
    if (!this.sending || this.pulled === 0) return baseMs;
    const elapsedS = Math.max(0.001, (now - this.started) / 1000);
    const rate = Math.max(SLOWEST_LINK_BYTES_PER_S, this.expectedRate, (this.pulled - 2 * SEND_BUFFER_BYTES) / elapsedS);
    return baseMs + (Math.min(this.pulled, SEND_BUFFER_BYTES) / rate) * 1000;
  }

  /** Stops watching (the transfer is over, whatever its outcome). */
  dispose(): void {
    this.done = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    this.unlink();
  }

  private arm(ms: number): void {
    this.timer = setTimeout(() => this.check(), Math.max(1, ms));
  }

  private check(): void {
    this.timer = undefined;
    if (this.done || this.controller.signal.aborted) return;
    const now = performance.now();
    if (this.holds > 0) return this.arm(this.stallMs);
    const silent = now - this.last;
    const allowed = this.allowedSilenceMs(now);
    if (silent < allowed && this.patience && !this.answered && !this.patient && this.patience.ms < this.stallMs) {
      const short = this.allowedSilenceMs(now, this.patience.ms);
      if (silent < short) return this.arm(short - silent);
      if (this.patience.take()) {
        this.onStall();
        this.controller.abort(new StallError({ message: `${this.label}: no answer ${(silent / 1000).toFixed(1)} s after the request was sent, longer than recent answers took; sending it again`, operation: this.label }));
        return;
      }
      this.patient = true;
    }
    if (silent < allowed) return this.arm(allowed - silent);
    this.onStall();
    this.controller.abort(new StallError({ message: `${this.label}: no data moved for ${(silent / 1000).toFixed(1)} s (stall timeout ${this.stallMs / 1000} s)`, operation: this.label }));
  }
}
