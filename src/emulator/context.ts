// What every route handler gets: the emulator's parts (one of each per
// running emulator) and the current request.
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Logger } from '../log/logger.js';
import type { Auth, Identity } from './auth.js';
import type { Behaviors } from './behaviors.js';
import type { Blobs } from './blobs.js';
import type { FaultKind, Faults } from './faults.js';
import type { Hasher } from './hasher.js';
import type { Locks } from './locks.js';
import type { Migrations } from './migrations.js';
import type { Params } from './params.js';
import type { Signer } from './signing.js';
import type { Stats } from './stats.js';
import type { Store } from './store.js';
import type { Throttle } from './throttle.js';
import type { Uploads } from './uploads.js';
import type { Users } from './users.js';

export interface Settings {
  latencyMs: number;
  /** How long a stalled request is held before its connection is dropped. */
  stallMs: number;
  downloadTtlSeconds: number;
  uploadTtlSeconds: number;
}

export interface EmulatorContext {
  store: Store;
  blobs: Blobs;
  uploads: Uploads;
  hasher: Hasher;
  signer: Signer;
  migrations: Migrations;
  users: Users;
  auth: Auth;
  locks: Locks;
  behaviors: Behaviors;
  stats: Stats;
  faults: Faults;
  uploadThrottle: Throttle;
  downloadThrottle: Throttle;
  settings: Settings;
  /** Completed upload refs → file node id (and the path `end` named), so a retried `end` answers again instead of 404. */
  completed: Map<string, { nodeId: number; path: string; at: number }>;
  logger: Logger;
}

export interface Call {
  req: IncomingMessage;
  res: ServerResponse;
  requestId: string;
  /** Raw URL path (still percent-encoded) and query. */
  pathname: string;
  query: URLSearchParams;
  /** The decoded path parameter of the route ('' for the root or none). */
  path: string;
  /** Route capture other than a path (upload ref, blob id, migration id). */
  id: string;
  params: Params;
  /** The caller (API routes; the default user when auth is off), null on session and transfer routes. */
  who: Identity | null;
  fault: FaultKind | null;
  /** Base URL the client used (scheme + Host), for the presigned URLs we hand out. */
  origin: string;
}

export type Handler = (ctx: EmulatorContext, call: Call) => Promise<void>;
