// Credentials: a wrong key fails fast, sessions log in once, log in again once
// after the server drops the session, and no secret ever reaches a log line,
// an error or a serialised client.
import { inspect } from 'node:util';
import { describe, expect, it } from 'vitest';
import { NotAuthenticatedError } from '../../src/client/errors.js';
import { createLogger } from '../../src/log/logger.js';
import { useEmulator } from '../support/emulator.js';
import { API_KEY, clientFor, collect } from './support.js';

const USER = { username: 'alice', password: 'Wonderland-Secret-77' };

function serverSessions(emu: ReturnType<ReturnType<typeof useEmulator>>): Map<string, string> {
  return Reflect.get(emu.internals.auth, 'sessions') as Map<string, string>;
}

describe('authentication', () => {
  const emu = useEmulator({ apiKey: API_KEY, users: [USER] });

  it('a wrong API key fails at once as NotAuthenticatedError, without retries', async () => {
    const c = clientFor(emu(), { credentials: { apiKey: 'wrongKey0000' } });
    emu().resetStats();
    const err = await c.stat('anything').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(NotAuthenticatedError);
    expect(err).toMatchObject({ status: 401, type: 'not-authenticated/invalid-credentials' });
    // One request, no retry and no backoff wait (counted, not timed: the machine may be busy).
    expect(emu().stats().total).toBe(1);
    expect(c.stats.retries).toBe(0);
  });

  it('a wrong password fails at login, once', async () => {
    const c = clientFor(emu(), { credentials: { username: USER.username, password: 'nope-nope' } });
    emu().resetStats();
    await expect(c.mkdir('x')).rejects.toBeInstanceOf(NotAuthenticatedError);
    expect(emu().stats().requests['POST /sessions']).toBe(1);
    expect(emu().stats().total).toBe(1);
  });

  it('logs in once for concurrent calls, again once after the server drops the session, and out on close', async () => {
    const c = clientFor(emu(), { credentials: USER });
    emu().resetStats();
    await Promise.all([c.mkdir('Sess'), c.stat(''), c.upload('Sess/a.txt', { buffer: Buffer.from('a') }, { mkdirParents: true })]);
    expect(emu().stats().requests['POST /sessions']).toBe(1);
    expect(serverSessions(emu()).size).toBe(1);

    serverSessions(emu()).clear(); // expired / deleted on the server
    const results = await Promise.all([collect(c.list('Sess')), c.stat('Sess/a.txt'), c.readRange('Sess/a.txt', 0, 1)]);
    expect(results[0]).toEqual(['Sess/a.txt']);
    expect(emu().stats().requests['POST /sessions']).toBe(2);

    // A re-login that fails ends the call (one attempt, no loop).
    serverSessions(emu()).clear();
    const users = Reflect.get(emu().internals.auth, 'users') as Map<string, string>;
    users.delete(USER.username);
    try {
      await expect(c.stat('Sess')).rejects.toMatchObject({ kind: 'not-authenticated', type: 'not-authenticated/invalid-username-or-password' });
      expect(emu().stats().requests['POST /sessions']).toBe(3);
    } finally {
      users.set(USER.username, USER.password);
    }
    await c.stat('Sess');
    expect(emu().stats().requests['POST /sessions']).toBe(4);
    await c.close();
    expect(emu().stats().requests['DELETE /sessions']).toBe(1);
    expect(serverSessions(emu()).size).toBe(0);
  });

  it('close() does not log in again just to log out of an expired session', async () => {
    const c = clientFor(emu(), { credentials: USER });
    await c.stat('');
    await c.mkdir('Expired');
    serverSessions(emu()).clear();
    emu().resetStats();
    await c.close();
    expect(emu().stats().requests['DELETE /sessions']).toBe(1);
    expect(emu().stats().requests['POST /sessions']).toBe(0);
  });

  it('never shows the key, the password or a session id in logs (trace level), errors or serialised clients', async () => {
    const lines: string[] = [];
    const logger = createLogger({ level: 'trace', sink: (l) => lines.push(l) });
    const keyClient = clientFor(emu(), { logger });
    const sessionClient = clientFor(emu(), { credentials: USER, logger });
    const errors: unknown[] = [];
    const keep = (p: Promise<unknown>) => p.catch((e: unknown) => void errors.push(e));
    await keyClient.mkdir('Secrets');
    await keyClient.upload('Secrets/f.txt', { buffer: Buffer.from('data') });
    await sessionClient.readRange('Secrets/f.txt', 0, 4);
    const sessionIds = [...serverSessions(emu()).keys()];
    expect(sessionIds.length).toBeGreaterThan(0);
    serverSessions(emu()).clear();
    await sessionClient.stat('Secrets/f.txt'); // 401 → re-login
    sessionIds.push(...serverSessions(emu()).keys());
    await keep(keyClient.stat('Secrets/missing'));
    await keep(sessionClient.mkdir('Secrets'));
    await keep(clientFor(emu(), { credentials: { apiKey: 'wrongKeyForLogs1' }, logger }).stat(''.concat('x')));
    await keep(clientFor(emu(), { credentials: { username: 'alice', password: 'AnotherWrong-Pass-1' }, logger }).stat('x'));
    expect(errors).toHaveLength(4);

    const secrets = [API_KEY, USER.password, 'wrongKeyForLogs1', 'AnotherWrong-Pass-1', ...sessionIds];
    const texts = [
      ...lines,
      ...errors.map((e) => JSON.stringify(e)),
      ...errors.map((e) => String(e)),
      ...errors.map((e) => inspect(e, { depth: 3 })),
      JSON.stringify(keyClient), JSON.stringify(sessionClient), inspect(keyClient, { depth: 5 }), inspect(sessionClient, { depth: 5 }),
    ];
    expect(lines.some((l) => l.includes('GET /file_actions/metadata/Secrets/f.txt 200'))).toBe(true);
    expect(lines.some((l) => l.includes('TRACE'))).toBe(true);
    for (const text of texts) {
      for (const s of secrets) expect(text).not.toContain(s);
      // Not even redacted: secrets are never handed to the logger in the first place.
      expect(text).not.toContain('[redacted]');
    }
  });
});
