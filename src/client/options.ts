// Options of the Files.com client (src/client), typed, with documented
// defaults, validated once by `resolveClientOptions` into a complete,
// read-only ResolvedClientOptions. Every later module reads only the resolved
// form, so a bad value fails here with one ConfigError line that names the
// option, never halfway through a transfer. Secrets (API key, password) are
// registered with the logger here, before any request can carry them.
import { readFileSync } from 'node:fs';
import { isIP } from 'node:net';
import { createLogger, isLogLevel, registerSecret, type Logger, type LogLevel } from '../log/logger.js';
import { USER_AGENT } from '../version.js';
import { checkInteger } from '../options/check.js';
import { ConfigError } from '../options/config-error.js';
import { parseBaseUrl } from '../options/parse.js';
import type { RequestObserver } from './observer.js';

/** An API key, or a username and password for a session (POST /sessions). */
export type ClientCredentials = { apiKey: string } | { username: string; password: string };

/**
 * Gives the current credentials again (e.g. the mount re-reads
 * --api-key-file). Asked after a 401: a different API key is used at once.
 * May throw (the file is gone): the 401 then stands.
 */
export type CredentialsSource = () => ClientCredentials | Promise<ClientCredentials>;

export interface ClientOptions {
  /** Site URL. Default https://app.files.com (every SDK's default). */
  baseUrl?: string;
  credentials: ClientCredentials;
  /** Where fresh credentials come from after a 401 (none: a 401 with an API key is final). */
  credentialsSource?: CredentialsSource;
  /** TCP (+TLS) connect timeout. Default 10,000 ms (undici's own default). */
  connectTimeoutMs?: number;
  /**
   * The outer bound of any one request: the longest silence while waiting for
   * response headers or between body chunks (undici's read/idle timeout;
   * refreshed while a request body is being written). Default 60,000 ms, the
   * official JS SDK's request timeout. The deadlines below are shorter.
   */
  requestTimeoutMs?: number;
  /**
   * Deadline of the first attempt of a small API call (metadata, a listing
   * page of up to 1,000 entries, a download URL, mkdir, delete, move, PATCH,
   * begin_upload, end): no answer by then, and the request is abandoned and
   * retried. Doubles per retry; a whole call takes at most three of it
   * (deadlines.ts). Default 5,000 ms.
   */
  metadataTimeoutMs?: number;
  /**
   * Stall deadline of a data transfer (range GET, streamed download, part
   * PUT): abandoned when no bytes moved for this long (plus what the kernel
   * still holds of an upload; stall-watch.ts), however long the whole
   * transfer takes. Default 10,000 ms.
   */
  stallTimeoutMs?: number;
  /** Retries after the first attempt for transient failures. Default 3 (all SDKs). */
  retries?: number;
  /** First retry delay before jitter. Default 500 ms (JS/PY/RB SDKs). */
  retryBaseDelayMs?: number;
  /** Largest retry delay before jitter. Default 2,000 ms (PY/RB SDKs). */
  retryMaxDelayMs?: number;
  /** Default entries per listing page. Default 1,000 (the API's recommended maximum); 1 … 10,000. */
  perPage?: number;
  /** Keep-alive connections per origin (API host and each presigned-URL host). Default 16. */
  connections?: number;
  /** Parts of one upload in flight at once. Default 8. */
  partConcurrency?: number;
  /** Local address to bind outgoing connections to (IPv4 or IPv6). */
  sourceIp?: string;
  /** Extra PEM CA bundle trusted in addition to the default roots (and NODE_EXTRA_CA_CERTS). */
  caFile?: string;
  /** How long move/copy may wait for the server's file migration. Default 600,000 ms. */
  migrationTimeoutMs?: number;
  logLevel?: LogLevel;
  /** Used as is when given (then logLevel is ignored); a child "client" logger otherwise. */
  logger?: Logger;
  /** Default `filesfs/<version>`. */
  userAgent?: string;
  /** Clock for URL expiry decisions; tests only. Default Date.now. */
  now?: () => number;
  /** Told about every request attempt (observer.ts), e.g. for metrics. */
  observer?: RequestObserver;
}

export interface ResolvedClientOptions {
  readonly baseUrl: string;
  readonly credentials: Readonly<ClientCredentials>;
  readonly credentialsSource: CredentialsSource | undefined;
  readonly connectTimeoutMs: number;
  readonly requestTimeoutMs: number;
  readonly metadataTimeoutMs: number;
  readonly stallTimeoutMs: number;
  readonly retries: number;
  readonly retryBaseDelayMs: number;
  readonly retryMaxDelayMs: number;
  readonly perPage: number;
  readonly connections: number;
  readonly partConcurrency: number;
  readonly sourceIp: string | undefined;
  readonly caFile: string | undefined;
  /** The PEM text of caFile, read once here. */
  readonly caPem: string | undefined;
  readonly migrationTimeoutMs: number;
  readonly logger: Logger;
  readonly userAgent: string;
  readonly now: () => number;
  readonly observer: RequestObserver | undefined;
}

export const CLIENT_DEFAULTS = {
  baseUrl: 'https://app.files.com',
  connectTimeoutMs: 10_000,
  requestTimeoutMs: 60_000,
  metadataTimeoutMs: 5_000,
  stallTimeoutMs: 10_000,
  retries: 3,
  retryBaseDelayMs: 500,
  retryMaxDelayMs: 2_000,
  perPage: 1_000,
  connections: 16,
  partConcurrency: 8,
  migrationTimeoutMs: 600_000,
} as const;

/** The API's hard limit on entries per page (docs/files-api.md §2). */
export const MAX_PER_PAGE = 10_000;

function int(name: string, value: number | undefined, fallback: number, min: number, max: number): number {
  return value === undefined ? fallback : checkInteger(name, value, min, max);
}

function checkCredentials(credentials: ClientCredentials | undefined): ClientCredentials {
  if (!credentials || typeof credentials !== 'object') throw new ConfigError('credentials: expected { apiKey } or { username, password }');
  if ('apiKey' in credentials) {
    if (typeof credentials.apiKey !== 'string' || credentials.apiKey.trim() === '') throw new ConfigError('credentials.apiKey: must not be empty');
    registerSecret(credentials.apiKey);
    // Header values cannot carry CR/LF; the API's keys are alphanumeric (docs/files-api.md §1).
    if (/[\r\n]/.test(credentials.apiKey)) throw new ConfigError('credentials.apiKey: must not contain line breaks');
    return { apiKey: credentials.apiKey };
  }
  if ('username' in credentials) {
    if (typeof credentials.password === 'string') registerSecret(credentials.password);
    if (typeof credentials.username !== 'string' || credentials.username === '') throw new ConfigError('credentials.username: must not be empty');
    if (typeof credentials.password !== 'string' || credentials.password === '') throw new ConfigError('credentials.password: must not be empty');
    return { username: credentials.username, password: credentials.password };
  }
  throw new ConfigError('credentials: expected { apiKey } or { username, password }');
}

function readCaFile(caFile: string): string {
  let pem: string;
  try {
    pem = readFileSync(caFile, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new ConfigError(`caFile ${caFile}: ${code === 'ENOENT' ? 'no such file' : (err as Error).message}`);
  }
  if (!pem.includes('-----BEGIN CERTIFICATE-----')) throw new ConfigError(`caFile ${caFile}: no PEM certificate in it (expected "-----BEGIN CERTIFICATE-----")`);
  return pem;
}

/** Validates `options` and fills in every default. Throws ConfigError. */
export function resolveClientOptions(options: ClientOptions): ResolvedClientOptions {
  const credentials = checkCredentials(options.credentials);
  const retryBaseDelayMs = int('retryBaseDelayMs', options.retryBaseDelayMs, CLIENT_DEFAULTS.retryBaseDelayMs, 0, 60_000);
  const retryMaxDelayMs = int('retryMaxDelayMs', options.retryMaxDelayMs, Math.max(CLIENT_DEFAULTS.retryMaxDelayMs, retryBaseDelayMs), 0, 600_000);
  if (retryMaxDelayMs < retryBaseDelayMs) {
    throw new ConfigError(`retryMaxDelayMs: must be ≥ retryBaseDelayMs (${retryBaseDelayMs}), got ${retryMaxDelayMs}`);
  }
  if (options.sourceIp !== undefined && isIP(options.sourceIp) === 0) {
    throw new ConfigError(`sourceIp: expected an IPv4 or IPv6 address, got ${JSON.stringify(options.sourceIp)}`);
  }
  if (options.logLevel !== undefined && !isLogLevel(options.logLevel)) {
    throw new ConfigError(`logLevel: expected one of silent, error, warn, info, debug, trace, got ${JSON.stringify(options.logLevel)}`);
  }
  if (options.userAgent !== undefined && (options.userAgent === '' || /[\r\n]/.test(options.userAgent))) {
    throw new ConfigError('userAgent: must be a non-empty single line');
  }
  if (options.credentialsSource !== undefined && typeof options.credentialsSource !== 'function') {
    throw new ConfigError('credentialsSource: expected a function returning { apiKey } or { username, password }');
  }
  const logger = options.logger ?? createLogger({ level: options.logLevel ?? 'info' }).child('client');
  const resolved = {
    baseUrl: parseBaseUrl('baseUrl', options.baseUrl ?? CLIENT_DEFAULTS.baseUrl),
    connectTimeoutMs: int('connectTimeoutMs', options.connectTimeoutMs, CLIENT_DEFAULTS.connectTimeoutMs, 1, 600_000),
    requestTimeoutMs: int('requestTimeoutMs', options.requestTimeoutMs, CLIENT_DEFAULTS.requestTimeoutMs, 1, 3_600_000),
    metadataTimeoutMs: int('metadataTimeoutMs', options.metadataTimeoutMs, CLIENT_DEFAULTS.metadataTimeoutMs, 1, 600_000),
    stallTimeoutMs: int('stallTimeoutMs', options.stallTimeoutMs, CLIENT_DEFAULTS.stallTimeoutMs, 1, 3_600_000),
    credentialsSource: options.credentialsSource,
    retries: int('retries', options.retries, CLIENT_DEFAULTS.retries, 0, 20),
    retryBaseDelayMs,
    retryMaxDelayMs,
    perPage: int('perPage', options.perPage, CLIENT_DEFAULTS.perPage, 1, MAX_PER_PAGE),
    connections: int('connections', options.connections, CLIENT_DEFAULTS.connections, 1, 1_024),
    partConcurrency: int('partConcurrency', options.partConcurrency, CLIENT_DEFAULTS.partConcurrency, 1, 256),
    sourceIp: options.sourceIp,
    caFile: options.caFile,
    caPem: options.caFile === undefined ? undefined : readCaFile(options.caFile),
    migrationTimeoutMs: int('migrationTimeoutMs', options.migrationTimeoutMs, CLIENT_DEFAULTS.migrationTimeoutMs, 1, 24 * 3_600_000),
    logger,
    userAgent: options.userAgent ?? USER_AGENT,
    now: options.now ?? Date.now,
    observer: options.observer,
  };
  // Not enumerable: JSON.stringify and util.inspect of the options (or of an
  // object holding them) never show the key or password.
  Object.defineProperty(resolved, 'credentials', { value: Object.freeze(credentials), enumerable: false });
  return Object.freeze(resolved as typeof resolved & { credentials: ClientCredentials });
}
