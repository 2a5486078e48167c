// The local Files.com API emulator: a stateful stand-in for the parts of the
// Files.com REST API filesfs uses, faithful to the wire formats of
// docs/files-api.md, stored on disk, with injectable latency, bandwidth
// limits and faults. `startEmulator` is the programmatic entry (tests,
// benchmarks, the demo); `filesfs emulator` wraps it. See README.md here for
// what it emulates, the choices it makes, and its limits.
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { AddressInfo } from 'node:net';
import { silentLogger, type Logger } from '../log/logger.js';
import { Auth, type ApiKeyGrant } from './auth.js';
import { Behaviors } from './behaviors.js';
import { Blobs } from './blobs.js';
import type { EmulatorContext } from './context.js';
import { applyConfig, checkConfig, type RuntimeConfig } from './control.js';
import { seedDemo } from './demo-seed.js';
import { FAULT_KINDS, Faults, STALL_MS, type FaultKind } from './faults.js';
import { Hasher } from './hasher.js';
import { Locks } from './locks.js';
import { DEFAULT_MIGRATION_MS, Migrations } from './migrations.js';
import { createServer } from './server.js';
import { Signer } from './signing.js';
import { Stats, type EmulatorStats } from './stats.js';
import { Store } from './store.js';
import { Throttle } from './throttle.js';
import { ensureSelfSigned } from './tls.js';
import { Uploads } from './uploads.js';
import { Users } from './users.js';

export type { FaultKind } from './faults.js';
export { FAULT_KINDS, isFaultKind } from './faults.js';
export type { EmulatorStats } from './stats.js';
export type { ApiKeyGrant } from './auth.js';
export { DEFAULT_USERNAME } from './users.js';

/** Presigned download URL lifetime, like the S3 URLs the real service hands out. */
export const DEFAULT_DOWNLOAD_TTL_SECONDS = 60;
/** Presigned upload URL lifetime (the recordings show X-Amz-Expires=900). */
export const DEFAULT_UPLOAD_TTL_SECONDS = 900;

export interface EmulatorOptions {
  /** On-disk store; default: a fresh temp dir, removed on stop. */
  dataDir?: string;
  /** Default 0 (any free port). */
  port?: number;
  /** Default 127.0.0.1. */
  host?: string;
  /** An API key of the default user ("admin"). With any key or user set, every API request needs a key or a session. */
  apiKey?: string;
  /** More API keys, each acting as its user (the default user when `username` is absent). */
  apiKeys?: ApiKeyGrant[];
  /** Users who may log in with POST /sessions (X-FilesAPI-Auth). */
  users?: Array<{ username: string; password: string }>;
  latencyMs?: number;
  /** Bytes per second for upload and download bodies (each direction shared by all requests). */
  bandwidth?: number;
  /** Probability (0…1) that a request is faulted. */
  faultRate?: number;
  /** Fault kinds to draw from; default: all of them when faultRate is set. */
  faults?: FaultKind[];
  /** Seeds the fault draws, so the same requests in the same order meet the same faults. */
  faultSeed?: number;
  /** How long a stalled request is held before its connection is dropped (default 5 minutes). */
  stallMs?: number;
  /** Download URL lifetime in seconds (default 60). */
  downloadTtlSeconds?: number;
  /** Upload part URL lifetime in seconds (default 900). */
  uploadTtlSeconds?: number;
  /** How long a folder move/copy takes before it completes (default 300 ms). */
  migrationMs?: number;
  tls?: boolean | { certFile: string; keyFile: string };
  /** Adds demo folders and files when the store is empty. */
  seedDemo?: boolean;
  logger?: Logger;
}

export interface RunningEmulator {
  /** Base URL, e.g. http://127.0.0.1:41234 (no trailing slash). */
  url: string;
  port: number;
  dataDir: string;
  /** With tls: the PEM certificate clients must trust. */
  caCertFile?: string;
  stats(): EmulatorStats;
  resetStats(): void;
  configure(patch: RuntimeConfig): void;
  /** Waits until background hashing is done (md5/crc32 filled in). */
  idle(): Promise<void>;
  /** Closes the server and all connections. */
  stop(): Promise<void>;
  /** The emulator's internals, for test fixtures. Not an API. */
  readonly internals: EmulatorContext;
}

export async function startEmulator(options: EmulatorOptions = {}): Promise<RunningEmulator> {
  const logger = options.logger ?? silentLogger;
  checkConfig(options);
  const ownDir = !options.dataDir;
  const dataDir = options.dataDir ?? (await mkdtemp(join(tmpdir(), 'files-emulator-')));
  await mkdir(dataDir, { recursive: true });

  const store = await Store.open(join(dataDir, 'meta'), logger);
  const keys: ApiKeyGrant[] = [...(options.apiKey ? [{ key: options.apiKey }] : []), ...(options.apiKeys ?? [])];
  const usernames = [...(options.users ?? []).map((u) => u.username), ...keys.flatMap((k) => (k.username === undefined ? [] : [k.username]))];
  const users = await Users.open(dataDir, usernames);
  const blobs = await Blobs.open(dataDir, store.referencedBlobs(), logger);
  store.onBlobReferences((id, n) => blobs.referencesChanged(id, n));
  blobs.countReferencesWith((id) => store.referencedBlobs().get(id) ?? 0);
  const ctx: EmulatorContext = {
    store,
    blobs,
    uploads: await Uploads.open(dataDir),
    hasher: new Hasher(store, blobs, logger),
    signer: await Signer.load(dataDir),
    migrations: new Migrations(options.migrationMs ?? DEFAULT_MIGRATION_MS, logger),
    users,
    auth: new Auth(users, keys, options.users),
    locks: new Locks(store),
    behaviors: new Behaviors(store),
    stats: new Stats(),
    faults: new Faults(),
    uploadThrottle: new Throttle(),
    downloadThrottle: new Throttle(),
    settings: {
      latencyMs: 0,
      stallMs: STALL_MS,
      downloadTtlSeconds: options.downloadTtlSeconds ?? DEFAULT_DOWNLOAD_TTL_SECONDS,
      uploadTtlSeconds: options.uploadTtlSeconds ?? DEFAULT_UPLOAD_TTL_SECONDS,
    },
    completed: new Map(),
    logger,
  };
  // A fault rate without a list of kinds means every kind (as on the command line).
  const faults = options.faults ?? (options.faultRate ? [...FAULT_KINDS] : undefined);
  applyConfig(ctx, { latencyMs: options.latencyMs, bandwidth: options.bandwidth, faultRate: options.faultRate, faults, stallMs: options.stallMs, faultSeed: options.faultSeed });
  // Files left without hashes by a stop in the middle of hashing get them now.
  for (const id of store.filesWithoutHashes()) ctx.hasher.enqueue(id, store.byId(id)!.blob!);

  if (options.seedDemo && store.size === 0) await seedDemo(ctx);

  let tls: { cert: string; key: string } | null = null;
  let caCertFile: string | undefined;
  const host = options.host ?? '127.0.0.1';
  if (options.tls === true) {
    const files = await ensureSelfSigned(dataDir, host);
    tls = files;
    caCertFile = files.certFile;
  } else if (options.tls) {
    const { readFile } = await import('node:fs/promises');
    tls = { cert: await readFile(options.tls.certFile, 'utf8'), key: await readFile(options.tls.keyFile, 'utf8') };
    caCertFile = options.tls.certFile;
  }

  const handle = createServer(ctx, tls);
  await new Promise<void>((resolve, reject) => {
    handle.server.once('error', reject);
    handle.server.listen(options.port ?? 0, host, () => {
      handle.server.off('error', reject);
      resolve();
    });
  });
  const port = (handle.server.address() as AddressInfo).port;
  const urlHost = host === '0.0.0.0' ? '127.0.0.1' : host === '::' ? '[::1]' : host.includes(':') ? `[${host}]` : host;
  const url = `${tls ? 'https' : 'http'}://${urlHost}:${port}`;
  logger.info('Files.com emulator listening on %s (data in %s)', url, dataDir);

  let stopping: Promise<void> | null = null;
  return {
    url,
    port,
    dataDir,
    ...(caCertFile ? { caCertFile } : {}),
    stats: () => ctx.stats.snapshot(),
    resetStats: () => ctx.stats.reset(),
    configure: (patch) => applyConfig(ctx, patch),
    idle: () => ctx.hasher.idle(),
    internals: ctx,
    stop() {
      stopping ??= (async () => {
        const closed = new Promise<void>((resolve) => handle.server.close(() => resolve()));
        handle.dropAll();
        ctx.migrations.stop();
        ctx.hasher.stop();
        ctx.blobs.close();
        await closed;
        await store.close();
        if (ownDir) await rm(dataDir, { recursive: true, force: true });
        logger.info('Files.com emulator stopped');
      })();
      return stopping;
    },
  };
}
