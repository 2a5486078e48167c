// Who may call the API (files-api.md §1). With an API key configured, every
// API request needs `X-FilesAPI-Key: <key>` or `X-FilesAPI-Auth: <session id>`;
// with users configured, POST /sessions logs one in (201 with the session id)
// and DELETE /sessions logs out. Without key and users the API is open and
// credential headers are ignored. Transfer URLs never need credentials (they
// are presigned). Session ids are alphanumeric (the Python SDK refuses others)
// and every key, password and session id is registered as a log secret.
import { randomBytes, timingSafeEqual } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';
import { registerSecret } from '../log/logger.js';
import { ApiError } from './errors.js';

function same(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

function header(headers: IncomingHttpHeaders, name: string): string | undefined {
  const v = headers[name];
  return Array.isArray(v) ? v[0] : v;
}

export class Auth {
  private readonly sessions = new Map<string, string>();
  private readonly users = new Map<string, string>();

  constructor(private apiKey: string | undefined, users: Array<{ username: string; password: string }> = []) {
    registerSecret(apiKey);
    for (const u of users) {
      registerSecret(u.password);
      this.users.set(u.username, u.password);
    }
  }

  get enabled(): boolean {
    return Boolean(this.apiKey) || this.users.size > 0;
  }

  /** Throws 401 unless the request carries a valid key or session (when auth is on). */
  check(headers: IncomingHttpHeaders): void {
    if (!this.enabled) return;
    const session = header(headers, 'x-filesapi-auth');
    if (session !== undefined && session !== '') {
      if (this.sessions.has(session)) return;
      throw new ApiError('not-authenticated/invalid-session', 'Invalid session. Please log in again.');
    }
    const key = header(headers, 'x-filesapi-key');
    if (key === undefined || key === '') {
      throw new ApiError('not-authenticated/authentication-required', 'Authentication required. Send an API key in X-FilesAPI-Key or a session in X-FilesAPI-Auth.');
    }
    if (!this.apiKey || !same(key, this.apiKey)) throw new ApiError('not-authenticated/invalid-credentials', 'Invalid API key.');
  }

  login(username: string | undefined, password: string | undefined): string {
    const expected = username !== undefined ? this.users.get(username) : undefined;
    if (expected === undefined || password === undefined || !same(password, expected)) {
      throw new ApiError('not-authenticated/invalid-username-or-password', 'Invalid username or password.');
    }
    const id = randomBytes(20).toString('hex');
    registerSecret(id);
    this.sessions.set(id, username!);
    return id;
  }

  /** Ends the session named in the request (204), or 401 when there is none. */
  logout(headers: IncomingHttpHeaders): void {
    const session = header(headers, 'x-filesapi-auth');
    if (!session || !this.sessions.delete(session)) {
      throw new ApiError('not-authenticated/invalid-session', 'No valid session to log out of.');
    }
  }
}
