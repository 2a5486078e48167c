// Failure logging: ordinary outcomes at debug; unexpected ones as one warning
// per distinct failure and window, with the server's details.
import { describe, expect, test } from 'vitest';
import { ServiceUnavailableError } from '../../src/client/errors.js';
import { toFsError } from '../../src/vfs/errno.js';
import { FailureLog, describeError } from '../../src/vfs/failure-log.js';
import { createLogger } from '../../src/log/logger.js';
import { FsError } from '../../src/vfs/fs-error.js';

function setup() {
  const lines: string[] = [];
  let now = 0;
  const log = new FailureLog(createLogger({ level: 'debug', sink: (l) => lines.push(l) }), { windowMs: 60_000, now: () => now });
  const report = (err: unknown, op = 'read', path = '/a'): void => log.report(op, path, toFsError(err));
  return { lines, report, advance: (ms: number) => { now += ms; } };
}

describe('FailureLog', () => {
  test('an ordinary failure is a debug line', () => {
    const { lines, report } = setup();
    report(new FsError('ENOENT', 'no such file'), 'getattr', '/missing');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/DEBUG getattr "\/missing": ENOENT \(FsError: no such file\)/);
  });

  test('an unexpected failure warns once per window, then says how many were suppressed', () => {
    const { lines, report, advance } = setup();
    const err = new ServiceUnavailableError({ message: 'Service Unavailable', status: 503, type: 'service-unavailable', operation: 'GET /files/a', instance: 'req-1' });
    report(err);
    report(err);
    report(err);
    expect(lines.filter((l) => l.includes('WARN'))).toHaveLength(1);
    expect(lines[0]).toMatch(/WARN +read "\/a": EIO failed: Service Unavailable \[type service-unavailable, HTTP 503, GET \/files\/a, request req-1\]$/);
    advance(61_000);
    report(err);
    const warnings = lines.filter((l) => l.includes('WARN'));
    expect(warnings).toHaveLength(2);
    expect(warnings[1]).toMatch(/\(2 more like it in the last 61 s\)/);
  });

  test('different failures each get their warning', () => {
    const { lines, report } = setup();
    report(new Error('first bug'));
    report(new Error('second bug'));
    expect(lines.filter((l) => l.includes('WARN'))).toHaveLength(2);
  });

  test('describeError for system errors and non-errors', () => {
    expect(describeError(Object.assign(new Error('disk full'), { code: 'ENOSPC' }))).toBe('Error: disk full (ENOSPC)');
    expect(describeError(42)).toBe('non-error rejection: 42');
  });
});
