import { describe, expect, it } from 'vitest';
import { createLogger, redact, registerSecret } from '../../src/log/logger.js';

describe('logger', () => {
  it('filters by level and prefixes the component', () => {
    const lines: string[] = [];
    const log = createLogger({ level: 'info', sink: (l) => lines.push(l) }).child('client');
    log.debug('hidden');
    log.info('shown %d', 42);
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/INFO  \[client\] shown 42$/);
    expect(log.enabled('debug')).toBe(false);
  });

  it('never writes a registered secret, whatever the caller formatted', () => {
    const lines: string[] = [];
    const secret = 'k3y' + Math.random().toString(36).slice(2);
    registerSecret(secret);
    const log = createLogger({ level: 'trace', sink: (l) => lines.push(l) });
    log.trace('header %s', secret);
    log.trace('object %o', { headers: { 'X-FilesAPI-Key': secret } });
    expect(lines.join('\n')).not.toContain(secret);
    expect(redact(`a${secret}b`)).toBe('a[redacted]b');
  });
});
