// Control endpoints outside the API prefix, for tests and benchmarks. They
// need no API key and are never delayed or faulted:
//   GET  /__emulator/stats        {"total", "requests": {...}, "connections"}
//   POST /__emulator/reset-stats  204
//   GET  /__emulator/idle         204 once the background work queued so far
//                                 (hashing uploaded files) is done: benchmarks
//                                 wait for it between measurements, so that one
//                                 upload's hashing does not run during the next
//   GET  /__emulator/config       the current latency, bandwidth and faults
//   PUT  /__emulator/config       JSON {latencyMs, bandwidth, faultRate, faults,
//                                 stallMs, faultSeed} (any subset) → 200 with
//                                 the new config; a faultSeed restarts the
//                                 seeded fault draws
import type { IncomingMessage, ServerResponse } from 'node:http';
import { ApiError } from './errors.js';
import { isFaultKind, type FaultKind } from './faults.js';
import { readBody, sendApiError, sendJson, sendNoContent } from './http-util.js';
import type { EmulatorContext } from './context.js';

export interface RuntimeConfig {
  latencyMs?: number;
  bandwidth?: number;
  faultRate?: number;
  faults?: FaultKind[];
  /** How long a stalled request is held before its connection is dropped. */
  stallMs?: number;
  /** Seeds (and restarts) the fault draws; null in the current config when they are unseeded. */
  faultSeed?: number | null;
}

export const CONTROL_PREFIX = '/__emulator/';

/** Validates a config patch; throws a RangeError naming the bad field. */
export function checkConfig(patch: RuntimeConfig): void {
  const nonNegative = (name: string, v: unknown) => {
    if (v !== undefined && !(typeof v === 'number' && Number.isFinite(v) && v >= 0)) throw new RangeError(`${name} must be a number ≥ 0`);
  };
  nonNegative('latencyMs', patch.latencyMs);
  nonNegative('bandwidth', patch.bandwidth);
  nonNegative('stallMs', patch.stallMs);
  if (patch.faultSeed !== undefined && patch.faultSeed !== null && !(Number.isSafeInteger(patch.faultSeed) && patch.faultSeed >= 0)) {
    throw new RangeError('faultSeed must be a whole number ≥ 0');
  }
  if (patch.faultRate !== undefined && !(typeof patch.faultRate === 'number' && patch.faultRate >= 0 && patch.faultRate <= 1)) {
    throw new RangeError('faultRate must be a number from 0 to 1');
  }
  if (patch.faults !== undefined) {
    if (!Array.isArray(patch.faults) || !patch.faults.every((f) => typeof f === 'string' && isFaultKind(f))) {
      throw new RangeError('faults must be a list of 429, 500, 503, reset, stall');
    }
  }
}

export function applyConfig(ctx: EmulatorContext, patch: RuntimeConfig): void {
  checkConfig(patch);
  if (patch.latencyMs !== undefined) ctx.settings.latencyMs = patch.latencyMs;
  if (patch.stallMs !== undefined) ctx.settings.stallMs = patch.stallMs;
  if (patch.faultSeed !== undefined && patch.faultSeed !== null) ctx.faults.reseed(patch.faultSeed);
  if (patch.bandwidth !== undefined) {
    ctx.uploadThrottle.setRate(patch.bandwidth);
    ctx.downloadThrottle.setRate(patch.bandwidth);
  }
  ctx.faults.configure(patch.faultRate, patch.faults);
}

export function currentConfig(ctx: EmulatorContext): Required<RuntimeConfig> {
  return {
    latencyMs: ctx.settings.latencyMs,
    bandwidth: ctx.uploadThrottle.bytesPerSecond,
    faultRate: ctx.faults.faultRate,
    faults: ctx.faults.faultKinds,
    stallMs: ctx.settings.stallMs,
    faultSeed: ctx.faults.faultSeed,
  };
}

export async function handleControl(ctx: EmulatorContext, req: IncomingMessage, res: ServerResponse, pathname: string, requestId: string): Promise<void> {
  const what = pathname.slice(CONTROL_PREFIX.length);
  try {
    if (what === 'stats' && req.method === 'GET') return sendJson(res, 200, ctx.stats.snapshot(), requestId);
    if (what === 'reset-stats' && req.method === 'POST') {
      ctx.stats.reset();
      return sendNoContent(res, requestId);
    }
    if (what === 'idle' && req.method === 'GET') {
      await ctx.hasher.idle();
      return sendNoContent(res, requestId);
    }
    if (what === 'config' && req.method === 'GET') return sendJson(res, 200, currentConfig(ctx), requestId);
    if (what === 'config' && req.method === 'PUT') {
      let patch: RuntimeConfig;
      try {
        const text = (await readBody(req)).toString('utf8');
        patch = (text.trim() ? JSON.parse(text) : {}) as RuntimeConfig;
        applyConfig(ctx, patch);
      } catch (err) {
        throw new ApiError('bad-request/invalid-body', err instanceof Error ? err.message : String(err));
      }
      return sendJson(res, 200, currentConfig(ctx), requestId);
    }
    throw new ApiError('not-found', `No control endpoint ${req.method} ${pathname}.`);
  } catch (err) {
    if (err instanceof ApiError) return sendApiError(res, err, requestId);
    throw err;
  }
}
