// Options of the write-back layer: where staging files and the journal live,
// when and how many uploads run, and how failures are retried. Typed, with
// documented defaults, checked once (resolveWriteBackOptions) so the rest of
// src/vfs/write-back reads plain numbers. The CLI maps --cache-dir,
// --upload-delay and --upload-concurrency onto these; tests shorten the
// delays.
import { hostname } from 'node:os';
import { checkInteger as integer } from '../../options/check.js';
import { CONFLICT_POLICIES, type ConflictPolicy } from './conflict.js';
import { ConfigError } from '../../options/config-error.js';

export interface WriteBackOptions {
  /** The mount's private cache dir (0700); staging/ and journal/ are created inside. */
  cacheDir: string;
  /**
   * Wait after the last close before an upload starts, ms. Default 1,000: an
   * editor's save (write temp, fsync, rename, maybe chmod/utimens) and
   * `cp -p` (write, utimens) finish well within it, so each file uploads once,
   * under its final name, with its final time. A change within the delay
   * restarts it. 0 = start at once.
   */
  uploadDelayMs?: number;
  /**
   * Files uploaded at once. Default 8: each upload of a small file is three
   * round trips (begin_upload, PUT, end), so many small files need several in
   * flight to hide latency; large files add the client's parallel parts
   * inside each upload, bounded by its connection pool.
   */
  uploadConcurrency?: number;
  /**
   * Small files (at most 256 KiB: the client reads them whole) uploaded at
   * once, besides the `uploadConcurrency` others. Default 32, twice the
   * client's default connection pool: a small upload is three short requests
   * one after another, so it holds one connection at a time, and none while
   * it waits to retry (a 429 or 503 says to wait a second): at 10 % faults
   * about a quarter of them wait so at any time (the mount passes twice its
   * `--connections`). 1,000 files of 4 KiB at 20 ms per request take
   * ~1000 × 3 × 20 ms / 16 ≈ 4 s instead of ~8 s at 8.
   */
  smallUploadConcurrency?: number;
  /** First wait after a transient failure (5xx, 429, network), ms. Default 1,000. */
  retryBaseDelayMs?: number;
  /** Longest wait between attempts after transient failures, ms. Default 60,000. */
  retryMaxDelayMs?: number;
  /**
   * Wait before trying again an upload the server refused for good (invalid
   * name, permission, bad request), ms. Default 600,000 (10 min): the refusal
   * will most likely repeat, but a fixed permission or folder may let it
   * through; the next mount tries again at once.
   */
  failedRetryDelayMs?: number;
  /**
   * How long fsync waits for its upload while the server fails transiently,
   * ms; then it returns EIO and the data stays pending. Default 180,000
   * (3 min): several backoff rounds, yet short enough that a program blocked
   * in fsync learns of an outage.
   */
  fsyncTimeoutMs?: number;
  /**
   * What happens when a file's upload would replace a server version it did
   * not start from (someone else changed it meanwhile): 'keep-both' (the
   * default: the local version lands beside it as a conflict copy),
   * 'local-wins' (no check: the last upload wins), 'remote-wins' (the local
   * change is dropped). See conflict.ts.
   */
  onConflict?: ConflictPolicy;
  /** This machine's name in conflict copies' names. Default: os.hostname(). */
  hostName?: string;
}

export interface ResolvedWriteBackOptions {
  readonly cacheDir: string;
  readonly uploadDelayMs: number;
  readonly uploadConcurrency: number;
  readonly smallUploadConcurrency: number;
  readonly retryBaseDelayMs: number;
  readonly retryMaxDelayMs: number;
  readonly failedRetryDelayMs: number;
  readonly fsyncTimeoutMs: number;
  readonly onConflict: ConflictPolicy;
  readonly hostName: string;
}

export const WRITE_BACK_DEFAULTS = {
  uploadDelayMs: 1_000,
  uploadConcurrency: 8,
  smallUploadConcurrency: 32,
  retryBaseDelayMs: 1_000,
  retryMaxDelayMs: 60_000,
  failedRetryDelayMs: 600_000,
  fsyncTimeoutMs: 180_000,
  onConflict: 'keep-both',
} as const;

/** More files at once than this only queues in the client's connection pool. */
const MAX_UPLOAD_CONCURRENCY = 256;
/** Timers in Node hold at most 2^31-1 ms (~24.8 days). */
const MAX_TIMER_MS = 0x7fff_ffff;

export function resolveWriteBackOptions(options: WriteBackOptions): ResolvedWriteBackOptions {
  if (typeof options.cacheDir !== 'string' || !options.cacheDir.startsWith('/')) {
    throw new ConfigError(`cacheDir: expected an absolute path, got ${String(options.cacheDir)}`);
  }
  const retryBaseDelayMs = integer('retryBaseDelayMs', options.retryBaseDelayMs ?? WRITE_BACK_DEFAULTS.retryBaseDelayMs, 1, MAX_TIMER_MS);
  const retryMaxDelayMs = integer('retryMaxDelayMs', options.retryMaxDelayMs ?? Math.max(WRITE_BACK_DEFAULTS.retryMaxDelayMs, retryBaseDelayMs), retryBaseDelayMs, MAX_TIMER_MS);
  return {
    cacheDir: options.cacheDir,
    uploadDelayMs: integer('uploadDelayMs', options.uploadDelayMs ?? WRITE_BACK_DEFAULTS.uploadDelayMs, 0, MAX_TIMER_MS),
    uploadConcurrency: integer('uploadConcurrency', options.uploadConcurrency ?? WRITE_BACK_DEFAULTS.uploadConcurrency, 1, MAX_UPLOAD_CONCURRENCY),
    smallUploadConcurrency: integer('smallUploadConcurrency', options.smallUploadConcurrency ?? WRITE_BACK_DEFAULTS.smallUploadConcurrency, 1, MAX_UPLOAD_CONCURRENCY),
    retryBaseDelayMs,
    retryMaxDelayMs,
    failedRetryDelayMs: integer('failedRetryDelayMs', options.failedRetryDelayMs ?? WRITE_BACK_DEFAULTS.failedRetryDelayMs, 1, MAX_TIMER_MS),
    fsyncTimeoutMs: integer('fsyncTimeoutMs', options.fsyncTimeoutMs ?? WRITE_BACK_DEFAULTS.fsyncTimeoutMs, 1, MAX_TIMER_MS),
    onConflict: conflictPolicy(options.onConflict ?? WRITE_BACK_DEFAULTS.onConflict),
    hostName: options.hostName ?? hostname(),
  };
}

function conflictPolicy(value: unknown): ConflictPolicy {
  if ((CONFLICT_POLICIES as readonly unknown[]).includes(value)) return value as ConflictPolicy;
  throw new ConfigError(`onConflict: expected one of ${CONFLICT_POLICIES.join(', ')}, got ${JSON.stringify(value)}`);
}
