import { describe, expect, it } from 'vitest';
import { MAX_RETRY_AFTER_MS, parseRetryAfter } from '../../src/client/retry-after.js';

describe('parseRetryAfter', () => {
  // The SHARED header_test_data table as docs/files-api.md §7 records it (seconds → ms).
  const now = Date.UTC(2024, 4, 30, 15, 30, 59, 400);
  const eightSecondsAhead = new Date(now + 8_000).toUTCString();
  it.each([
    [undefined, null],
    [['aaaaaa'], null],
    [['5'], 5_000],
    [['60'], null],
    [['5', '10'], 5_000],
    [['5', 'aaaaaa'], 5_000],
    [[eightSecondsAhead], 8_000],
  ])('%j → %j', (value, expected) => {
    expect(parseRetryAfter(value, now)).toBe(expected);
  });

  it('reads a plain string, whitespace, zero and the limit', () => {
    expect(parseRetryAfter('1', now)).toBe(1_000);
    expect(parseRetryAfter(' 2 ', now)).toBe(2_000);
    expect(parseRetryAfter('0', now)).toBe(0);
    expect(parseRetryAfter(String(MAX_RETRY_AFTER_MS / 1000 - 1), now)).toBe(MAX_RETRY_AFTER_MS - 1000);
    expect(parseRetryAfter(String(MAX_RETRY_AFTER_MS / 1000), now)).toBeNull();
  });

  it('ignores negative, fractional, past dates and words', () => {
    expect(parseRetryAfter('-1', now)).toBeNull();
    expect(parseRetryAfter('1.5', now)).toBeNull();
    expect(parseRetryAfter(new Date(now - 5_000).toUTCString(), now)).toBeNull();
    expect(parseRetryAfter('5 minutes', now)).toBeNull();
    expect(parseRetryAfter('', now)).toBeNull();
    expect(parseRetryAfter(new Date(now + 120_000).toUTCString(), now)).toBeNull();
  });
});
