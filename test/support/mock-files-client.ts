// An in-memory FilesClient: a test double of Files.com in the spirit of
// mountpoint-s3's mock client. Paths are case- and accent-insensitive and
// case-preserving through src/path, exactly like the server; folders list
// before files; listings come in pages of `perPage`; times are whole seconds.
// Every call is counted (per method; `list` counts pages, as the HTTP client
// sends one request per page) and recorded, read ranges are kept for
// assertions, and behaviour can be injected per method: delays, failures, a
// gate that holds calls until released, or any async hook.
//
// Changes made "directly on the server" (by another client) use the server*
// methods, which are not counted.
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { Readable } from 'node:stream';
import {
  BadRequestError, ContentChangedError,
  DestinationExistsError,
  FolderNotEmptyError,
  NotFoundError,
  ParentMissingError,
  type FilesError,
} from '../../src/client/errors.js';
import type { EntryUpdate, FilesClient, ListOptions, RangeOptions, RemoteEntry, StreamOptions, UploadOptions, UploadSource } from '../../src/client/files-client.js';
import type { HealthSnapshot } from '../../src/client/health.js';
import { baseName, isSame, joinPath, normalize, normalizeForComparison, parentPath } from '../../src/path/index.js';

export type MockMethod =
  | 'stat' | 'list' | 'readRange' | 'createReadStream' | 'invalidateDownload' | 'upload'
  | 'mkdir' | 'delete' | 'move' | 'copy' | 'setMtime' | 'update' | 'close';

const METHODS: MockMethod[] = ['stat', 'list', 'readRange', 'createReadStream', 'invalidateDownload', 'upload', 'mkdir', 'delete', 'move', 'copy', 'setMtime', 'update', 'close'];

export interface MockCall {
  method: MockMethod;
  path: string;
  args: unknown[];
}

export interface RangeCall {
  path: string;
  offset: number;
  length: number;
}

type Hook = (call: MockCall) => void | Promise<void>;

interface Node {
  path: string;
  type: 'file' | 'directory';
  data: Buffer;
  mtime: Date;
  providedMtime: Date | null;
  createdAt: Date;
  /** custom_metadata; follows moves and copies and is kept when an upload overwrites (like the emulator). */
  meta: Record<string, string>;
  /** The download's ETag: a new one for every content put (serverPut, upload). */
  etag?: string;
}

let nextEtag = 1;

export interface MockOptions {
  /** Server clock (ms); Date.now by default. */
  now?: () => number;
  /** Page size when the caller gives none. */
  defaultPerPage?: number;
  /** What the server does with a case-only move (a.txt → A.txt); unknown for Files.com, so both are testable. */
  caseOnlyMove?: 'rename' | 'refuse';
  /**
   * Whether an upload over an existing file keeps its custom_metadata (the
   * emulator's choice) or clears it; Files.com's behaviour is unconfirmed,
   * so the filesystem must cope with both.
   */
  uploadKeepsMetadata?: boolean;
  /** Whether entries carry their content's md5 (the server's once it has hashed a file); null by default, as right after an upload. */
  checksums?: boolean;
}

const key = (path: string): string => normalizeForComparison(path);
const seconds = (ms: number): Date => new Date(Math.floor(ms / 1000) * 1000);
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

function notFound(path: string): FilesError {
  return new NotFoundError({ message: `Not Found: ${path}`, status: 404, type: 'not-found' });
}

export class MockFilesClient implements FilesClient {
  readonly calls: MockCall[] = [];
  readonly ranges: RangeCall[] = [];
  counts: Record<MockMethod, number> = MockFilesClient.zero();
  /** Bytes of file content currently handed out by readRange (for memory assertions). */
  bytesServed = 0;
  private readonly nodes = new Map<string, Node>();
  private readonly hooks: Array<{ method: MockMethod; hook: Hook; times: number }> = [];
  private readonly now: () => number;
  private readonly defaultPerPage: number;
  caseOnlyMove: 'rename' | 'refuse';
  uploadKeepsMetadata: boolean;
  checksums: boolean;

  constructor(options: MockOptions = {}) {
    this.now = options.now ?? Date.now;
    this.defaultPerPage = options.defaultPerPage ?? 1000;
    this.caseOnlyMove = options.caseOnlyMove ?? 'rename';
    this.uploadKeepsMetadata = options.uploadKeepsMetadata ?? true;
    this.checksums = options.checksums ?? false;
    this.nodes.set('', { path: '', type: 'directory', data: Buffer.alloc(0), mtime: seconds(this.now()), providedMtime: null, createdAt: seconds(this.now()), meta: {} });
  }

  private static zero(): Record<MockMethod, number> {
    return Object.fromEntries(METHODS.map((m) => [m, 0])) as Record<MockMethod, number>;
  }

  // ---- test controls ------------------------------------------------------------

  resetCounts(): void {
    this.counts = MockFilesClient.zero();
    this.calls.length = 0;
    this.ranges.length = 0;
  }

  /** Total of every counted call except invalidateDownload (which is local). */
  get requests(): number {
    return METHODS.filter((m) => m !== 'invalidateDownload' && m !== 'close').reduce((n, m) => n + this.counts[m], 0);
  }

  /** Runs `hook` before the next `times` calls of `method` (Infinity = always). */
  on(method: MockMethod, hook: Hook, times = Infinity): void {
    this.hooks.push({ method, hook, times });
  }

  delay(method: MockMethod, ms: number, times = Infinity): void {
    this.on(method, () => sleep(ms), times);
  }

  failNext(method: MockMethod, error: Error, times = 1): void {
    this.on(method, () => { throw error; }, times);
  }

  /** Holds every `method` call until the returned function is called. */
  gate(method: MockMethod): () => void {
    let open!: () => void;
    const opened = new Promise<void>((r) => (open = r));
    let released = false;
    this.on(method, () => (released ? undefined : opened));
    return () => {
      released = true;
      open();
    };
  }

  clearHooks(): void {
    this.hooks.length = 0;
  }

  // ---- the server's health as the real client reports it (health.ts) ----------------

  #health: HealthSnapshot = Object.freeze({ state: 'reachable', since: null, lastError: null, consecutiveFailures: 0, lastAnswer: null });
  readonly #healthListeners = new Set<(h: HealthSnapshot) => void>();

  get health(): HealthSnapshot {
    return this.#health;
  }

  onHealthChange(listener: (h: HealthSnapshot) => void): () => void {
    this.#healthListeners.add(listener);
    return () => this.#healthListeners.delete(listener);
  }

  /** The client now counts the server as unreachable (or reachable again), and says so to its listeners. */
  setHealth(state: 'reachable' | 'unreachable', lastError = 'connect ECONNREFUSED'): void {
    this.#health = Object.freeze({
      state,
      since: state === 'unreachable' ? new Date(this.now()) : null,
      lastError: state === 'unreachable' ? lastError : this.#health.lastError,
      consecutiveFailures: state === 'unreachable' ? 3 : 0,
      lastAnswer: this.#health.lastAnswer,
    });
    for (const l of this.#healthListeners) l(this.#health);
  }

  // ---- the server's own state (changes made elsewhere; not counted) ----------------------

  serverMkdirs(path: string): RemoteEntry {
    let node = this.nodes.get('')!;
    for (const segment of normalize(path).split('/').filter(Boolean)) {
      const child = joinPath(node.path, segment);
      const existing = this.nodes.get(key(child));
      if (existing && existing.type !== 'directory') throw new BadRequestError({ message: `${child} is a file`, status: 400, type: 'bad-request/folder-must-not-be-a-file' });
      node = existing ?? this.create(child, 'directory');
    }
    return this.entry(node);
  }

  serverPut(path: string, content: Buffer | string, options: { mtime?: Date } = {}): RemoteEntry {
    const parent = this.serverMkdirs(parentPath(path));
    const data = typeof content === 'string' ? Buffer.from(content) : content;
    const existing = this.nodes.get(key(path));
    if (existing?.type === 'directory') throw new BadRequestError({ message: `${path} is a folder`, status: 400, type: 'bad-request/folder-must-not-be-a-file' });
    const node = existing ?? this.create(joinPath(parent.path, baseName(path)), 'file');
    node.data = data;
    node.mtime = seconds(this.now());
    node.providedMtime = options.mtime ? seconds(options.mtime.getTime()) : null;
    node.etag = `"mock-${nextEtag++}"`;
    return this.entry(node);
  }

  /** Replaces an entry's custom_metadata, as another client's PATCH would. */
  serverSetMetadata(path: string, meta: Record<string, string>): RemoteEntry {
    const node = this.nodes.get(key(path));
    if (!node) throw notFound(path);
    node.meta = { ...meta };
    return this.entry(node);
  }

  serverDelete(path: string): void {
    const node = this.nodes.get(key(path));
    if (!node) throw notFound(path);
    this.removeTree(node.path);
  }

  /** Adds a raw entry with exactly this path, even if another isSame one exists (a misbehaving server). */
  serverPutDuplicate(path: string, content: string): void {
    const node: Node = { path, type: 'file', data: Buffer.from(content), mtime: seconds(this.now()), providedMtime: null, createdAt: seconds(this.now()), meta: {} };
    this.nodes.set(`${key(path)}\u0000dup${this.nodes.size}`, node);
  }

  serverRead(path: string): Buffer {
    const node = this.nodes.get(key(path));
    if (!node || node.type !== 'file') throw notFound(path);
    return node.data;
  }

  serverStat(path: string): RemoteEntry | null {
    const node = this.nodes.get(key(path));
    return node ? this.entry(node) : null;
  }

  /** Every path on the server, in the server's spelling. */
  serverPaths(): string[] {
    return [...this.nodes.values()].map((n) => n.path).filter((p) => p !== '').sort();
  }

  // ---- FilesClient ------------------------------------------------------------------

  async stat(path: string, _options?: RangeOptions): Promise<RemoteEntry> {
    await this.enter('stat', path, []);
    const node = this.nodes.get(key(path));
    if (!node) throw notFound(path);
    return this.entry(node);
  }

  async *list(path: string, options: ListOptions = {}): AsyncIterable<RemoteEntry[]> {
    const perPage = options.perPage ?? this.defaultPerPage;
    await this.enter('list', path, [perPage]);
    const folder = this.nodes.get(key(path));
    if (!folder || folder.type !== 'directory') throw notFound(path);
    const folderKey = key(folder.path);
    const children = [...this.nodes.entries()]
      .filter(([k, n]) => n !== folder && key(parentPath(n.path)) === folderKey && (k.includes('\u0000dup') || k === key(n.path)))
      .map(([, n]) => n)
      // The listing filters (type, and modified_at_datetime with it): server mtime strictly later.
      .filter((n) => !options.filter || ((options.filter.type === 'folder') === (n.type === 'directory')
        && (!options.filter.modifiedAfter || n.mtime.getTime() > Math.floor(options.filter.modifiedAfter.getTime() / 1000) * 1000)))
      .sort((a, b) => (a.type === b.type ? (a.path < b.path ? -1 : a.path > b.path ? 1 : 0) : a.type === 'directory' ? -1 : 1));
    for (let i = 0; i < children.length || i === 0; i += perPage) {
      if (i > 0) await this.enter('list', path, [perPage]);
      yield children.slice(i, i + perPage).map((n) => this.entry(n));
      if (children.length === 0) break;
    }
  }

  async readRange(path: string, offset: number, length: number, options?: RangeOptions): Promise<Buffer> {
    await this.enter('readRange', path, [offset, length]);
    this.ranges.push({ path, offset, length });
    const node = this.nodes.get(key(path));
    if (!node) throw notFound(path);
    if (node.type !== 'file') throw new BadRequestError({ message: 'Cannot download a folder', status: 400, type: 'bad-request/cannot-download-directory' });
    // The mock keeps no old versions: a reader pinned to one the file no longer has gets what the real client raises.
    const pin = options?.pin;
    if (pin && (pin.size !== node.data.length || (pin.serverMtime !== null && pin.serverMtime.getTime() !== node.mtime.getTime()))) {
      throw new ContentChangedError({ message: `${path}: the version being read is no longer on the server` });
    }
    // Like the real client: the pin learns the ETag from the first answer, and later answers must carry it.
    if (pin && node.etag !== undefined) {
      if (pin.etag !== undefined && pin.etag !== node.etag) throw new ContentChangedError({ message: `${path}: ETag differs (${pin.etag} → ${node.etag})` });
      pin.etag = node.etag;
    }
    const out = Buffer.from(node.data.subarray(offset, offset + length));
    this.bytesServed += out.length;
    return out;
  }

  async createReadStream(path: string, options: StreamOptions = {}): Promise<Readable> {
    await this.enter('createReadStream', path, [options.offset, options.length]);
    const data = this.serverRead(path);
    const start = options.offset ?? 0;
    return Readable.from([data.subarray(start, options.length === undefined ? undefined : start + options.length)]);
  }

  invalidateDownload(path: string): void {
    this.counts.invalidateDownload++;
    this.calls.push({ method: 'invalidateDownload', path, args: [] });
  }

  async upload(path: string, source: UploadSource, options: UploadOptions = {}): Promise<RemoteEntry> {
    // Like the real client, an aborted upload stops at once and publishes nothing.
    await abortable(this.enter('upload', path, [options]), options.signal);
    const existed = this.nodes.has(key(path));
    const data = 'buffer' in source ? Buffer.from(source.buffer) : 'file' in source ? await readFileSource(source) : await collect(source.stream);
    options.signal?.throwIfAborted();
    await options.beforePublish?.({ exists: existed, checkedAt: Date.now() });
    options.signal?.throwIfAborted();
    if (options.mkdirParents === false && !this.nodes.get(key(parentPath(path)))) throw this.parentMissing(path);
    if (!this.uploadKeepsMetadata) {
      const before = this.nodes.get(key(path));
      if (before) before.meta = {};
    }
    return this.serverPut(path, data, options.mtime ? { mtime: options.mtime } : {});
  }

  async mkdir(path: string, options: { parents?: boolean; mtime?: Date } = {}): Promise<RemoteEntry> {
    await this.enter('mkdir', path, [options]);
    if (this.nodes.get(key(path))) throw new DestinationExistsError({ message: 'The destination exists.', status: 422, type: 'processing-failure/destination-exists' });
    const parent = this.nodes.get(key(parentPath(path)));
    if (!parent && !options.parents) throw this.parentMissing(path);
    if (parent && parent.type !== 'directory') throw this.parentMissing(path);
    const entry = this.serverMkdirs(path);
    if (!options.mtime) return entry;
    const node = this.nodes.get(key(path))!;
    node.providedMtime = seconds(options.mtime.getTime());
    return this.entry(node);
  }

  async delete(path: string, options: { recursive?: boolean } = {}): Promise<void> {
    await this.enter('delete', path, [options]);
    const node = this.nodes.get(key(path));
    if (!node || node.path === '') throw notFound(path);
    if (node.type === 'directory' && !options.recursive && this.childrenOf(node.path).length > 0) {
      throw new FolderNotEmptyError({ message: `Folder ${node.path} not empty`, status: 422, type: 'processing-failure/folder-not-empty' });
    }
    this.removeTree(node.path);
  }

  async move(from: string, to: string, options: { overwrite?: boolean } = {}): Promise<void> {
    await this.enter('move', from, [to, options]);
    const node = this.nodes.get(key(from));
    if (!node) throw notFound(from);
    const parent = this.nodes.get(key(parentPath(to)));
    if (!parent || parent.type !== 'directory') throw this.parentMissing(to);
    const target = joinPath(parent.path, baseName(to));
    if (isSame(node.path, target)) {
      if (this.caseOnlyMove === 'refuse') throw new BadRequestError({ message: 'Destination same as source', status: 400, type: 'bad-request/destination-same' });
    } else if (this.nodes.get(key(target))) {
      if (!options.overwrite) throw new DestinationExistsError({ message: 'The destination exists.', status: 422, type: 'processing-failure/destination-exists' });
      this.removeTree(this.nodes.get(key(target))!.path);
    }
    this.relocate(node.path, target);
  }

  async copy(from: string, to: string, options: { overwrite?: boolean } = {}): Promise<void> {
    await this.enter('copy', from, [to, options]);
    const node = this.nodes.get(key(from));
    if (!node) throw notFound(from);
    if (this.nodes.get(key(to)) && !options.overwrite) throw new DestinationExistsError({ message: 'The destination exists.', status: 422, type: 'processing-failure/destination-exists' });
    const fromKey = key(node.path);
    for (const n of [...this.nodes.values()]) {
      const k = key(n.path);
      if (k !== fromKey && !k.startsWith(fromKey + '/')) continue;
      const rest = n.path.split('/').slice(node.path.split('/').length);
      const path = [normalize(to), ...rest].join('/');
      this.nodes.set(key(path), { ...n, path, data: Buffer.from(n.data), meta: { ...n.meta } });
    }
  }

  async setMtime(path: string, mtime: Date, _options?: RangeOptions): Promise<RemoteEntry> {
    await this.enter('setMtime', path, [mtime]);
    const node = this.nodes.get(key(path));
    if (!node) throw notFound(path);
    node.providedMtime = seconds(mtime.getTime());
    return this.entry(node);
  }

  async update(path: string, changes: EntryUpdate, _options?: RangeOptions): Promise<RemoteEntry> {
    await this.enter('update', path, [changes]);
    const node = this.nodes.get(key(path));
    if (!node) throw notFound(path);
    if (changes.customMetadata !== undefined) {
      const meta = changes.customMetadata;
      const tooLong = Object.entries(meta).find(([k, v]) => [...k].length > 256 || [...v].length > 1024);
      if (Object.keys(meta).length > 32 || tooLong) {
        throw new BadRequestError({ message: 'custom_metadata exceeds its limits', status: 400, type: 'bad-request/request-params-invalid' });
      }
      node.meta = { ...meta };
    }
    if (changes.mtime) node.providedMtime = seconds(changes.mtime.getTime());
    return this.entry(node);
  }

  async close(): Promise<void> {
    this.counts.close++;
  }

  // ---- internals ------------------------------------------------------------------

  private async enter(method: MockMethod, path: string, args: unknown[]): Promise<void> {
    const call = { method, path, args };
    this.counts[method]++;
    this.calls.push(call);
    for (const h of [...this.hooks]) {
      if (h.method !== method || h.times <= 0) continue;
      h.times--;
      await h.hook(call);
    }
    // Like a network round trip: never answer synchronously.
    await Promise.resolve();
  }

  private parentMissing(path: string): FilesError {
    return new ParentMissingError({ message: `The destination parent does not exist: ${path}`, status: 409, type: 'processing-failure/destination-parent-does-not-exist' });
  }

  private create(path: string, type: 'file' | 'directory'): Node {
    const node: Node = { path, type, data: Buffer.alloc(0), mtime: seconds(this.now()), providedMtime: null, createdAt: seconds(this.now()), meta: {} };
    this.nodes.set(key(path), node);
    return node;
  }

  private childrenOf(path: string): Node[] {
    const k = key(path);
    return [...this.nodes.values()].filter((n) => n.path !== path && n.path !== '' && key(parentPath(n.path)) === k);
  }

  private removeTree(path: string): void {
    const k = key(path);
    for (const [nk, n] of [...this.nodes]) {
      const pk = key(n.path);
      if (pk === k || pk.startsWith(k + '/')) this.nodes.delete(nk);
    }
  }

  private relocate(from: string, to: string): void {
    const fromKey = key(from);
    const depth = from.split('/').length;
    const moved: Node[] = [];
    for (const [nk, n] of [...this.nodes]) {
      const k = key(n.path);
      if (k !== fromKey && !k.startsWith(fromKey + '/')) continue;
      this.nodes.delete(nk);
      n.path = [to, ...n.path.split('/').slice(depth)].join('/');
      moved.push(n);
    }
    for (const n of moved) this.nodes.set(key(n.path), n);
  }

  private entry(node: Node): RemoteEntry {
    return {
      path: node.path,
      name: baseName(node.path),
      type: node.type,
      size: node.type === 'file' ? node.data.length : 0,
      mtime: node.providedMtime ?? node.mtime,
      serverMtime: node.mtime,
      providedMtime: node.providedMtime,
      createdAt: node.createdAt,
      md5: this.checksums && node.type === 'file' ? createHash('md5').update(node.data).digest('hex') : null,
      crc32: null,
      permissions: 'lrwd',
      customMetadata: { ...node.meta },
    };
  }
}

async function collect(stream: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk as Uint8Array));
  return Buffer.concat(chunks);
}

/** `work`, or a rejection with the signal's reason as soon as it is aborted. */
function abortable<T>(work: Promise<T>, signal: AbortSignal | undefined): Promise<T> {
  if (!signal) return work;
  signal.throwIfAborted();
  return new Promise<T>((resolve, reject) => {
    const onAbort = (): void => reject(signal.reason);
    signal.addEventListener('abort', onAbort, { once: true });
    work.then(resolve, reject).finally(() => signal.removeEventListener('abort', onAbort));
  });
}

/** The bytes of a file source: its first `size` bytes when a size is given (the real client's rule). */
async function readFileSource(source: { file: string; size?: number }): Promise<Buffer> {
  const data = await readFile(source.file);
  if (source.size === undefined) return data;
  if (data.length < source.size) throw Object.assign(new Error(`${source.file}: shorter than ${source.size} bytes`), { code: 'ESHRUNK' });
  return data.subarray(0, source.size);
}
