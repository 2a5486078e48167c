// FilesClient on the Files.com REST API over undici: wires options, transport,
// auth, retries, paging, downloads and uploads together and implements the
// single-call operations (stat, mkdir, delete, move, copy, setMtime, update).
//
// Which non-idempotent calls are retried, and why that is harmless (every
// call is retried on transient failures; api.ts `replay` decides what a
// permanent error on a later attempt means when an earlier one may have been
// carried out):
//   POST /sessions             extra sessions are unused and expire.
//   POST begin_upload          an opened-then-abandoned upload never appears.
//   POST /files action=end     same ref, same parts → same bytes; "upload
//                              not found" + a stat showing our size/mtime
//                              means the earlier attempt completed it.
//   POST /folders (mkdir)      destination-exists after an uncertain attempt
//                              + a stat showing a folder = our folder.
//   DELETE /files              not-found after an uncertain attempt = deleted.
//   POST file_actions/move     source not-found after an uncertain attempt +
//                              the destination existing = moved. (If someone
//                              else removed the source in that window we would
//                              wrongly report success; the window is one
//                              retry delay, and the alternative — never
//                              retrying renames — fails far more often.)
//   POST file_actions/copy     re-copying the same source is idempotent;
//                              destination-exists after an uncertain attempt
//                              = our copy.
// PATCH (setMtime, update) and every GET are idempotent.
//
// What the filesystem layer (and `filesfs status`) can watch: `stats`
// (requests by kind and outcome, retries, hedges, stalls, bytes; see
// client-stats.ts) and `health` (reachable, or unreachable since when and
// why; see health.ts), with `onHealthChange` for the moments it changes.
import { inspect } from 'node:util';
import { resolveClientOptions, type ClientCredentials, type ClientOptions, type CredentialsSource, type ResolvedClientOptions } from './options.js';
import { normalize } from '../path/index.js';
import { routeFor } from './api-path.js';
import { ApiClient } from './api.js';
import { ApiKeyAuth, SessionAuth, type Auth, type KeySource, type LoginSource } from './auth.js';
import { ClientStats, type ClientStatsSnapshot } from './client-stats.js';
import { Health, type HealthSnapshot } from './health.js';
import { Hedger } from './hedging.js';
import { LinkRate } from './stall-watch.js';
import type { Resilience } from './resilience.js';
import { Downloader } from './download.js';
import { DownloadUrlCache } from './download-url-cache.js';
import { parseEntry, rootEntry } from './entry.js';
import { DestinationExistsError, NotFoundError, type FilesError } from './errors.js';
import type { EntryUpdate, FilesClient, ListOptions, PartialUpload, RangeOptions, RemoteEntry, RemoteLock, StreamOptions, UploadOptions, UploadSource } from './files-client.js';
import { createLock, deleteLock, listLocks } from './locks.js';
import { awaitFileAction } from './migrations.js';
import { listPages } from './paging.js';
import { RetryPolicy } from './retry.js';
import { Transport } from './transport.js';
import { uploadFile, type UploadDeps } from './upload.js';
import { UploadSession } from './upload-session.js';
import type { Readable } from 'node:stream';
import type { Logger } from '../log/logger.js';
import { MAX_PER_PAGE } from './options.js';

/** How long close() waits for the session logout before giving up. */
const LOGOUT_TIMEOUT_MS = 2_000;

/** The current credentials from `source`, or undefined (logged, never the secret) when it fails. */
async function askSource(source: CredentialsSource, logger: Logger): Promise<ClientCredentials | undefined> {
  try {
    return await source();
  } catch (err) {
    logger.warn(`could not read the credentials again: ${(err as Error).message}`);
    return undefined;
  }
}

function keySource(source: CredentialsSource | undefined, logger: Logger): KeySource | undefined {
  if (!source) return undefined;
  return async () => {
    const fresh = await askSource(source, logger);
    if (fresh && !('apiKey' in fresh)) logger.warn('the credentials are now a username and password; restart to switch from an API key');
    return fresh && 'apiKey' in fresh ? fresh.apiKey : undefined;
  };
}

function loginSource(source: CredentialsSource | undefined, logger: Logger): LoginSource | undefined {
  if (!source) return undefined;
  return async () => {
    const fresh = await askSource(source, logger);
    if (fresh && !('username' in fresh)) logger.warn('the credentials are now an API key; restart to switch from a session');
    return fresh && 'username' in fresh ? { username: fresh.username, password: fresh.password } : undefined;
  };
}

export class HttpFilesClient implements FilesClient {
  readonly #options: ResolvedClientOptions;
  readonly #transport: Transport;
  readonly #api: ApiClient;
  readonly #auth: Auth;
  readonly #downloads: Downloader;
  readonly #uploadDeps: UploadDeps;
  readonly #stats = new ClientStats();
  readonly #health: Health;
  #closed = false;

  constructor(options: ClientOptions | ResolvedClientOptions) {
    const o = 'caPem' in options ? (options as ResolvedClientOptions) : resolveClientOptions(options as ClientOptions);
    this.#options = o;
    const logger = o.logger;
    const policy = new RetryPolicy({ retries: o.retries, baseDelayMs: o.retryBaseDelayMs, maxDelayMs: o.retryMaxDelayMs });
    this.#transport = new Transport(o);
    // Probe while unreachable: a one-entry listing of the site root (any answer will do, even a 403).
    this.#health = new Health(logger, async () => {
      await this.#api.call({ method: 'GET', route: '/folders/', query: { per_page: 1 }, kind: 'probe', probe: true });
    });
    const transport = this.#transport;
    const guard: Resilience = {
      stats: this.#stats,
      hedger: new Hedger(this.#stats),
      health: this.#health,
      uploadRate: new LinkRate(),
      metadataTimeoutMs: o.metadataTimeoutMs,
      stallTimeoutMs: o.stallTimeoutMs,
      requestTimeoutMs: o.requestTimeoutMs,
      spareConnection: (origin, lane) => transport.spareConnection(origin, lane),
    };
    this.#api = new ApiClient(o, this.#transport, policy, logger, o.userAgent, guard);
    const creds = o.credentials;
    this.#auth = 'apiKey' in creds
      ? new ApiKeyAuth(creds.apiKey, keySource(o.credentialsSource, logger))
      : new SessionAuth(creds.username, creds.password, async (username, password) => {
          const res = await this.#api.call<unknown>({ method: 'POST', route: '/sessions', body: { username, password }, authenticated: false });
          return res.body;
        }, loginSource(o.credentialsSource, logger));
    this.#api.setAuth(this.#auth);
    this.#downloads = new Downloader(this.#api, this.#transport, new DownloadUrlCache(o.now), policy, logger, o.userAgent, o.now, guard);
    this.#uploadDeps = {
      api: this.#api,
      transport: this.#transport,
      policy,
      logger,
      userAgent: o.userAgent,
      partConcurrency: o.partConcurrency,
      guard,
      stat: (path, signal) => this.stat(path, { signal }),
    };
  }

  /** What the client did so far (a frozen snapshot): requests by kind and outcome, retries, hedges, stalls, bytes. */
  get stats(): ClientStatsSnapshot {
    return this.#stats.snapshot();
  }

  /** Whether the server answers: reachable, or unreachable since when, with the last error. */
  get health(): HealthSnapshot {
    return this.#health.snapshot();
  }

  /** Calls `listener` whenever the server becomes unreachable or reachable again; returns the unsubscribe. */
  onHealthChange(listener: (health: HealthSnapshot) => void): () => void {
    return this.#health.onChange(listener);
  }

  get baseUrl(): string {
    return this.#options.baseUrl;
  }

  /** The undici dispatchers, API calls and transfers (for pool stats in benchmarks and tests). */
  get dispatchers(): { api: Transport['agent']; data: Transport['dataAgent'] } {
    return { api: this.#transport.agent, data: this.#transport.dataAgent };
  }

  async stat(path: string, options: RangeOptions = {}): Promise<RemoteEntry> {
    // The site root has no metadata call of its own (docs/files-api.md §3).
    if (normalize(path) === '') return rootEntry(new Date(0));
    const route = routeFor('/file_actions/metadata', path);
    const res = await this.#api.call<unknown>({ method: 'GET', route, signal: options.signal });
    return parseEntry(res.body, `GET ${route}`);
  }

  list(path: string, options: ListOptions = {}): AsyncIterable<RemoteEntry[]> {
    const perPage = options.perPage ?? this.#options.perPage;
    if (!Number.isInteger(perPage) || perPage < 1 || perPage > MAX_PER_PAGE) throw new RangeError(`list: perPage must be 1 … ${MAX_PER_PAGE}, got ${perPage}`);
    return listPages(this.#api, path, { perPage, filter: options.filter, signal: options.signal });
  }

  readRange(path: string, offset: number, length: number, options: RangeOptions = {}): Promise<Buffer> {
    return this.#downloads.readRange(path, offset, length, options.signal, options.pin);
  }

  readRangeChunks(path: string, offset: number, length: number, options: RangeOptions = {}): Promise<Buffer[]> {
    return this.#downloads.readRangeChunks(path, offset, length, options.signal, false, options.pin);
  }

  readRangeInto(path: string, offset: number, targets: readonly Buffer[], options: RangeOptions = {}): Promise<number> {
    return this.#downloads.readRangeInto(path, offset, targets, options.signal, options.pin, options.onBytes);
  }

  createReadStream(path: string, options: StreamOptions = {}): Promise<Readable> {
    return this.#downloads.createReadStream(path, options.offset ?? 0, options.length, options.signal);
  }

  invalidateDownload(path: string): void {
    this.#downloads.cache.invalidate(path, false);
  }

  async upload(path: string, source: UploadSource, options: UploadOptions = {}): Promise<RemoteEntry> {
    try {
      return await uploadFile(this.#uploadDeps, normalize(path), source, options);
    } finally {
      this.#downloads.cache.invalidate(path, false);
    }
  }

  async beginPartialUpload(path: string, file: string, options: { mkdirParents?: boolean; signal?: AbortSignal } = {}): Promise<PartialUpload> {
    return UploadSession.open(this.#uploadDeps, normalize(path), file, { ...options, onFinished: () => this.#downloads.cache.invalidate(path, false) });
  }

  async mkdir(path: string, options: { parents?: boolean; mtime?: Date; signal?: AbortSignal } = {}): Promise<RemoteEntry> {
    const route = routeFor('/folders', path);
    let existing: RemoteEntry | undefined;
    const res = await this.#api.call<unknown>({
      method: 'POST',
      route,
      body: { mkdir_parents: options.parents ?? false, ...(options.mtime ? { provided_mtime: options.mtime.toISOString() } : {}) },
      signal: options.signal,
      replay: async (err: FilesError) => {
        if (!(err instanceof DestinationExistsError)) return false;
        existing = await this.stat(path, { signal: options.signal }).catch(() => undefined);
        return existing?.type === 'directory';
      },
    });
    if (res.replayed && existing) return existing;
    return parseEntry(res.body, `POST ${route}`);
  }

  async delete(path: string, options: { recursive?: boolean; signal?: AbortSignal } = {}): Promise<void> {
    const route = routeFor('/files', path);
    try {
      await this.#api.call({
        method: 'DELETE',
        route,
        query: options.recursive ? { recursive: true } : {},
        signal: options.signal,
        replay: async (err: FilesError) => err instanceof NotFoundError,
      });
    } finally {
      this.#downloads.cache.invalidate(path);
    }
  }

  async move(from: string, to: string, options: { overwrite?: boolean; signal?: AbortSignal } = {}): Promise<void> {
    try {
      // Replay: "source not found" after an uncertain attempt means it moved, if the destination is there.
      await this.#fileAction('move', from, to, options, async (err) =>
        err instanceof NotFoundError && (await this.stat(to, { signal: options.signal }).catch(() => undefined)) !== undefined);
    } finally {
      this.#downloads.cache.invalidate(from);
      this.#downloads.cache.invalidate(to);
    }
  }

  async copy(from: string, to: string, options: { overwrite?: boolean; signal?: AbortSignal } = {}): Promise<void> {
    try {
      // Replay: "destination exists" after an uncertain attempt means the copy was made.
      await this.#fileAction('copy', from, to, options, async (err) => err instanceof DestinationExistsError);
    } finally {
      this.#downloads.cache.invalidate(to);
    }
  }

  /** POST /file_actions/{move|copy}, then wait for its migration to complete. */
  async #fileAction(
    action: 'move' | 'copy',
    from: string,
    to: string,
    options: { overwrite?: boolean; signal?: AbortSignal },
    replay: (err: FilesError) => Promise<boolean>,
  ): Promise<void> {
    const res = await this.#api.call<unknown>({
      method: 'POST',
      route: routeFor(`/file_actions/${action}`, from),
      body: { destination: normalize(to), ...(options.overwrite !== undefined ? { overwrite: options.overwrite } : {}) },
      signal: options.signal,
      replay,
    });
    if (res.replayed) return;
    await awaitFileAction(res.body, { api: this.#api, timeoutMs: this.#options.migrationTimeoutMs, now: Date.now, signal: options.signal, what: `${action} ${from} → ${to}` });
  }

  setMtime(path: string, mtime: Date, options: RangeOptions = {}): Promise<RemoteEntry> {
    return this.update(path, { mtime }, options);
  }

  async update(path: string, changes: EntryUpdate, options: RangeOptions = {}): Promise<RemoteEntry> {
    const body: Record<string, unknown> = {};
    if (changes.mtime !== undefined) {
      if (Number.isNaN(changes.mtime.getTime())) throw new RangeError('update: invalid date');
      body.provided_mtime = changes.mtime.toISOString();
    }
    // The server replaces the whole object (docs/files-api.md §13).
    if (changes.customMetadata !== undefined) body.custom_metadata = { ...changes.customMetadata };
    const route = routeFor('/files', path);
    const res = await this.#api.call<unknown>({ method: 'PATCH', route, body, signal: options.signal });
    const entry = parseEntry(res.body, `PATCH ${route}`);
    // Same bytes, new times: keep the cached download URL valid for comparison.
    this.#downloads.cache.touch(path, entry.serverMtime?.getTime() ?? null);
    return entry;
  }

  lock(path: string, request: { exclusive: boolean; timeoutSeconds: number }, options: { signal?: AbortSignal } = {}): Promise<RemoteLock> {
    return createLock(this.#api, path, request, options.signal);
  }

  unlock(path: string, token: string, options: { signal?: AbortSignal } = {}): Promise<void> {
    return deleteLock(this.#api, path, token, options.signal);
  }

  locks(path: string, options: { includeChildren?: boolean; signal?: AbortSignal } = {}): Promise<RemoteLock[]> {
    return listLocks(this.#api, path, options);
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#health.close();
    if (this.#auth instanceof SessionAuth && this.#auth.loggedIn) {
      try {
        await this.#api.call({ method: 'DELETE', route: '/sessions', signal: AbortSignal.timeout(LOGOUT_TIMEOUT_MS), renewSession: false });
      } catch (err) {
        this.#options.logger.debug(`logout failed (ignored): ${(err as Error).message}`);
      }
    }
    await this.#transport.close();
  }

  toJSON(): Record<string, unknown> {
    return { client: 'HttpFilesClient', baseUrl: this.#options.baseUrl, auth: this.#auth.kind };
  }

  [inspect.custom](): string {
    return `HttpFilesClient { baseUrl: ${this.#options.baseUrl}, auth: ${this.#auth.kind} }`;
  }
}

/** A FilesClient for `options` (validated here; ConfigError on a bad value). */
export function createFilesClient(options: ClientOptions): HttpFilesClient {
  return new HttpFilesClient(options);
}
