import { describe, expect, it } from 'vitest';
import { parseBaseUrl, parseBytes, parseInteger, parseOctal, parseSeconds } from '../../src/options/parse.js';
import { ConfigError } from '../../src/options/config-error.js';

describe('option parsers', () => {
  it('parse good values', () => {
    expect(parseInteger('--n', '12', { min: 1 })).toBe(12);
    expect(parseBytes('--x', '8M')).toBe(8 * 1024 * 1024);
    expect(parseBytes('--x', '1.5KiB')).toBe(1536);
    expect(parseSeconds('--ttl', '0')).toBe(0);
    expect(parseOctal('--umask', '022')).toBe(0o22);
    expect(parseBaseUrl('--base-url', 'https://x.files.com/')).toBe('https://x.files.com');
  });
  it('reject bad values with a message naming the option', () => {
    expect(() => parseInteger('--n', '1.5')).toThrow(ConfigError);
    expect(() => parseInteger('--n', '0', { min: 1 })).toThrow('--n: expected an integer ≥ 1, got "0"');
    expect(() => parseBytes('--x', '8Q')).toThrow(/--x/);
    expect(() => parseSeconds('--ttl', '-1')).toThrow(/--ttl/);
    expect(() => parseOctal('--umask', '9')).toThrow(/--umask/);
    expect(() => parseBaseUrl('--base-url', 'ftp://x')).toThrow(/http and https/);
    expect(() => parseBaseUrl('--base-url', 'https://user:pw@x')).toThrow(/credentials/);
  });
});
