// What every request shares to stay bounded and observable: the counters
// (client-stats.ts), the hedging thresholds and budget (hedging.ts), the
// server's health (health.ts), the timing options, and a look at the
// connection pool. Built once per client (http-files-client.ts) and handed
// to the API layer, downloads and uploads.
import type { ClientStats } from './client-stats.js';
import type { Health } from './health.js';
import type { Hedger } from './hedging.js';
import type { LinkRate } from './stall-watch.js';
import type { Lane } from './transport.js';

export interface Resilience {
  readonly stats: ClientStats;
  readonly hedger: Hedger;
  readonly health: Health;
  /** Speed of recent upload parts, for their stall watches' allowance. */
  readonly uploadRate: LinkRate;
  /** First-attempt deadline of a small API call (deadlines.ts). */
  readonly metadataTimeoutMs: number;
  /** Longest silence of a data transfer (stall-watch.ts). */
  readonly stallTimeoutMs: number;
  /** The outer bound of any one request (undici's read/idle timeout). */
  readonly requestTimeoutMs: number;
  /** True when a request to `origin` (in `lane`) would get a connection without queueing. */
  spareConnection(origin: string, lane: Lane): boolean;
}
