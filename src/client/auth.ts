// Authentication of API calls (docs/files-api.md §1): an API key sent as
// X-FilesAPI-Key, or a session: POST /sessions with username and password
// (never with a key), then X-FilesAPI-Auth: <session id> on every call.
//
// A session is opened lazily on the first call (one login shared by all
// concurrent callers) and opened again when the server answers 401 for the
// current one (it expired or was deleted); api.ts re-sends a call at most once
// after such a re-login, so wrong credentials fail instead of looping.
//
// Credentials can change while the client runs (a revoked key replaced in
// --api-key-file): when the client was given a credentials source, a 401
// asks it again. A different API key is used from then on and the call is
// sent again at once (one re-read shared by every call refused at the same
// time); the same key means the 401 is final (NotAuthenticatedError). A
// session logs in with what the source gives now.
//
// Secrets live in #private fields (not enumerable, not in JSON or
// util.inspect) and are registered with the logger before first use.
import { registerSecret } from '../log/logger.js';
import { ServerError } from './errors.js';
import { untilAborted } from './retry.js';
import type { WireSession } from './wire-types.js';

/** Opens a session and returns its id; provided by api.ts (POST /sessions). */
export type LoginCall = (username: string, password: string) => Promise<unknown>;

/** What a request was authenticated with, so a 401 can tell whether a newer session exists. */
export interface AuthStamp {
  headers: Record<string, string>;
  generation: number;
}

export interface Auth {
  readonly kind: 'api-key' | 'session';
  /** Headers for the next API call (logging in first if needed). */
  stamp(signal?: AbortSignal): Promise<AuthStamp>;
  /**
   * After a 401 for a call sent with `stamp`: true when the call may be sent
   * again with a fresh stamp (a new session was opened, or one already was by
   * a concurrent call); false when the 401 is final.
   */
  renew(stamp: AuthStamp, signal?: AbortSignal): Promise<boolean>;
}

/** Reads the API key (or username and password) again; undefined when the source has nothing usable. */
export type KeySource = () => Promise<string | undefined>;
export type LoginSource = () => Promise<{ username: string; password: string } | undefined>;

export class ApiKeyAuth implements Auth {
  readonly kind = 'api-key' as const;
  #key: string;
  #headers: Record<string, string>;
  #generation = 0;
  #reloading: Promise<void> | undefined;
  readonly #source: KeySource | undefined;

  constructor(apiKey: string, source?: KeySource) {
    registerSecret(apiKey);
    this.#key = apiKey;
    this.#headers = { 'x-filesapi-key': apiKey };
    this.#source = source;
  }

  stamp(): Promise<AuthStamp> {
    return Promise.resolve({ headers: this.#headers, generation: this.#generation });
  }

  /** True when a key other than the refused one is there (already, or after asking the source). */
  async renew(stamp: AuthStamp, signal?: AbortSignal): Promise<boolean> {
    if (stamp.generation !== this.#generation) return true;
    if (!this.#source) return false;
    this.#reloading ??= this.reload().finally(() => {
      this.#reloading = undefined;
    });
    await untilAborted(this.#reloading, signal);
    return stamp.generation !== this.#generation;
  }

  private async reload(): Promise<void> {
    const key = await this.#source!();
    if (key === undefined || key === this.#key) return;
    registerSecret(key);
    this.#key = key;
    this.#headers = { 'x-filesapi-key': key };
    this.#generation++;
  }

  toJSON(): Record<string, unknown> {
    return { kind: this.kind };
  }
}

export class SessionAuth implements Auth {
  readonly kind = 'session' as const;
  #username: string;
  #password: string;
  readonly #login: LoginCall;
  readonly #source: LoginSource | undefined;
  #sessionId: string | undefined;
  #pending: Promise<string> | undefined;
  #generation = 0;

  constructor(username: string, password: string, login: LoginCall, source?: LoginSource) {
    registerSecret(password);
    this.#username = username;
    this.#password = password;
    this.#login = login;
    this.#source = source;
  }

  /** One login shared by every waiting caller (not tied to any caller's signal). */
  private open(signal?: AbortSignal): Promise<string> {
    if (!this.#pending) {
      this.#pending = (async () => {
        if (this.#sessionId === undefined && this.#generation > 0 && this.#source) {
          // Logging in again: with what the source says now (a changed password).
          const fresh = await this.#source();
          if (fresh) {
            registerSecret(fresh.password);
            this.#username = fresh.username;
            this.#password = fresh.password;
          }
        }
        const body = (await this.#login(this.#username, this.#password)) as WireSession | undefined;
        const id = body && typeof body === 'object' && typeof body.id === 'string' && body.id !== '' ? body.id : undefined;
        if (!id) throw new ServerError({ message: 'POST /sessions: the response has no session id', operation: 'POST /sessions' });
        registerSecret(id);
        this.#sessionId = id;
        this.#generation++;
        return id;
      })().finally(() => {
        this.#pending = undefined;
      });
    }
    return untilAborted(this.#pending, signal);
  }

  get loggedIn(): boolean {
    return this.#sessionId !== undefined;
  }

  async stamp(signal?: AbortSignal): Promise<AuthStamp> {
    const id = this.#sessionId ?? (await this.open(signal));
    return { headers: { 'x-filesapi-auth': id }, generation: this.#generation };
  }

  async renew(stamp: AuthStamp, signal?: AbortSignal): Promise<boolean> {
    if (stamp.generation === this.#generation) {
      this.#sessionId = undefined;
      await this.open(signal);
    }
    return true;
  }

  toJSON(): Record<string, unknown> {
    return { kind: this.kind, loggedIn: this.#sessionId !== undefined };
  }
}
