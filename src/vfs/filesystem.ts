// The filesystem layer: implements the Filesystem contract that src/fuse
// calls, by delegating. Kernel paths are mapped to remote paths (PathMapper),
// "what is at this path" is decided by Lookup, namespace changes by
// Namespace, reads by the read path (ContentRegistry + FileReader), and
// everything that writes content by the WriteLayer (ReadOnlyWrites on a
// mount without write-back). This class owns the handle tables, and turns
// every failure into the FsError the errno table chooses (errno.ts), so the
// adapter only encodes it.
import { constants } from 'node:fs';
import type { FilesClient, RemoteEntry } from '../client/index.js';
import type { Logger } from '../log/logger.js';
import { LRUCache } from 'lru-cache';
import { baseName, joinPath, parentPath } from '../path/index.js';
import { toAttributes } from './attributes.js';
import type { DirectoryEntry, FileAttributes, Filesystem, FilesystemStats } from './filesystem-api.js';
import { toFsError } from './errno.js';
import { FailureLog } from './failure-log.js';
import { FsError } from './fs-error.js';
import type { FileHandle } from './handles/file-handle.js';
import { HandleTable } from './handles/handle-table.js';
import { ReadHandle, type ReadHandleDeps } from './handles/read-handle.js';
import { Lookup, notFound } from './lookup.js';
import { MetadataCache } from './metadata/metadata-cache.js';
import { Namespace } from './namespace.js';
import { resolveOptions, type FilesystemOptions, type ResolvedOptions } from './options.js';
import { fitsKernelName, keyOf, PathMapper } from './path-mapper.js';
import { ContentRegistry } from './read/content-registry.js';
import { ContentDiskCache } from './content-cache/disk-cache.js';
import { processMemory, type ContentCacheStatus } from './content-cache/status.js';
import { FileReader } from './read/file-reader.js';
import { CacheCounters } from './cache-counters.js';
import { FolderReadAhead } from './read/folder-read-ahead.js';
import { ReadOnlyWrites, type WriteLayer } from './writes.js';

/** Everything a write layer (or a test) may use; built once per mount. */
export interface VfsContext {
  readonly client: FilesClient;
  readonly options: ResolvedOptions;
  readonly paths: PathMapper;
  readonly metadata: MetadataCache;
  readonly lookup: Lookup;
  readonly contents: ContentRegistry;
  readonly namespace: Namespace;
  readonly logger: Logger;
  /** FileAttributes of an entry, with the mount's modes and owner. */
  attributes(entry: RemoteEntry): FileAttributes;
  /** The server now shows `entry` because of us (an upload landed): see FilesFilesystem.remoteChanged. */
  remoteChanged(entry: RemoteEntry): void;
}

export interface FilesFilesystemExtensions {
  /** Builds the write layer; default: ReadOnlyWrites (content writes fail with EROFS). */
  writeLayer?: (context: VfsContext) => WriteLayer;
}

/**
 * statfs: Files.com has no quota we can ask for, so large sane values.
 * fuse-native passes statvfs fields as unsigned 32-bit numbers: with 1 MiB
 * blocks, 2^30 blocks show 1 PiB (4 KiB blocks could not go past 16 TiB).
 */
const STATFS: FilesystemStats = Object.freeze({
  blockSize: 1024 * 1024,
  totalBlocks: 2 ** 30,
  freeBlocks: 2 ** 30,
  availableBlocks: 2 ** 30,
  totalFiles: 1_000_000_000,
  freeFiles: 1_000_000_000,
  maxNameLength: 255,
});

const WARNED_NAMES_MAX = 10_000;

export class FilesFilesystem implements Filesystem {
  readonly context: VfsContext;
  private readonly writes: WriteLayer;
  private readonly files = new HandleTable<FileHandle>();
  private readonly dirs = new HandleTable<string>();
  private readonly readHandleDeps: ReadHandleDeps;
  /** Fetches a folder's next small files while a program reads them in turn. */
  readonly folderReadAhead: FolderReadAhead;
  private readonly warnedNames = new LRUCache<string, true>({ max: WARNED_NAMES_MAX });
  private readonly log: Logger;
  private readonly failures: FailureLog;
  /** Cache hits and misses since the mount started (cache-counters.ts), for metrics. */
  readonly cacheCounters = new CacheCounters();

  constructor(client: FilesClient, options: FilesystemOptions = {}, extensions: FilesFilesystemExtensions = {}) {
    const resolved = resolveOptions(options);
    const logger = resolved.logger.child('vfs');
    this.log = logger;
    this.failures = new FailureLog(logger);
    const paths = new PathMapper(resolved.remoteRoot);
    const disk = resolved.contentCacheDir !== undefined && resolved.contentCacheBytes > 0
      ? new ContentDiskCache({ dir: resolved.contentCacheDir, maxBytes: resolved.contentCacheBytes, minFreeBytes: resolved.contentCacheMinFreeBytes, blockSize: resolved.contentCacheBlockBytes, logger: logger.child('cache') })
      : undefined;
    const contents = new ContentRegistry(client, {
      blockSize: resolved.readBlockSize,
      totalBytes: resolved.readCacheTotalBytes,
      perFileBytes: resolved.readCachePerFileBytes,
      maxRequestBytes: resolved.readRequestMaxBytes,
      closedFileKeptBytes: resolved.closedFileKeptBytes,
      ...(disk ? { disk } : {}),
    }, logger);
    const metadata = new MetadataCache({
      attrTtlMs: resolved.attrTtlMs,
      dirTtlMs: resolved.dirTtlMs,
      negativeTtlMs: resolved.negativeTtlMs,
      maxEntries: resolved.metadataMaxEntries,
      clock: resolved.clock,
      logger,
      onEntry: (entry) => contents.observe(entry),
    });
    const lookup = new Lookup(client, metadata, resolved, logger, this.cacheCounters);
    const namespace = new Namespace({ client, lookup, contents, paths, options: resolved, writes: () => this.writes, logger });
    const attributes = (entry: RemoteEntry): FileAttributes => toAttributes(entry, resolved);
    const remoteChanged = (entry: RemoteEntry): void => lookup.appliedEntry(entry);
    this.context = { client, options: resolved, paths, metadata, lookup, contents, namespace, logger, attributes, remoteChanged };
    this.writes = extensions.writeLayer?.(this.context) ?? new ReadOnlyWrites();
    lookup.overlay = this.writes;
    const reader = new FileReader(client, contents, resolved.readBlockSize, logger, (remotePath) => lookup.invalidate(remotePath), this.cacheCounters);
    this.folderReadAhead = new FolderReadAhead({
      window: resolved.prefetchFiles,
      cachedListing: (dirPath) => lookup.cachedListing(dirPath),
      isLocal: (remotePath) => this.writes.localEntry(remotePath) !== undefined,
      registry: contents,
      reader,
      log: logger,
    });
    this.readHandleDeps = {
      reader,
      registry: contents,
      readAhead: {
        blockSize: resolved.readBlockSize,
        initialWindow: resolved.readAheadInitialBytes,
        maxWindow: resolved.readAheadMaxBytes,
        maxRequest: resolved.readRequestMaxBytes,
      },
      attributes: async (remotePath) => attributes(await lookup.resolve(remotePath)),
      truncate: async (remotePath, size) => this.truncateRemote(remotePath, size),
    };
  }

  // ---- attributes --------------------------------------------------------------

  getattr(path: string): Promise<FileAttributes> {
    return this.run('getattr', path, async () => this.context.attributes(await this.resolve(path)));
  }

  fgetattr(path: string, fh: number): Promise<FileAttributes> {
    if (fh === 0) return this.getattr(path);
    return this.run('fgetattr', path, () => this.files.get(fh).getattr());
  }

  access(path: string, mode: number): Promise<void> {
    return this.run('access', path, async () => {
      const entry = await this.resolve(path);
      if (mode & constants.W_OK && this.context.options.readOnly) throw new FsError('EROFS', `${path}: the mount is read-only`);
      // Files show no execute bits (0666 & ~umask), folders do.
      if (mode & constants.X_OK && entry.type === 'file') throw new FsError('EACCES', `${path}: not executable`);
    });
  }

  async statfs(_path: string): Promise<FilesystemStats> {
    return { ...STATFS };
  }

  // ---- folders -----------------------------------------------------------------

  opendir(path: string, _flags: number): Promise<number> {
    return this.run('opendir', path, async () => this.dirs.add((await this.folder(path)).path));
  }

  readdir(path: string): Promise<DirectoryEntry[]> {
    return this.run('readdir', path, async () => {
      const folder = await this.folder(path);
      const out: DirectoryEntry[] = [];
      for (const entry of await this.context.lookup.children(folder.path)) {
        const name = entry.name || entry.path.slice(entry.path.lastIndexOf('/') + 1);
        if (!fitsKernelName(name)) {
          this.warnUnrepresentable(entry.path, name);
          continue;
        }
        out.push({ name, attributes: this.context.attributes(entry) });
      }
      return out;
    });
  }

  async releasedir(_path: string, fh: number): Promise<void> {
    this.dirs.remove(fh);
  }

  // ---- files -------------------------------------------------------------------

  open(path: string, flags: number): Promise<number> {
    return this.run('open', path, async () => {
      const remote = this.remote(path);
      const entry = await this.context.lookup.resolveForOpen(remote);
      if (entry.type === 'directory') throw new FsError('EISDIR', `${path}: is a folder`);
      if (writeIntent(flags)) {
        this.context.namespace.writable(remote);
        return this.files.add(await this.writes.openWrite(entry, flags));
      }
      const local = await this.writes.openRead(entry, flags);
      if (local) return this.files.add(local);
      await this.context.contents.ready;
      const content = this.context.contents.acquire(entry);
      this.folderReadAhead.opened(entry, content);
      return this.files.add(new ReadHandle(content, this.context.attributes(entry), this.readHandleDeps));
    });
  }

  create(path: string, mode: number, flags: number): Promise<number> {
    return this.run('create', path, async () => {
      const { paths, lookup, namespace } = this.context;
      const remote = paths.toRemoteForCreate(path);
      const existing = await lookup.find(remote);
      if (existing && flags & constants.O_EXCL) throw new FsError('EEXIST', `${path}: already exists`);
      if (existing?.type === 'directory') throw new FsError('EISDIR', `${path}: is a folder`);
      let target = existing?.path;
      if (!target) {
        const parent = await lookup.resolve(parentPath(remote));
        if (parent.type !== 'directory') throw new FsError('ENOTDIR', `${parentPath(path)}: not a folder`);
        target = joinPath(parent.path, baseName(remote)); // the parent as the server spells it
      }
      namespace.writable(remote);
      return this.files.add(await this.writes.create(target, existing, mode, flags));
    });
  }

  read(path: string, fh: number, buffer: Buffer, position: number): Promise<number> {
    return this.run('read', path, () => this.files.get(fh).read(buffer, position));
  }

  write(path: string, fh: number, buffer: Buffer, position: number): Promise<number> {
    return this.run('write', path, () => this.files.get(fh).write(buffer, position));
  }

  flush(path: string, fh: number): Promise<void> {
    return this.run('flush', path, () => this.files.get(fh).flush());
  }

  fsync(path: string, fh: number, datasync: boolean): Promise<void> {
    return this.run('fsync', path, () => this.files.get(fh).fsync(datasync));
  }

  release(path: string, fh: number): Promise<void> {
    return this.run('release', path, () => this.files.remove(fh).release());
  }

  truncate(path: string, size: number): Promise<void> {
    return this.run('truncate', path, () => this.truncateRemote(this.remote(path), size));
  }

  ftruncate(path: string, fh: number, size: number): Promise<void> {
    return this.run('ftruncate', path, () => this.files.get(fh).truncate(size));
  }

  // ---- namespace ---------------------------------------------------------------

  mkdir(path: string, _mode: number): Promise<void> {
    return this.run('mkdir', path, () => this.context.namespace.mkdir(path));
  }

  rmdir(path: string): Promise<void> {
    return this.run('rmdir', path, () => this.context.namespace.rmdir(path));
  }

  unlink(path: string): Promise<void> {
    return this.run('unlink', path, () => this.context.namespace.unlink(path));
  }

  rename(from: string, to: string): Promise<void> {
    return this.run('rename', `${from} → ${to}`, () => this.context.namespace.rename(from, to));
  }

  utimens(path: string, _atime: Date | null, mtime: Date | null): Promise<void> {
    return this.run('utimens', path, () => this.context.namespace.utimens(path, mtime));
  }

  /** Accepted without effect (Files.com has no modes), so `cp -a` works. */
  chmod(path: string, _mode: number): Promise<void> {
    return this.run('chmod', path, () => this.acceptNoop(path));
  }

  /** Accepted without effect (Files.com has no owners), so `cp -a` works. */
  chown(path: string, _uid: number, _gid: number): Promise<void> {
    return this.run('chown', path, () => this.acceptNoop(path));
  }

  // ---- for the write-back layer and the CLI ----------------------------------------

  /**
   * The server now shows `entry` because of us (an upload landed, a change
   * was made outside the namespace operations): caches show it at once, and
   * readers of an older version of that file are superseded.
   */
  remoteChanged(entry: RemoteEntry): void {
    this.context.remoteChanged(entry);
  }

  /** Forgets what is cached about a remote path (and, with subtree, below it). */
  invalidate(remotePath: string, subtree = false): void {
    this.context.lookup.invalidate(remotePath, subtree);
  }

  /** What is cached of file contents, on disk and in memory (`filesfs status`). */
  contentStatus(): ContentCacheStatus {
    const { contents } = this.context;
    const mem = contents.blocks.stats();
    return {
      disk: contents.disk?.stats() ?? null,
      memory: { budgetBytes: mem.poolBytes, usedBytes: mem.poolUsedBytes, cachedBytes: mem.cachedBytes, inflightBytes: mem.inflightBytes },
      blockHits: this.cacheCounters.blocks.hits,
      blockMisses: this.cacheCounters.blocks.misses,
      process: processMemory(),
    };
  }

  /** Empties the content cache on disk (`filesfs cache clear`); pending uploads are not cache and stay. */
  async clearContentCache(): Promise<{ blocks: number; bytes: number }> {
    const disk = this.context.contents.disk;
    if (!disk) return { blocks: 0, bytes: 0 };
    const cleared = await disk.clear();
    this.context.contents.blocks.dropOnDisk();
    return cleared;
  }

  /** Finishes the content cache's writes in flight (before the process exits). */
  async close(): Promise<void> {
    this.context.contents.close();
    await this.context.contents.disk?.close();
  }

  /** Open handles (files, folders), for status and tests. */
  get openHandles(): { files: number; dirs: number } {
    return { files: this.files.size, dirs: this.dirs.size };
  }

  // ---- helpers -------------------------------------------------------------------

  private remote(path: string): string {
    if (this.context.paths.cannotExist(path)) throw notFound(path);
    return this.context.paths.toRemote(path);
  }

  private resolve(path: string): Promise<RemoteEntry> {
    return this.context.lookup.resolve(this.remote(path));
  }

  private async folder(path: string): Promise<RemoteEntry> {
    const entry = await this.resolve(path);
    if (entry.type !== 'directory') throw new FsError('ENOTDIR', `${path}: not a folder`);
    return entry;
  }

  private async truncateRemote(remote: string, size: number): Promise<void> {
    const entry = await this.context.lookup.resolve(remote);
    if (entry.type === 'directory') throw new FsError('EISDIR', `${remote}: is a folder`);
    if (size < 0) throw new FsError('EINVAL', `${remote}: negative size`);
    this.context.namespace.writable(remote);
    await this.writes.truncate(entry, size);
  }

  private async acceptNoop(path: string): Promise<void> {
    const remote = this.remote(path);
    await this.context.lookup.resolve(remote);
    this.context.namespace.writable(remote);
  }

  private warnUnrepresentable(remotePath: string, name: string): void {
    const key = keyOf(remotePath);
    if (this.warnedNames.has(key)) return;
    this.warnedNames.set(key, true);
    this.log.warn('not shown: "%s" in "%s" has a name of %d bytes; Linux allows at most 255', name, parentPath(remotePath) || '/', Buffer.byteLength(name));
  }

  /**
   * Runs an operation. Whatever it rejects with leaves as an FsError chosen
   * by the one errno table (errno.ts), logged by the failure log: ordinary
   * outcomes at debug, unexpected ones as one warning per distinct failure.
   */
  private async run<T>(op: string, path: string, work: () => Promise<T>): Promise<T> {
    try {
      return await work();
    } catch (err) {
      const failure = toFsError(err);
      this.failures.report(op, path, failure);
      throw failure;
    }
  }
}

/** The access-mode bits of open(2) flags (Linux; node:fs does not export it). */
const O_ACCMODE = 3;

/** open(2) flags that need write access to the content. */
export function writeIntent(flags: number): boolean {
  return (flags & O_ACCMODE) !== constants.O_RDONLY || (flags & constants.O_TRUNC) !== 0;
}

export function createFilesystem(client: FilesClient, options?: FilesystemOptions, extensions?: FilesFilesystemExtensions): FilesFilesystem {
  return new FilesFilesystem(client, options, extensions);
}
