// Who is calling the API (docs/files-api.md §1). With API keys or users
// configured, every API request needs `X-FilesAPI-Key: <key>` or
// `X-FilesAPI-Auth: <session id>`; POST /sessions logs a user in (201 with the
// session id) and DELETE /sessions logs out. Each key belongs to one user, so
// one emulator can serve several colleagues, each with their own key (their
// locks are theirs). Without keys and users the API is open, credential
// headers are ignored, and every request acts as the default user. Transfer
// URLs never need credentials (they are presigned). Session ids are
// alphanumeric (the Python SDK refuses others) and every key, password and
// session id is registered as a log secret.
import { randomBytes, timingSafeEqual } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';
import { registerSecret } from '../log/logger.js';
import { ApiError } from './errors.js';
import type { User, Users } from './users.js';

export interface ApiKeyGrant {
  key: string;
  /** The user the key acts as; the default user when absent. */
  username?: string | undefined;
}

export interface Login {
  username: string;
  password: string;
}

/** The caller of one request. */
export interface Identity {
  user: User;
  /** 1-based position of the API key among the configured ones; null for a session or an open API. */
  apiKeyId: number | null;
}

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
  private readonly sessions = new Map<string, User>();
  private readonly keys: Array<{ key: string; identity: Identity }>;
  /** username → password (for POST /sessions). */
  private readonly users = new Map<string, string>();

  constructor(private readonly registry: Users, keys: ApiKeyGrant[] = [], logins: Login[] = []) {
    this.keys = keys.map((k, i) => {
      registerSecret(k.key);
      const user = k.username === undefined ? registry.defaultUser : registry.byName(k.username);
      if (!user) throw new RangeError(`API key for unknown user ${JSON.stringify(k.username)}`);
      return { key: k.key, identity: { user, apiKeyId: i + 1 } };
    });
    for (const l of logins) {
      registerSecret(l.password);
      this.users.set(l.username, l.password);
    }
  }

  get enabled(): boolean {
    return this.keys.length > 0 || this.users.size > 0;
  }

  /** The caller; 401 unless the request carries a valid key or session (when auth is on). */
  check(headers: IncomingHttpHeaders): Identity {
    if (!this.enabled) return { user: this.registry.defaultUser, apiKeyId: null };
    const session = header(headers, 'x-filesapi-auth');
    if (session !== undefined && session !== '') {
      const user = this.sessions.get(session);
      if (user) return { user, apiKeyId: null };
      throw new ApiError('not-authenticated/invalid-session', 'Invalid session. Please log in again.');
    }
    const key = header(headers, 'x-filesapi-key');
    if (key === undefined || key === '') {
      throw new ApiError('not-authenticated/authentication-required', 'Authentication required. Send an API key in X-FilesAPI-Key or a session in X-FilesAPI-Auth.');
    }
    // Every configured key is compared (no early exit), so timing says nothing about which one is close.
    let found: Identity | null = null;
    for (const k of this.keys) if (same(key, k.key) && !found) found = k.identity;
    if (!found) throw new ApiError('not-authenticated/invalid-credentials', 'Invalid API key.');
    return found;
  }

  login(username: string | undefined, password: string | undefined): string {
    const expected = username !== undefined ? this.users.get(username) : undefined;
    if (expected === undefined || password === undefined || !same(password, expected)) {
      throw new ApiError('not-authenticated/invalid-username-or-password', 'Invalid username or password.');
    }
    const id = randomBytes(20).toString('hex');
    registerSecret(id);
    this.sessions.set(id, this.registry.byName(username!)!);
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
