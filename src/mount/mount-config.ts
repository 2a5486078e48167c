// `filesfs mount`'s configuration: command-line flags and environment
// variables turned into one validated MountConfig, with every default in one
// place (MOUNT_DEFAULTS, also what `--help` and the README show). Values are
// checked here, so a bad one fails before anything starts, in one line that
// names the flag. Paths are made absolute here, so a daemon child can leave
// the caller's working folder.
//
// Credentials are not flags: `--api-key` is refused (a key in argv is visible
// to every user in `ps`); the sources (--api-key-file, environment, netrc)
// are resolved by `resolveCredentials` when the mount starts.
import { join, resolve } from 'node:path';
import { CLIENT_DEFAULTS, MAX_PER_PAGE, type ClientOptions } from '../client/index.js';
import { defaultCacheDir } from './cache-dir.js';
import { ConfigError } from '../options/config-error.js';
import { parseBaseUrl, parseBytes, parseChoice, parseInteger, parseOctal, parseSeconds } from '../options/parse.js';
import { LOG_LEVELS, type LogLevel } from '../log/logger.js';
import { normalize } from '../path/index.js';
import { CONFLICT_POLICIES, DEFAULT_LOCAL_ONLY, DEFAULTS as VFS_DEFAULTS, globToRegExp, MAX_PREFETCH_FILES, type FilesystemOptions, WRITE_BACK_DEFAULTS, type WriteBackOptions } from '../vfs/index.js';
import { parseExtraOptions, sanitizeSourceName, type MountOptionsInput } from '../fuse/index.js';
import type { CredentialSources } from './credentials.js';
import { applyOptionSpellings } from './option-spellings.js';
import { parseListenAddress, type ListenAddress } from '../options/listen-address.js';

const KiB = 1024;
const MiB = 1024 * KiB;

/** Defaults of the flags, in the flags' own units. */
export const MOUNT_DEFAULTS = {
  baseUrl: CLIENT_DEFAULTS.baseUrl,
  attrTtlSeconds: VFS_DEFAULTS.attrTtlMs / 1000,
  dirTtlSeconds: VFS_DEFAULTS.dirTtlMs / 1000,
  umask: VFS_DEFAULTS.umask,
  logLevel: 'info' as LogLevel,
  connectTimeoutSeconds: CLIENT_DEFAULTS.connectTimeoutMs / 1000,
  timeoutSeconds: CLIENT_DEFAULTS.requestTimeoutMs / 1000,
  metadataTimeoutSeconds: CLIENT_DEFAULTS.metadataTimeoutMs / 1000,
  stallTimeoutSeconds: CLIENT_DEFAULTS.stallTimeoutMs / 1000,
  retries: CLIENT_DEFAULTS.retries,
  perPage: CLIENT_DEFAULTS.perPage,
  connections: CLIENT_DEFAULTS.connections,
  readAheadBytes: VFS_DEFAULTS.readAheadMaxBytes,
  readCacheBytes: VFS_DEFAULTS.readCacheTotalBytes,
  cacheSizeBytes: VFS_DEFAULTS.contentCacheBytes,
  cacheMinFreeBytes: VFS_DEFAULTS.contentCacheMinFreeBytes,
  prefetchFiles: VFS_DEFAULTS.prefetchFiles,
  uploadDelayMs: WRITE_BACK_DEFAULTS.uploadDelayMs,
  uploadConcurrency: WRITE_BACK_DEFAULTS.uploadConcurrency,
} as const;

/** --poll-interval bounds, seconds: at most one poll a second, at least one a day. */
const MIN_POLL_INTERVAL_SECONDS = 1;
const MAX_POLL_INTERVAL_SECONDS = 86_400;

/**
 * Memory for file contents must hold two of the largest range requests (one
 * in flight while readers copy out of the other; see src/vfs/options.ts).
 */
export const MIN_READ_CACHE = 2 * VFS_DEFAULTS.readRequestMaxBytes;

/** The content cache's folder inside the cache dir. */
export const CONTENT_CACHE_FOLDER = 'content';

/** The flags of `filesfs mount`, for util.parseArgs. */
export const MOUNT_FLAGS = {
  'base-url': { type: 'string' },
  'api-key-file': { type: 'string' },
  'api-key': { type: 'string' },
  root: { type: 'string' },
  'cache-dir': { type: 'string' },
  'attr-ttl': { type: 'string' },
  'dir-ttl': { type: 'string' },
  'poll-interval': { type: 'string' },
  'read-only': { type: 'boolean' },
  uid: { type: 'string' },
  gid: { type: 'string' },
  umask: { type: 'string' },
  'allow-other': { type: 'boolean' },
  'no-posix-metadata': { type: 'boolean' },
  'no-xattrs': { type: 'boolean' },
  o: { type: 'string', short: 'o', multiple: true },
  daemon: { type: 'boolean' },
  'log-level': { type: 'string' },
  'ca-file': { type: 'string' },
  'source-ip': { type: 'string' },
  'connect-timeout': { type: 'string' },
  timeout: { type: 'string' },
  'metadata-timeout': { type: 'string' },
  'stall-timeout': { type: 'string' },
  retries: { type: 'string' },
  'per-page': { type: 'string' },
  connections: { type: 'string' },
  'read-ahead': { type: 'string' },
  'prefetch-files': { type: 'string' },
  'read-cache': { type: 'string' },
  'cache-size': { type: 'string' },
  'cache-min-free': { type: 'string' },
  'upload-delay': { type: 'string' },
  'upload-concurrency': { type: 'string' },
  'on-conflict': { type: 'string' },
  'local-only': { type: 'string', multiple: true },
  'no-local-only': { type: 'boolean' },
  'local-locks': { type: 'boolean' },
  'lock-on-write': { type: 'boolean' },
  metrics: { type: 'string' },
} as const;

export interface MountConfig {
  /** Absolute path of the mountpoint. */
  mountpoint: string;
  /** Site URL without a trailing slash. */
  baseUrl: string;
  /** Where the credentials come from (resolved when the mount starts). */
  credentials: Omit<CredentialSources, 'baseUrl' | 'logger'>;
  /** The remote folder shown at the mountpoint, normalized; '' = the site root. */
  remoteRoot: string;
  /** Absolute; defaultCacheDir(baseUrl, remoteRoot) unless --cache-dir. */
  cacheDir: string;
  daemon: boolean;
  logLevel: LogLevel;
  /** For HttpFilesClient (credentials and logger are added at start). */
  client: Omit<ClientOptions, 'credentials' | 'logger' | 'logLevel'>;
  /** For createFilesystem (remoteRoot is set from the server's spelling at start; logger added). */
  filesystem: Omit<FilesystemOptions, 'logger' | 'clock'>;
  /** For mountFilesystem. */
  mount: MountOptionsInput;
  /** For the write-back layer (the cache dir is added at start). */
  writeBack: Omit<WriteBackOptions, 'cacheDir'>;
  /** Name patterns of files kept only in the cache dir, never uploaded (empty: none). */
  localOnly: string[];
  /** Where to serve Prometheus metrics, and the option that said so (--metrics or -o metrics); none when absent. */
  metrics?: ListenAddress & { option: string };
}

/** Environment variables read for the base URL, in order. */
export const BASE_URL_ENV = ['FILES_BASE_URL', 'FILESCOM_BASE_URL'] as const;

function envBaseUrl(env: NodeJS.ProcessEnv): { value: string; name: string } | undefined {
  for (const name of BASE_URL_ENV) {
    const value = env[name]?.trim();
    if (value) return { value, name: `$${name}` };
  }
  return undefined;
}

/** Parses `filesfs mount` arguments (and the environment) into a MountConfig. Throws ConfigError. */
export function parseMountConfig(flagValues: Partial<Record<keyof typeof MOUNT_FLAGS, string | string[] | boolean>>, positionals: string[], env: NodeJS.ProcessEnv = process.env, cwd = process.cwd()): MountConfig {
  // `-o attr_ttl=10` is `--attr-ttl 10` (option-spellings.ts); -o keeps the libfuse options.
  const spelled = applyOptionSpellings(flagValues, MOUNT_FLAGS);
  const values = spelled.values as Partial<Record<keyof typeof MOUNT_FLAGS, string | string[] | boolean>>;
  const label = spelled.label;
  const str = (name: keyof typeof MOUNT_FLAGS): string | undefined => {
    const v = values[name];
    return typeof v === 'string' ? v : undefined;
  };
  if (values['api-key'] !== undefined) {
    throw new ConfigError('--api-key is not accepted: a key on the command line is visible to every user in `ps`; set FILES_API_KEY in the environment, or put the key in a file only you can read and pass --api-key-file FILE');
  }
  if (positionals.length === 0) throw new ConfigError('mount: missing the mountpoint (usage: filesfs mount <mountpoint> [options]; see --help)');
  if (positionals.length > 1) throw new ConfigError(`mount: one mountpoint only, got ${positionals.length} arguments (${positionals.map((p) => JSON.stringify(p)).join(' ')})`);
  const mountpoint = resolve(cwd, positionals[0]!);

  const urlFlag = str('base-url');
  const fromEnv = urlFlag === undefined ? envBaseUrl(env) : undefined;
  const baseUrl = parseBaseUrl(urlFlag !== undefined ? label('base-url') : fromEnv?.name ?? '--base-url', urlFlag ?? fromEnv?.value ?? MOUNT_DEFAULTS.baseUrl);

  const rootFlag = str('root');
  const remoteRoot = rootFlag === undefined ? '' : normalize(rootFlag.trim());
  if (rootFlag !== undefined && rootFlag.trim() === '') throw new ConfigError(`${label('root')}: expected a remote folder such as "Reports/2024" (leave it out for the whole site)`);

  const cacheFlag = str('cache-dir');
  const cacheDir = cacheFlag !== undefined ? resolve(cwd, cacheFlag) : defaultCacheDir(baseUrl, remoteRoot, env);

  const seconds = (flag: keyof typeof MOUNT_FLAGS, fallback: number, min = 0, max?: number): number => {
    const raw = str(flag);
    return raw === undefined ? fallback : parseSeconds(label(flag), raw, max === undefined ? { min } : { min, max });
  };
  const integer = (flag: keyof typeof MOUNT_FLAGS, fallback: number | undefined, min: number, max: number): number | undefined => {
    const raw = str(flag);
    return raw === undefined ? fallback : parseInteger(label(flag), raw, { min, max });
  };

  const attrTtlSeconds = seconds('attr-ttl', MOUNT_DEFAULTS.attrTtlSeconds);
  const dirTtlSeconds = seconds('dir-ttl', MOUNT_DEFAULTS.dirTtlSeconds);
  const pollIntervalSeconds = seconds('poll-interval', 0, 0, MAX_POLL_INTERVAL_SECONDS);
  // Every poll is billed: a fraction of a second would be thousands of requests an hour per folder.
  if (pollIntervalSeconds > 0 && pollIntervalSeconds < MIN_POLL_INTERVAL_SECONDS) {
    throw new ConfigError(`${label('poll-interval')}: expected 0 (off) or at least ${MIN_POLL_INTERVAL_SECONDS} second, got ${str('poll-interval')}`);
  }
  const uid = integer('uid', undefined, 0, 0xffff_fffe);
  const gid = integer('gid', undefined, 0, 0xffff_fffe);
  const umaskRaw = str('umask');
  const umask = umaskRaw === undefined ? MOUNT_DEFAULTS.umask : parseOctal(label('umask'), umaskRaw, 0o777);
  const readOnly = values['read-only'] === true;
  const allowOther = values['allow-other'] === true;
  const extra = (values.o as string[] | undefined) ?? [];
  // Validated now (with -o's own messages) rather than at mount time.
  const extraOptions = parseExtraOptions(extra);
  if (readOnly && extraOptions.includes('rw')) throw new ConfigError(`-o rw: conflicts with ${label('read-only')}`);

  const logLevelRaw = str('log-level');
  const logLevel = logLevelRaw === undefined ? MOUNT_DEFAULTS.logLevel : parseChoice(label('log-level'), logLevelRaw, LOG_LEVELS);

  const caFile = str('ca-file');
  const sourceIp = str('source-ip');
  const perPage = integer('per-page', MOUNT_DEFAULTS.perPage, 1, MAX_PER_PAGE)!;
  const client: MountConfig['client'] = {
    baseUrl,
    connectTimeoutMs: Math.round(seconds('connect-timeout', MOUNT_DEFAULTS.connectTimeoutSeconds, 0.001) * 1000),
    requestTimeoutMs: Math.round(seconds('timeout', MOUNT_DEFAULTS.timeoutSeconds, 0.001) * 1000),
    // The client's own limits (ClientOptions), in seconds: 10 minutes, 1 hour.
    metadataTimeoutMs: Math.round(seconds('metadata-timeout', MOUNT_DEFAULTS.metadataTimeoutSeconds, 0.001, 600) * 1000),
    stallTimeoutMs: Math.round(seconds('stall-timeout', MOUNT_DEFAULTS.stallTimeoutSeconds, 0.001, 3600) * 1000),
    retries: integer('retries', MOUNT_DEFAULTS.retries, 0, 20)!,
    perPage,
    connections: integer('connections', MOUNT_DEFAULTS.connections, 1, 1024)!,
    ...(caFile !== undefined ? { caFile: resolve(cwd, caFile) } : {}),
    ...(sourceIp !== undefined ? { sourceIp } : {}),
  };

  const readAheadRaw = str('read-ahead');
  const readAheadBytes = readAheadRaw === undefined ? MOUNT_DEFAULTS.readAheadBytes : parseBytes(label('read-ahead'), readAheadRaw, { min: VFS_DEFAULTS.readBlockSize, max: 1024 * MiB });
  if (readAheadBytes % VFS_DEFAULTS.readBlockSize !== 0) {
    throw new ConfigError(`${label('read-ahead')}: expected a multiple of ${VFS_DEFAULTS.readBlockSize / KiB}K (the read block size), got ${readAheadRaw}`);
  }
  const readCacheRaw = str('read-cache');
  const readCacheBytes = readCacheRaw === undefined ? MOUNT_DEFAULTS.readCacheBytes : parseBytes(label('read-cache'), readCacheRaw, { min: 1 });
  if (readCacheBytes < MIN_READ_CACHE) {
    throw new ConfigError(`${label('read-cache')}: must be at least ${MIN_READ_CACHE / MiB}M (two range requests of ${VFS_DEFAULTS.readRequestMaxBytes / MiB}M), got ${readCacheRaw}`);
  }
  const cacheSizeRaw = str('cache-size');
  const cacheSizeBytes = cacheSizeRaw === undefined ? MOUNT_DEFAULTS.cacheSizeBytes : parseBytes(label('cache-size'), cacheSizeRaw, { min: 0 });
  const minFreeRaw = str('cache-min-free');
  const cacheMinFreeBytes = minFreeRaw === undefined ? MOUNT_DEFAULTS.cacheMinFreeBytes : parseBytes(label('cache-min-free'), minFreeRaw, { min: 0 });

  if (values['local-locks'] === true && values['lock-on-write'] === true) {
    throw new ConfigError(`${label('lock-on-write')} takes Files.com locks; it cannot go with ${label('local-locks')}`);
  }
  const filesystem: MountConfig['filesystem'] = {
    remoteRoot,
    attrTtlMs: attrTtlSeconds * 1000,
    dirTtlMs: dirTtlSeconds * 1000,
    pollIntervalMs: Math.round(pollIntervalSeconds * 1000),
    umask,
    readOnly,
    listPageSize: perPage,
    readAheadInitialBytes: Math.min(VFS_DEFAULTS.readAheadInitialBytes, readAheadBytes),
    readAheadMaxBytes: readAheadBytes,
    readCachePerFileBytes: Math.min(VFS_DEFAULTS.readCachePerFileBytes, readCacheBytes),
    readCacheTotalBytes: readCacheBytes,
    contentCacheDir: join(cacheDir, CONTENT_CACHE_FOLDER),
    contentCacheBytes: cacheSizeBytes,
    contentCacheMinFreeBytes: cacheMinFreeBytes,
    prefetchFiles: integer('prefetch-files', MOUNT_DEFAULTS.prefetchFiles, 0, MAX_PREFETCH_FILES)!,
    serverLocks: values['local-locks'] !== true,
    lockOnWrite: values['lock-on-write'] === true,
    posixMetadata: values['no-posix-metadata'] !== true,
    xattrs: values['no-xattrs'] !== true,
    ...(uid !== undefined ? { uid } : {}),
    ...(gid !== undefined ? { gid } : {}),
  };

  const writeBack: MountConfig['writeBack'] = {
    // Milliseconds, like rclone's --vfs-write-back takes a duration: 0 = at once.
    uploadDelayMs: integer('upload-delay', MOUNT_DEFAULTS.uploadDelayMs, 0, 24 * 3600 * 1000)!,
    uploadConcurrency: integer('upload-concurrency', MOUNT_DEFAULTS.uploadConcurrency, 1, 256)!,
    // Small files' uploads hold one connection each at a time, and none while
    // they wait to retry (Retry-After, backoff): four times as many as the
    // pool has (at 10 % faults, cp -r of 1,000 small files in took 18.8 s
    // with twice as many, 13.9 s with four times).
    smallUploadConcurrency: Math.min(4 * (client.connections ?? MOUNT_DEFAULTS.connections), 256),
    onConflict: str('on-conflict') === undefined ? WRITE_BACK_DEFAULTS.onConflict : parseChoice(label('on-conflict'), str('on-conflict')!, CONFLICT_POLICIES),
  };

  const extraLocalOnly = (values['local-only'] as string[] | undefined) ?? [];
  for (const glob of extraLocalOnly) {
    try {
      globToRegExp(glob);
    } catch (err) {
      throw new ConfigError(`${label('local-only')}: ${(err as Error).message}`);
    }
  }
  const localOnly = [...(values['no-local-only'] === true ? [] : DEFAULT_LOCAL_ONLY), ...extraLocalOnly];

  const apiKeyFile = str('api-key-file');
  const metricsRaw = str('metrics');
  return {
    mountpoint,
    baseUrl,
    credentials: {
      env,
      ...(apiKeyFile !== undefined ? { apiKeyFile: resolve(cwd, apiKeyFile) } : {}),
      ...(apiKeyFile !== undefined && label('api-key-file') !== '--api-key-file' ? { apiKeyFileOption: label('api-key-file') } : {}),
    },
    remoteRoot,
    cacheDir,
    daemon: values.daemon === true,
    logLevel,
    client,
    filesystem,
    mount: {
      sourceName: sourceName(baseUrl, remoteRoot),
      readOnly,
      allowOther,
      extraOptions,
    },
    writeBack,
    localOnly,
    ...(metricsRaw !== undefined ? { metrics: { ...parseListenAddress(label('metrics'), metricsRaw), option: label('metrics') } } : {}),
  };
}

/** What /proc/mounts shows as the source: "host:/root", e.g. "example.files.com:/Reports". */
export function sourceName(baseUrl: string, remoteRoot: string): string {
  return sanitizeSourceName(`${new URL(baseUrl).host}:/${remoteRoot}`);
}
