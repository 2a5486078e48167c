// Bandwidth limit for transfer bodies (`--bandwidth`): one shared budget per
// direction, like a link of that speed, so parallel part uploads or several
// readers share it instead of each getting the full rate. Works in virtual
// time: each chunk reserves its transmission slot after the previous one and
// waits until that slot ends; a small burst allowance keeps short pauses from
// being lost.
import { setTimeout as sleep } from 'node:timers/promises';

/** Bytes that may pass at once after an idle moment (one typical read chunk). */
const BURST_BYTES = 64 * 1024;

export class Throttle {
  private rate = 0;
  private nextFree = 0;

  constructor(bytesPerSecond = 0) {
    this.setRate(bytesPerSecond);
  }

  setRate(bytesPerSecond: number): void {
    this.rate = bytesPerSecond > 0 ? bytesPerSecond : 0;
    this.nextFree = 0;
  }

  get bytesPerSecond(): number {
    return this.rate;
  }

  /** Waits until `bytes` more may pass. Free when no limit is set. */
  async take(bytes: number, signal?: AbortSignal): Promise<void> {
    if (this.rate === 0 || bytes <= 0) return;
    const now = performance.now();
    const burstMs = (BURST_BYTES / this.rate) * 1000;
    this.nextFree = Math.max(this.nextFree, now - burstMs) + (bytes / this.rate) * 1000;
    const wait = this.nextFree - now;
    if (wait >= 1) await sleep(wait, undefined, signal ? { signal } : undefined).catch(() => undefined);
  }
}
