import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { inspect } from 'node:util';
import { describe, expect, it } from 'vitest';
import { CLIENT_DEFAULTS, resolveClientOptions } from '../../src/client/options.js';
import { ConfigError } from '../../src/options/config-error.js';
import { redact } from '../../src/log/logger.js';
import { USER_AGENT } from '../../src/version.js';

const key = { apiKey: 'k3yUnitTestValue0001' };

describe('resolveClientOptions', () => {
  it('fills in the documented defaults', () => {
    const o = resolveClientOptions({ credentials: key });
    expect(o).toMatchObject({ ...CLIENT_DEFAULTS, userAgent: USER_AGENT, sourceIp: undefined, caFile: undefined, caPem: undefined });
    expect(o.baseUrl).toBe('https://app.files.com');
    expect(o.retries).toBe(3);
    expect(o.retryBaseDelayMs).toBe(500);
    expect(o.retryMaxDelayMs).toBe(2000);
    expect(o.perPage).toBe(1000);
    expect(USER_AGENT).toMatch(/^filesfs\/\d+\.\d+\.\d+/);
  });

  it('rejects bad values with a message naming the option', () => {
    const bad = (extra: object, pattern: RegExp) => expect(() => resolveClientOptions({ credentials: key, ...extra })).toThrow(pattern);
    bad({ perPage: 10_001 }, /^perPage: expected an integer ≥ 1 and ≤ 10000, got 10001$/);
    bad({ perPage: 0 }, /perPage/);
    bad({ retries: -1 }, /retries/);
    bad({ connections: 1.5 }, /connections/);
    bad({ requestTimeoutMs: 0 }, /requestTimeoutMs/);
    bad({ retryBaseDelayMs: 3000, retryMaxDelayMs: 1000 }, /retryMaxDelayMs: must be ≥ retryBaseDelayMs/);
    bad({ sourceIp: '10.0.0.300' }, /sourceIp: expected an IPv4 or IPv6 address/);
    bad({ baseUrl: 'ftp://x' }, /baseUrl: only http and https/);
    bad({ logLevel: 'loud' }, /logLevel/);
    bad({ caFile: '/nonexistent/ca.pem' }, /caFile \/nonexistent\/ca.pem: no such file/);
    expect(() => resolveClientOptions({ credentials: key, perPage: 0 })).toThrow(ConfigError);
    expect(() => resolveClientOptions({ credentials: { apiKey: '' } })).toThrow(/credentials.apiKey/);
    expect(() => resolveClientOptions({ credentials: { username: 'u', password: '' } })).toThrow(/credentials.password/);
    expect(() => resolveClientOptions({} as never)).toThrow(/credentials/);
  });

  it('accepts a source IP, a grown retry ceiling and a CA file', () => {
    const dir = mkdtempSync(join(process.env.FILESFS_TEST_ROOT ?? tmpdir(), 'ca-'));
    const ca = join(dir, 'ca.pem');
    writeFileSync(ca, '-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n');
    const o = resolveClientOptions({ credentials: key, sourceIp: '127.0.0.1', retryBaseDelayMs: 3000, caFile: ca });
    expect(o.retryMaxDelayMs).toBe(3000);
    expect(o.caPem).toContain('BEGIN CERTIFICATE');
    writeFileSync(ca, 'not a cert');
    expect(() => resolveClientOptions({ credentials: key, caFile: ca })).toThrow(/no PEM certificate/);
  });

  it('registers secrets and keeps them out of JSON and inspect output', () => {
    const o = resolveClientOptions({ credentials: { username: 'alice', password: 'pa55-unit-secret' } });
    expect(redact('x pa55-unit-secret y')).toBe('x [redacted] y');
    expect(JSON.stringify(o)).not.toContain('pa55-unit-secret');
    expect(inspect(o, { depth: 5 })).not.toContain('pa55-unit-secret');
    expect(o.credentials).toEqual({ username: 'alice', password: 'pa55-unit-secret' });
  });
});
