// Timestamps on the wire (docs/files-api.md §1, §12): answers are RFC 3339 UTC in
// whole seconds (`2024-05-30T15:30:59Z`); `provided_mtime` arrives in many
// shapes (RFC 3339 with nanoseconds and `Z` from Go, a zone offset, Python's
// naive ISO string with microseconds meaning UTC, a space instead of `T`) and
// is stored as whole seconds UTC. Anything else, including an out-of-range
// year such as Go's zero time (year 1), is `bad-request/datetime-parse`.
import { ApiError } from './errors.js';

/** Seconds since the epoch, whole. Every stored time in the emulator is one. */
export type EpochSeconds = number;

export function nowSeconds(): EpochSeconds {
  return Math.floor(Date.now() / 1000);
}

/** 1715000000 → "2024-05-06T12:53:20Z". */
export function formatTime(seconds: EpochSeconds | null): string | null {
  if (seconds === null) return null;
  return new Date(seconds * 1000).toISOString().replace(/\.\d{3}Z$/, 'Z');
}

const DATETIME = /^(\d{4})-(\d{2})-(\d{2})(?:[T ](\d{2}):(\d{2})(?::(\d{2})(?:[.,](\d+))?)?)?\s*(Z|z|UTC|[+-]\d{2}(?::?\d{2})?)?$/;
/** Years the emulator accepts: four digits, and nothing before 1000 (Go's zero time is year 1). */
const MIN_YEAR = 1000;

/**
 * Parses a client-given time to whole seconds UTC (fractions truncated).
 * Empty or absent → undefined (no value given). Bad → ApiError datetime-parse.
 */
export function parseClientTime(raw: unknown, field = 'provided_mtime'): EpochSeconds | undefined {
  if (raw === undefined || raw === null || raw === '') return undefined;
  const text = String(raw).trim();
  const m = DATETIME.exec(text);
  const fail = (): never => {
    throw new ApiError('bad-request/datetime-parse', `Invalid ${field}: could not parse ${JSON.stringify(text.slice(0, 64))} as a date and time.`);
  };
  if (!m) return fail();
  const [, y, mo, d, h = '0', mi = '0', s = '0', , zone] = m;
  const year = Number(y), month = Number(mo), day = Number(d), hour = Number(h), minute = Number(mi), second = Number(s);
  if (year < MIN_YEAR || month < 1 || month > 12 || day < 1 || hour > 23 || minute > 59 || second > 60) return fail();
  let ms = Date.UTC(year, month - 1, day, hour, minute, Math.min(second, 59));
  // Date.UTC rolls 31 February over into March: refuse instead.
  if (new Date(ms).getUTCDate() !== day) return fail();
  if (zone && zone !== 'Z' && zone !== 'z' && zone !== 'UTC') {
    const zm = /^([+-])(\d{2}):?(\d{2})?$/.exec(zone)!;
    const offset = (Number(zm[2]) * 60 + Number(zm[3] ?? 0)) * 60_000;
    if (Number(zm[2]) > 23) return fail();
    ms -= zm[1] === '+' ? offset : -offset;
  }
  return Math.floor(ms / 1000);
}
