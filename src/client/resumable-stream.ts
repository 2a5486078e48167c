// The Readable that createReadStream returns: bytes [start, end) of one file
// version, passed through from undici response bodies with no extra copy or
// promise per chunk (events and backpressure only; an async-generator wrapper
// cost a third of the throughput), and resumed after a failure in the middle:
// the next response is opened from the first missing byte, after the retry
// policy's wait, at most `retries` times in a row without progress. Each
// response runs under its stall watch (stall-watch.ts), held while our reader
// applies backpressure: a slow reader is not a stalled server.
import { Readable } from 'node:stream';
import type { Logger } from '../log/logger.js';
import type { ClientStats } from './client-stats.js';
import type { OpenTransfer } from './download.js';
import { FilesError } from './errors.js';
import { abortError, delay, isRetryable, type RetryPolicy } from './retry.js';

export interface ResumableOptions {
  /** The first response (already checked), for bytes from `start`. */
  first: OpenTransfer;
  start: number;
  end: number;
  /** Opens (and checks) a response for bytes from `from`; null when nothing is left. */
  reopen: (from: number, attempt: number) => Promise<OpenTransfer | null>;
  /** Turns a body failure of `transfer` into a FilesError (network/timeout/stall). */
  mapError: (err: unknown, transfer: OpenTransfer) => Error;
  stats: ClientStats;
  policy: RetryPolicy;
  logger: Logger;
  label: string;
  signal?: AbortSignal | undefined;
}

/** Highest number of bytes buffered ahead of the reader. */
const HIGH_WATER_MARK = 1024 * 1024;

export class ResumableDownload extends Readable {
  private transfer: OpenTransfer | null = null;
  private held = false;
  private pos: number;
  private failures = 0;
  private resuming = false;
  private readonly onAbort = () => this.destroy(abortError(this.options.signal!));

  constructor(private readonly options: ResumableOptions) {
    super({ highWaterMark: HIGH_WATER_MARK });
    this.pos = options.start;
    options.signal?.addEventListener('abort', this.onAbort, { once: true });
    this.attach(options.first);
  }

  private attach(transfer: OpenTransfer): void {
    const body = transfer.res.body;
    this.transfer = transfer;
    this.held = false;
    body.on('data', (chunk: Buffer) => {
      if (this.transfer !== transfer) return;
      transfer.watch.received();
      this.options.stats.bytesDown(chunk.length);
      let c = chunk;
      if (c.length > this.options.end - this.pos) c = c.subarray(0, this.options.end - this.pos);
      if (c.length === 0) return;
      this.pos += c.length;
      this.failures = 0;
      if (!this.push(c)) {
        body.pause();
        this.held = true;
        transfer.watch.hold();
      }
    });
    body.once('end', () => {
      if (this.transfer !== transfer) return;
      this.detach();
      if (this.pos >= this.options.end) {
        transfer.done();
        this.push(null);
      } else {
        const err = Object.assign(new Error(`body ended at byte ${this.pos} of ${this.options.end}`), { code: 'UND_ERR_RES_CONTENT_LENGTH_MISMATCH' });
        this.recover(err, transfer);
      }
    });
    body.once('error', (err: Error) => {
      if (this.transfer !== transfer) return;
      this.detach();
      this.recover(err, transfer);
    });
  }

  private detach(): void {
    if (this.transfer && this.held) this.transfer.watch.release();
    this.held = false;
    this.transfer = null;
  }

  override _read(): void {
    if (!this.transfer) return;
    if (this.held) {
      this.held = false;
      this.transfer.watch.release();
    }
    this.transfer.res.body.resume();
  }

  private recover(err: unknown, broken: OpenTransfer | undefined): void {
    const mapped = err instanceof FilesError || !broken ? err : this.options.mapError(err, broken);
    broken?.done(mapped);
    if (this.destroyed || this.resuming) return;
    const { policy, signal } = this.options;
    if (signal?.aborted) return void this.destroy(abortError(signal));
    const failure = mapped instanceof Error ? mapped : new Error(String(mapped));
    if (!isRetryable(failure) || this.failures >= policy.retries) return void this.destroy(failure);
    this.failures++;
    this.options.stats.retry();
    const wait = policy.delayMs(this.failures, failure);
    this.options.logger.debug(`${this.options.label}: transfer broke at byte ${this.pos} (${failure.message}); resuming in ${wait} ms`);
    this.resuming = true;
    void (async () => {
      try {
        await delay(wait, signal);
        if (this.destroyed) return;
        const next = await this.options.reopen(this.pos, this.failures + 1);
        if (this.destroyed) {
          next?.res.body.destroy();
          next?.done(new Error('the stream was closed'));
          return;
        }
        this.resuming = false;
        if (!next) this.push(null);
        else this.attach(next);
      } catch (e) {
        this.resuming = false;
        this.recover(e, undefined);
      }
    })();
  }

  override _destroy(err: Error | null, callback: (error?: Error | null) => void): void {
    this.options.signal?.removeEventListener('abort', this.onAbort);
    const transfer = this.transfer;
    this.detach();
    if (transfer) {
      if (!transfer.res.body.destroyed) transfer.res.body.destroy();
      transfer.done(err ?? new Error('the stream was closed'));
    }
    callback(err);
  }
}
