// Reading the Retry-After header the way the SDKs' shared test table expects
// (docs/files-api.md §7, SHARED header_test_data): the first value only, as whole
// seconds or as an HTTP date; anything unreadable, in the past or too long is
// "no advice" (null) and the ordinary backoff applies.
//
// Too long: the table maps "60" to null while "5", "10" and a date 8 s ahead
// are honoured, so advice of MAX_RETRY_AFTER_MS or more is ignored. A wait of
// a minute or more would hold a filesystem call far longer than any program
// waiting on it expects; the request instead fails after its retries with a
// RateLimitedError/ServiceUnavailableError, which the caller may retry later.

/** Advice at or above this is ignored (SHARED table: "60" → null). */
export const MAX_RETRY_AFTER_MS = 60_000;

/**
 * Milliseconds to wait, or null. `value` is the header as undici gives it (a
 * string, or an array when the header was repeated).
 */
export function parseRetryAfter(value: string | string[] | undefined | null, now: number = Date.now()): number | null {
  const first = Array.isArray(value) ? value[0] : value;
  if (first === undefined || first === null) return null;
  const text = first.trim();
  let ms: number;
  if (/^\d+$/.test(text)) {
    ms = Number(text) * 1000;
  } else {
    // HTTP-date (RFC 9110 §5.6.7). Date.parse reads IMF-fixdate and the two
    // obsolete forms; require a weekday-comma or a GMT marker so that plain
    // words like "aaaaaa" or "5 minutes" never parse as a date.
    if (!/GMT|,/.test(text)) return null;
    const at = Date.parse(text);
    if (Number.isNaN(at)) return null;
    // The date has whole seconds; round the remaining time up so that
    // "8 s from now" formatted as a date reads back as 8 s, not 7.6 s.
    ms = Math.ceil((at - now) / 1000) * 1000;
    if (ms < 0) return null;
  }
  if (!Number.isFinite(ms) || ms >= MAX_RETRY_AFTER_MS) return null;
  return ms;
}
