// The FilesClient interface: everything the filesystem layer may ask of
// Files.com, in filesystem terms (paths, entries, byte ranges, uploads). The
// filesystem layer depends on this interface only, so it can be driven by the
// real HTTP client (http-files-client.ts), by a mock, or by a failure-injecting
// wrapper in tests. Paths are remote paths in the server's form: normalized,
// no leading or trailing slash, '' for the site root (see src/path).
//
// Errors are FilesError subclasses (errors.ts); `transient` ones have already
// been retried by the client according to its retry policy when they surface.
import type { Readable } from 'node:stream';
import type { ClientStatsSnapshot } from './client-stats.js';
import type { HealthSnapshot } from './health.js';

/** One file or folder as the server describes it (docs/files-api.md §2). */
export interface RemoteEntry {
  /** The server's full path, in the server's case, e.g. "Reports/Q1.pdf". */
  path: string;
  /** Last segment as the server shows it (`display_name`). */
  name: string;
  type: 'file' | 'directory';
  /** Bytes; 0 for folders. */
  size: number;
  /** What a filesystem should show: `provided_mtime` when set, else `mtime`. */
  mtime: Date;
  /** The server's own `mtime` (moves when a folder's contents change). */
  serverMtime: Date | null;
  /** The client-set time (`provided_mtime`), or null. */
  providedMtime: Date | null;
  createdAt: Date | null;
  /** Checksums: null until the server has computed them (or when the site does not compute that kind). */
  md5: string | null;
  crc32: string | null;
  /** Absent or null: not known. */
  sha1?: string | null;
  sha256?: string | null;
  /** Letters from "lrwd", when the server sends them. */
  permissions: string | null;
  /** A lock covers the path (`is_locked`): someone, perhaps this mount, holds one. */
  locked?: boolean;
  /**
   * The entry's `custom_metadata` (docs/files-api.md §13): text keys and
   * values, at most 32 keys. Absent or empty: none (entries made locally
   * before the server has them may leave it out).
   */
  customMetadata?: Readonly<Record<string, string>>;
}

/** What `update` changes on an entry; a field left out stays as it is. */
export interface EntryUpdate {
  /** The time the entry shows (`provided_mtime`). */
  mtime?: Date;
  /** The whole `custom_metadata` object: the server replaces it with this one ({} clears it). */
  customMetadata?: Readonly<Record<string, string>>;
}

export interface ListOptions {
  /** Entries per page (1 … 10,000); the client's configured default otherwise. */
  perPage?: number;
  /**
   * Only entries of one type (`type`), and with `modifiedAfter` only those
   * whose server mtime is later than that time (`modified_at_datetime`,
   * which the API accepts only together with `type`; docs/files-api.md §13).
   */
  filter?: ListFilter;
  signal?: AbortSignal;
}

/** A listing filter: the cheapest way to ask a folder what changed since a time. */
export interface ListFilter {
  type: 'file' | 'folder';
  /** Whole seconds count: the server keeps mtimes to the second and lists entries strictly later. */
  modifiedAfter?: Date;
}

export interface RangeOptions {
  signal?: AbortSignal;
  /**
   * Read this version of the file only (a reader's DownloadPin): its own
   * download URL, kept and refreshed while the server still gives that
   * version; ContentChangedError once the server serves another one.
   */
  pin?: DownloadPin;
  /**
   * readRangeInto only: told of every chunk of the response as it is copied
   * (its size), e.g. to pace the collection of the network's buffers.
   */
  onBytes?: (bytes: number) => void;
}

/**
 * A reader's hold on one version of a file: the version it expects (size,
 * and the server's mtime when known) and the download URL it reads it with,
 * apart from the file's shared URL, which follows the newest version.
 */
export class DownloadPin {
  /** The URL this version is read with, once one was fetched (the client's). */
  target: unknown;
  /**
   * The ETag of this version's bytes: given by the caller when it knows it
   * (bytes cached from an earlier read), learned from the first answer
   * otherwise. An answer with another ETag is ContentChangedError.
   */
  etag: string | undefined;
  constructor(readonly size: number, readonly serverMtime: Date | null, etag?: string) {
    this.etag = etag;
  }
}

export interface StreamOptions {
  /** First byte (default 0). */
  offset?: number;
  /** Number of bytes (default: to the end). */
  length?: number;
  signal?: AbortSignal;
}

/** A Files.com lock, as the server describes it. */
export interface RemoteLock {
  path: string;
  /** What releases it. */
  token: string;
  exclusive: boolean;
  recursive: boolean;
  /** Seconds left before the server drops it, when the answer says. */
  timeoutSeconds: number | null;
  /** Who holds it: the owner the server names, its user name and id. */
  owner: string | null;
  username: string | null;
  userId: number | null;
}

/** What to upload: a local file, a stream, or bytes in memory. */
export type UploadSource =
  /** A local file: its first `size` bytes (all of it when absent; a file shorter than `size` fails). */
  | { file: string; size?: number }
  | { stream: Readable; size?: number }
  | { buffer: Uint8Array };

/** What the server said about an upload's target when the upload began (begin_upload). */
export interface PublishTarget {
  /** Something exists at the target. */
  exists: boolean;
  /** When the server said so (Date.now()). */
  checkedAt: number;
}

export interface UploadOptions {
  /** Sent as `provided_mtime`, so the file shows this time. */
  mtime?: Date;
  /** Create missing parent folders (default true). */
  mkdirParents?: boolean;
  /** Called as bytes are acknowledged by the server (parts done, in bytes). */
  onProgress?: (uploadedBytes: number, totalBytes: number | undefined) => void;
  /**
   * Called once every part is sent, right before the call that publishes the
   * upload (`end`), with whether the server said something exists at the
   * target when the upload began, and when it said so. Rejecting abandons the upload: nothing is
   * published, and the rejection is the upload's. The last moment to check
   * that the target is still what the caller expects.
   */
  beforePublish?: (target: PublishTarget) => Promise<void>;
  signal?: AbortSignal;
}

/**
 * An upload sent while its file is still being written (upload-session.ts):
 * parts cut by partialUploadRange(n), each sent once its bytes are final in
 * the local file, then finish(size) sends the rest and publishes.
 */
export interface PartialUpload {
  /** Bytes the server has acknowledged. */
  readonly uploadedBytes: number;
  /** Why it can no longer publish, if it cannot (a part failed for good, or it was abandoned). */
  readonly failed: Error | undefined;
  /** Part `n`'s bytes are final in the file: send it (in the background). */
  send(n: number): void;
  /** Sends what is missing of `size` bytes, then publishes (beforePublish, mtime, signal as for upload()). PartialUploadUnusable when it cannot. */
  finish(size: number, options?: UploadOptions): Promise<RemoteEntry>;
  /** Abandons it: nothing is published, parts in flight stop. */
  abort(reason?: unknown): void;
}

export interface FilesClient {
  /** Metadata of one file or folder. NotFoundError when missing. */
  stat(path: string, options?: RangeOptions): Promise<RemoteEntry>;

  /**
   * The folder's entries, one page per iteration (folders first, then files,
   * by path), following the server's cursor until the last page; with
   * `filter`, only the entries it keeps. NotFoundError when the folder is
   * missing.
   */
  list(path: string, options?: ListOptions): AsyncIterable<RemoteEntry[]>;

  /**
   * Up to `length` bytes from `offset`, fewer at the end of the file, an empty
   * buffer at or past the end. Uses a presigned download URL cached per file
   * until shortly before it expires, refreshed on 403.
   */
  readRange(path: string, offset: number, length: number, options?: RangeOptions): Promise<Buffer>;

  /**
   * readRange without joining the body into one buffer: the response's chunks
   * as they arrived (views of the socket's buffers, no copy), in order,
   * totalling what readRange would return. Optional: callers fall back to
   * readRange. A 1 GiB read otherwise allocates and copies 1 GiB more.
   */
  readRangeChunks?(path: string, offset: number, length: number, options?: RangeOptions): Promise<Buffer[]>;

  /**
   * readRange into the caller's buffers: the bytes are copied into `targets`
   * (in order, each filled before the next) as they arrive, and the response's
   * own buffers are let go at once. Resolves to the bytes written (fewer at
   * the end of the file). Optional: callers fall back to readRangeChunks or
   * readRange. A reader with a fixed pool of buffers keeps no network buffer
   * alive longer than it takes to copy it.
   */
  readRangeInto?(path: string, offset: number, targets: readonly Buffer[], options?: RangeOptions): Promise<number>;

  /** The bytes of a file (or a range of it) as a stream. */
  createReadStream(path: string, options?: StreamOptions): Promise<Readable>;

  /** Forgets the cached download URL of `path` (its content changed). */
  invalidateDownload(path: string): void;

  /** Uploads a whole file (begin_upload → parts → end) and returns the new entry. */
  upload(path: string, source: UploadSource, options?: UploadOptions): Promise<RemoteEntry>;

  /**
   * Opens an upload of `path` whose bytes come from the local file `file` as
   * it is being written (PartialUpload). Optional: without it, files upload
   * after they are closed.
   */
  beginPartialUpload?(path: string, file: string, options?: { mkdirParents?: boolean; signal?: AbortSignal }): Promise<PartialUpload>;

  /**
   * Creates a folder (with `parents`, the missing folders above it too;
   * `mtime` is sent as its `provided_mtime`). DestinationExistsError when
   * something is already there.
   */
  mkdir(path: string, options?: { parents?: boolean; mtime?: Date; signal?: AbortSignal }): Promise<RemoteEntry>;

  /** Deletes a file or folder. FolderNotEmptyError unless `recursive` for a non-empty folder. */
  delete(path: string, options?: { recursive?: boolean; signal?: AbortSignal }): Promise<void>;

  /** Moves/renames; resolves once the server reports the move completed. */
  move(from: string, to: string, options?: { overwrite?: boolean; signal?: AbortSignal }): Promise<void>;

  /** Copies; resolves once the server reports the copy completed. */
  copy(from: string, to: string, options?: { overwrite?: boolean; signal?: AbortSignal }): Promise<void>;

  /** Sets the time a file or folder shows (`provided_mtime`). */
  setMtime(path: string, mtime: Date, options?: RangeOptions): Promise<RemoteEntry>;

  /**
   * Takes a Files.com lock on a path (locks.ts). Rejects with a FilesError
   * that isLockConflict recognises when someone holds a conflicting one.
   * Optional: a client without locks leaves them to the local machine.
   */
  lock?(path: string, request: { exclusive: boolean; timeoutSeconds: number }, options?: { signal?: AbortSignal }): Promise<RemoteLock>;
  /** Releases a lock taken with lock() (one already gone is fine). */
  unlock?(path: string, token: string, options?: { signal?: AbortSignal }): Promise<void>;
  /** The locks on a path (below it too, with includeChildren). */
  locks?(path: string, options?: { includeChildren?: boolean; signal?: AbortSignal }): Promise<RemoteLock[]>;
  /**
   * Changes a file's or folder's time and/or custom metadata in one request
   * (PATCH), and returns the entry as the server shows it afterwards.
   */
  update(path: string, changes: EntryUpdate, options?: RangeOptions): Promise<RemoteEntry>;

  /** Closes the connection pool; pending requests fail. */
  close(): Promise<void>;

  /**
   * What the client did so far: requests by kind and outcome, retries,
   * hedges, stalls, bytes (a frozen snapshot). Optional: a mock may leave it out.
   */
  readonly stats?: ClientStatsSnapshot;

  /**
   * Whether the server answers: 'reachable', or 'unreachable' since when, with
   * the last error. While unreachable, calls fail fast (kind `network`): the
   * filesystem can serve what it has cached. Optional, like stats.
   */
  readonly health?: HealthSnapshot;

  /** Calls `listener` when the server becomes unreachable or reachable again; returns the unsubscribe. */
  onHealthChange?(listener: (health: HealthSnapshot) => void): () => void;
}
