// The filesystem layer: implements the Filesystem contract that src/fuse
// calls, by delegating. Kernel paths are mapped to remote paths (PathMapper),
// "what is at this path" is decided by Lookup, namespace changes by
// Namespace, reads by the read path (ContentRegistry + FileReader), and
// everything that writes content by the WriteLayer (ReadOnlyWrites on a
// mount without write-back), metadata (modes, owners, file types, extended
// attributes) by MetadataOps. This class owns the handle tables and the
// times the server cannot keep (LocalTimes), and turns every failure into
// the FsError the errno table chooses (errno.ts), so the adapter only
// encodes it.
import { constants } from 'node:fs';
import type { FilesClient, RemoteEntry } from '../client/index.js';
import type { Logger } from '../log/logger.js';
import { LRUCache } from 'lru-cache';
import { baseName, joinPath, parentPath } from '../path/index.js';
import { toAttributes } from './attributes.js';
import type { Caller, DirectoryEntry, FileAttributes, FileKind, FileLocking, Filesystem, FilesystemStats, LockRequest } from './filesystem-api.js';
import { toFsError } from './errno.js';
import { FailureLog } from './failure-log.js';
import { FsError } from './fs-error.js';
import type { FileHandle } from './handles/file-handle.js';
import { HandleTable } from './handles/handle-table.js';
import { LockedWriter } from './handles/locked-writer.js';
import { FollowingReader } from './handles/following-reader.js';
import { PageCacheVersions } from './read/page-cache-versions.js';
import { ReadHandle, type ReadHandleDeps } from './handles/read-handle.js';
import { LockManager } from './locks/lock-manager.js';
import { Lookup, notFound } from './lookup.js';
import { MetadataCache } from './metadata/metadata-cache.js';
import { Namespace } from './namespace.js';
import { resolveOptions, type FilesystemOptions, type ResolvedOptions } from './options.js';
import { fitsKernelName, keyOf, KERNEL_NAME_MAX_BYTES, PathMapper } from './path-mapper.js';
import { ContentRegistry } from './read/content-registry.js';
import { ContentDiskCache } from './content-cache/disk-cache.js';
import { processMemory, type ContentCacheStatus } from './content-cache/status.js';
import { FileReader } from './read/file-reader.js';
import { CacheCounters } from './cache-counters.js';
import { FolderReadAhead } from './read/folder-read-ahead.js';
import { ReadOnlyWrites, type WriteLayer } from './writes.js';
import { RemoteChanges } from './remote-changes/remote-changes.js';
import type { RefreshOptions, RefreshReport } from './remote-changes/refresh.js';
import { posixFacts } from './attributes.js';
import { LocalTimes } from './posix/local-times.js';
import { MetadataOps } from './posix/metadata-ops.js';
import { deviceFits, type PosixChange } from './posix/posix-metadata.js';
import { notKept, parseXattrName } from './posix/xattrs.js';
import { isHiddenName, UnlinkedOpenFiles } from './handles/unlinked-open.js';

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
  /** The server locks held for programs here; undefined when locks stay in the kernel. */
  readonly locks: LockManager | undefined;
  /** Times the server cannot keep (atime, ctime, a folder's local changes). */
  readonly times: LocalTimes;
  /** FileAttributes of an entry: its POSIX metadata (or the mount's modes and owner), local times, link count. */
  attributes(entry: RemoteEntry): FileAttributes;
  /**
   * The server now shows `entry` because of us (an upload landed): see
   * FilesFilesystem.remoteChanged. `rewritten`: its bytes are new (what is
   * cached for the path is older, whatever its size and times say).
   */
  remoteChanged(entry: RemoteEntry, rewritten?: boolean): void;
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

/** Longest symbolic link target read from a link's content (PATH_MAX, with its NUL). */
const PATH_MAX = 4096;

/** The file type bits of a mode (node:fs names them, but not their mask's value on every platform). */
const S_IFMT = constants.S_IFMT;

/** mknod(2)'s file types and what they stand for. */
const NODE_KINDS: ReadonlyMap<number, FileKind> = new Map([
  [0, 'file'],
  [constants.S_IFREG, 'file'],
  [constants.S_IFIFO, 'fifo'],
  [constants.S_IFSOCK, 'socket'],
  [constants.S_IFCHR, 'char-device'],
  [constants.S_IFBLK, 'block-device'],
]);

export class FilesFilesystem implements Filesystem {
  readonly context: VfsContext;
  private readonly writes: WriteLayer;
  private readonly files = new HandleTable<FileHandle>();
  /** Which version the kernel's page cache of each file holds (read/page-cache-versions.ts). */
  private readonly pageCache = new PageCacheVersions();
  /** Read handles just opened whose file's page cache the kernel may keep (asked once: keepsPageCache). */
  private readonly keptPages = new Set<number>();
  private readonly dirs = new HandleTable<string>();
  private readonly readHandleDeps: ReadHandleDeps;
  /** Fetches a folder's next small files while a program reads them in turn. */
  readonly folderReadAhead: FolderReadAhead;
  private readonly warnedNames = new LRUCache<string, true>({ max: WARNED_NAMES_MAX });
  private readonly log: Logger;
  private readonly failures: FailureLog;
  private readonly metadataOps: MetadataOps;
  /** Files unlinked while open, answerable under libfuse's hidden names (handles/unlinked-open.ts). */
  private readonly unlinkedOpen = new UnlinkedOpenFiles();
  /** Cache hits and misses since the mount started (cache-counters.ts), for metrics. */
  readonly cacheCounters = new CacheCounters();
  /** Refresh and the poll for changes made elsewhere (remote-changes/). */
  readonly remoteChanges: RemoteChanges;
  /** The server locks held for programs here; undefined when locks stay in the kernel. */
  readonly locks: LockManager | undefined;
  readonly locking: FileLocking | undefined;
  readonly extendedAttributes: boolean;
  private writeLockSeq = 0;

  constructor(client: FilesClient, options: FilesystemOptions = {}, extensions: FilesFilesystemExtensions = {}) {
    const resolved = resolveOptions(options);
    this.extendedAttributes = resolved.xattrs;
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
    const times = new LocalTimes(resolved.metadataMaxEntries);
    const attributes = (entry: RemoteEntry): FileAttributes => {
      const shown = toAttributes(entry, resolved);
      if (shown.kind === 'directory') {
        // "." and the entry in its parent, plus each subfolder's "..": known from a cached listing and the folders made here.
        const subfolders = lookup.shownSubfolders(entry.path);
        if (subfolders !== undefined) shown.nlink = 2 + subfolders;
      }
      return times.apply(entry.path, shown);
    };
    const remoteChanged = (entry: RemoteEntry, rewritten = false): void => {
      if (rewritten) contents.rewritten(entry.path);
      lookup.appliedEntry(entry);
    };
    const lockManager = new LockManager(client, logger, { timeoutSeconds: resolved.lockTimeoutSeconds });
    const locks = resolved.serverLocks && lockManager.supported ? lockManager : undefined;
    this.locks = locks;
    this.context = { client, options: resolved, paths, metadata, lookup, contents, namespace, logger, locks, times, attributes, remoteChanged };
    this.metadataOps = new MetadataOps({ client, lookup, contents, options: resolved, writes: () => this.writes, times, logger, heldLock: (path) => locks?.heldToken(path) });
    this.writes = extensions.writeLayer?.(this.context) ?? new ReadOnlyWrites();
    lookup.overlay = this.writes;
    const reader = new FileReader(client, contents, resolved.readBlockSize, logger, (remotePath) => lookup.invalidate(remotePath), this.cacheCounters);
    this.folderReadAhead = new FolderReadAhead({
      window: resolved.prefetchFiles,
      cachedListing: (dirPath) => lookup.cachedListing(dirPath),
      refreshListing: (dirPath) => lookup.refreshAhead(dirPath),
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
    this.remoteChanges = new RemoteChanges({ lookup, metadata, contents, paths, options: resolved, logger, openFolders: () => this.openFolders() });
    if (locks) {
      this.locking = {
        test: (path, fh, request) => this.run('getlk', path, () => locks.test(this.lockPath(path, fh), this.lockAsk(request))),
        set: (path, fh, request) => this.run(request.family === 'flock' ? 'flock' : 'setlk', path, () => locks.set(this.lockPath(path, fh), this.lockAsk(request))),
      };
    }
  }

  // ---- attributes --------------------------------------------------------------

  getattr(path: string): Promise<FileAttributes> {
    if (isHiddenName(path)) return this.run('getattr', path, () => this.unlinkedOpen.getattr(path));
    return this.run('getattr', path, async () => this.context.attributes(await this.resolve(path)));
  }

  fgetattr(path: string, fh: number): Promise<FileAttributes> {
    if (fh === 0) return this.getattr(path);
    return this.run('fgetattr', path, async () => {
      const attributes = await this.files.get(fh).getattr();
      return this.unlinkedOpen.has(path) ? { ...attributes, nlink: 0 } : attributes;
    });
  }

  access(path: string, mode: number): Promise<void> {
    return this.run('access', path, async () => {
      const entry = await this.resolve(path);
      if (mode & constants.W_OK && this.context.options.readOnly) throw new FsError('EROFS', `${path}: the mount is read-only`);
      // Execute needs an execute bit (the kernel checks everything itself with default_permissions).
      const shown = this.context.attributes(entry);
      if (mode & constants.X_OK && shown.kind !== 'directory' && (shown.permissions & 0o111) === 0) throw new FsError('EACCES', `${path}: not executable`);
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
      this.remoteChanges.used(folder.path);
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
      this.remoteChanges.used(parentPath(entry.path));
      if (writeIntent(flags)) {
        this.context.namespace.writable(remote);
        this.pageCache.written(entry.path);
        return this.addWriter(entry.path, () => this.writes.openWrite(entry, flags));
      }
      const reader = await this.openReader(entry, flags);
      const fh = this.files.add(reader);
      if (this.pageCache.opened(entry.path, reader.serverVersion)) this.keptPages.add(fh);
      return fh;
    });
  }

  keepsPageCache(fh: number): boolean {
    return this.keptPages.delete(fh);
  }

  /** A handle reading a file, following the changes made to it here (handles/following-reader.ts). */
  private async openReader(entry: RemoteEntry, flags: number): Promise<FollowingReader> {
    const pendingVersion = (path: string): object | undefined => this.writes.pendingVersion?.(path);
    const bound = pendingVersion(entry.path);
    const first = await this.openVersion(entry, flags);
    return new FollowingReader(first, bound, {
      pendingVersion,
      reopen: async (path) => this.openVersion(await this.context.lookup.resolve(path), flags),
    });
  }

  /** A handle on one version of a file: its local content when pending, else the server's version. */
  private async openVersion(entry: RemoteEntry, flags: number): Promise<FileHandle> {
    const local = await this.writes.openRead(entry, flags);
    if (local) return local;
    await this.context.contents.ready;
    const content = this.context.contents.acquire(entry);
    this.folderReadAhead.opened(entry, content);
    return new ReadHandle(content, this.context.attributes(entry), this.readHandleDeps);
  }

  create(path: string, mode: number, flags: number, caller?: Caller): Promise<number> {
    return this.run('create', path, async () => {
      const { paths, lookup, namespace } = this.context;
      const remote = paths.toRemoteForCreate(path);
      const existing = await lookup.find(remote);
      if (existing && flags & constants.O_EXCL) throw new FsError('EEXIST', `${path}: already exists`);
      if (existing?.type === 'directory') throw new FsError('EISDIR', `${path}: is a folder`);
      if (existing) {
        namespace.writable(remote);
        this.pageCache.written(existing.path);
        return this.addWriter(existing.path, () => this.writes.create(existing.path, existing, mode, flags));
      }
      const parent = await this.parentFolder(remote, path);
      const target = joinPath(parent.path, baseName(remote)); // the parent as the server spells it
      namespace.writable(remote);
      const metadata = this.metadataOps.newEntry('file', mode, caller, parent);
      const fh = await this.addWriter(target, () => this.writes.create(target, null, mode, flags, metadata));
      lookup.touched(parent.path);
      this.context.times.folderChanged(parent.path, this.now());
      return fh;
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
    return this.run('release', path, async () => {
      const handle = this.files.remove(fh);
      this.keptPages.delete(fh);
      if (this.unlinkedOpen.size > 0) this.unlinkedOpen.released(handle);
      await handle.release();
    });
  }

  truncate(path: string, size: number): Promise<void> {
    return this.run('truncate', path, () => this.truncateRemote(this.remote(path), size));
  }

  ftruncate(path: string, fh: number, size: number): Promise<void> {
    return this.run('ftruncate', path, () => this.files.get(fh).truncate(size));
  }

  // ---- namespace ---------------------------------------------------------------

  mkdir(path: string, mode: number, caller?: Caller): Promise<void> {
    return this.run('mkdir', path, async () => {
      const created = await this.context.namespace.mkdir(path, (parent) => this.metadataOps.newEntry('directory', mode, caller, parent));
      this.context.times.folderChanged(parentPath(created.path), this.now());
    });
  }

  rmdir(path: string): Promise<void> {
    return this.run('rmdir', path, async () => {
      const removed = await this.context.namespace.rmdir(path);
      this.removedEntry(removed);
    });
  }

  unlink(path: string): Promise<void> {
    return this.run('unlink', path, async () => {
      // libfuse's last close of a file unlinked while open: the file is gone already.
      if (isHiddenName(path)) return this.unlinkedOpen.forget(path);
      const removed = await this.context.namespace.unlink(path);
      this.removedEntry(removed);
    });
  }

  rename(from: string, to: string): Promise<void> {
    return this.run('rename', `${from} → ${to}`, async () => {
      if (isHiddenName(to)) return this.unlinkOpen(from, to);
      const moved = await this.context.namespace.rename(from, to);
      if (!moved) return;
      if (moved.folder && this.unlinkedOpen.size > 0) this.unlinkedOpen.moved(from, to);
      // Locks held here follow the file to its new name (the server's stay where they were taken until released).
      this.locks?.moved(moved.from, moved.to);
      const now = this.now();
      const { times } = this.context;
      times.moved(moved.from, moved.to, now, moved.folder);
      times.folderChanged(parentPath(moved.from), now);
      times.folderChanged(parentPath(moved.to), now);
    });
  }

  /** The mtime goes to the server (or with a pending upload); the atime is kept by this mount (local-times.ts). */
  utimens(path: string, atime: Date | null, mtime: Date | null): Promise<void> {
    return this.run('utimens', path, async () => {
      if (this.unlinkedOpen.has(path)) return; // a file unlinked while open keeps no times
      const remote = this.remote(path);
      const entry = await this.context.lookup.resolve(remote);
      if (atime === null && mtime === null) return;
      this.context.namespace.writable(remote);
      await this.context.namespace.utimens(path, mtime);
      this.context.times.timesSet(entry.path, atime, mtime, this.now());
    });
  }

  /** The permission bits go to the entry's metadata (or are accepted without effect with posix metadata off). */
  chmod(path: string, mode: number): Promise<void> {
    return this.run('chmod', path, async () => {
      if (this.unlinkedOpen.has(path)) return; // a file unlinked while open keeps no metadata
      await this.metadataOps.chmod(await this.writableEntry(path), mode);
    });
  }

  /** Owner and group go to the entry's metadata (or are accepted without effect with posix metadata off). -1: unchanged. */
  chown(path: string, uid: number, gid: number): Promise<void> {
    return this.run('chown', path, async () => {
      if (this.unlinkedOpen.has(path)) return;
      await this.metadataOps.chown(await this.writableEntry(path), uid, gid);
    });
  }

  mknod(path: string, mode: number, dev: number, caller?: Caller): Promise<void> {
    return this.run('mknod', path, async () => {
      const kind = NODE_KINDS.get(mode & S_IFMT);
      if (kind === undefined) throw new FsError('EINVAL', `${path}: mknod cannot make that type of file (mode ${mode.toString(8)})`);
      if (kind !== 'file' && !this.context.options.posixMetadata) {
        throw new FsError('EPERM', `${path}: FIFOs, sockets and devices need the POSIX metadata the mount was told not to keep (--no-posix-metadata)`);
      }
      const device = kind === 'char-device' || kind === 'block-device';
      if (device && !deviceFits(dev)) throw new FsError('EINVAL', `${path}: device numbers above 4095:1048575 cannot be kept`);
      await this.createNode(path, kind, mode, caller, device ? { rdev: dev } : {}, null);
    });
  }

  symlink(target: string, path: string, caller?: Caller): Promise<void> {
    return this.run('symlink', path, async () => {
      if (!this.context.options.posixMetadata) throw new FsError('EPERM', `${path}: symbolic links need the POSIX metadata the mount was told not to keep (--no-posix-metadata)`);
      if (target === '') throw new FsError('ENOENT', `${path}: a symbolic link needs a target`);
      if (Buffer.byteLength(target) >= PATH_MAX) throw new FsError('ENAMETOOLONG', `${path}: the target is longer than ${PATH_MAX - 1} bytes`);
      await this.createNode(path, 'symlink', 0o777, caller, { target }, Buffer.from(target, 'utf8'));
    });
  }

  readlink(path: string): Promise<string> {
    return this.run('readlink', path, async () => {
      const entry = await this.resolve(path);
      const facts = posixFacts(entry, this.context.options);
      if (facts.kind !== 'symlink') throw new FsError('EINVAL', `${path}: not a symbolic link`);
      // The metadata's copy, unless the content changed since (edited elsewhere).
      if (facts.target !== null && Buffer.byteLength(facts.target) === entry.size) return facts.target;
      const handle = await this.openReader(entry, constants.O_RDONLY);
      try {
        const buffer = Buffer.alloc(Math.min(entry.size, PATH_MAX - 1));
        let filled = 0;
        while (filled < buffer.length) {
          const n = await handle.read(buffer.subarray(filled), filled);
          if (n === 0) break;
          filled += n;
        }
        return buffer.subarray(0, filled).toString('utf8');
      } finally {
        await handle.release();
      }
    });
  }

  /** Files.com has no hard links. */
  link(from: string, to: string): Promise<void> {
    return this.run('link', `${from} → ${to}`, async () => {
      throw new FsError('EPERM', `${to}: hard links are not supported (Files.com has none)`);
    });
  }

  // ---- extended attributes -------------------------------------------------------

  getxattr(path: string, name: string): Promise<Buffer> {
    // Only user.* attributes are kept (the same rule as metadata-ops.ts); the
    // kernel asks for security.capability before every write, so the rest is
    // answered at once, without a lookup.
    if (parseXattrName(name).kind === 'other') return Promise.reject(notKept(name));
    return this.run('getxattr', path, async () => this.metadataOps.getxattr(await this.resolve(path), name));
  }

  listxattr(path: string): Promise<string[]> {
    return this.run('listxattr', path, async () => this.metadataOps.listxattr(await this.resolve(path)));
  }

  setxattr(path: string, name: string, value: Buffer, flags: number): Promise<void> {
    return this.run('setxattr', path, async () => this.metadataOps.setxattr(await this.writableEntry(path), name, value, flags));
  }

  removexattr(path: string, name: string): Promise<void> {
    return this.run('removexattr', path, async () => this.metadataOps.removexattr(await this.writableEntry(path), name));
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

  /**
   * Forgets now what is cached about a kernel path ("/Reports") and asks the
   * server again (`filesfs refresh`); see remote-changes/refresh.ts.
   */
  refresh(path: string, options: RefreshOptions = {}): Promise<RefreshReport> {
    return this.run('refresh', path, () => this.remoteChanges.refresh(path, options));
  }

  /** Remote paths of the folders programs hold open, or hold a file open in. */
  private *openFolders(): Iterable<string> {
    for (const dir of this.dirs.values()) yield dir;
    for (const handle of this.files.values()) yield parentPath(handle.remotePath);
  }

  /** Open handles (files, folders), for status and tests. */
  get openHandles(): { files: number; dirs: number } {
    return { files: this.files.size, dirs: this.dirs.size };
  }

  // ---- helpers -------------------------------------------------------------------

  /**
   * Opens a file for writing; with --lock-on-write under an exclusive server
   * lock held until the handle's release (another client's lock: EBUSY).
   */
  private async addWriter(remotePath: string, open: () => Promise<FileHandle>): Promise<number> {
    const locks = this.context.locks;
    if (!locks || !this.context.options.lockOnWrite) return this.files.add(await open());
    const owner = `w:${++this.writeLockSeq}`;
    try {
      await locks.set(remotePath, { owner, pid: 0, type: 'write', start: 0, end: Infinity, wait: false });
    } catch (err) {
      if (err instanceof FsError && err.code === 'EAGAIN') throw new FsError('EBUSY', `${remotePath}: locked by another program or client (${err.message})`);
      throw err;
    }
    try {
      return this.files.add(new LockedWriter(await open(), () => locks.releaseOwner(remotePath, owner)));
    } catch (err) {
      await locks.releaseOwner(remotePath, owner);
      throw err;
    }
  }

  /** The file a lock request is about: its handle's (which follows renames, and outlives an unlink), else its path. */
  private lockPath(path: string, fh: number): string {
    if (fh > 0) {
      try {
        return this.files.get(fh).remotePath;
      } catch {
        // A folder handle, or none: the path names it.
      }
    }
    return this.remote(path);
  }

  private lockAsk(request: LockRequest): { owner: string; pid: number; type: LockRequest['type']; start: number; end: number; wait: boolean } {
    if (!(request.start >= 0) || !(request.end > request.start)) throw new FsError('EINVAL', `lock range ${request.start}..${request.end} is empty or negative`);
    return {
      owner: `${request.family === 'posix' ? 'p' : 'f'}:${request.owner}`,
      pid: request.pid,
      type: request.type,
      start: request.start,
      end: request.end,
      wait: request.wait,
    };
  }

  private remote(path: string): string {
    // libfuse's names for files unlinked while open never reach the server.
    if (isHiddenName(path)) throw notFound(path);
    // Linux refuses such a name (NAME_MAX) wherever it appears; FUSE passes it on.
    if (this.context.paths.hasNameTooLong(path)) throw new FsError('ENAMETOOLONG', `${path}: a name can have at most ${KERNEL_NAME_MAX_BYTES} bytes`);
    if (this.context.paths.cannotExist(path)) throw notFound(path);
    return this.context.paths.toRemote(path);
  }

  private now(): number {
    return this.context.options.clock();
  }

  /** The folder a new entry goes in (ENOENT, ENOTDIR). */
  private async parentFolder(remote: string, kernelPath: string): Promise<RemoteEntry> {
    const parent = await this.context.lookup.resolve(parentPath(remote));
    if (parent.type !== 'directory') throw new FsError('ENOTDIR', `${parentPath(kernelPath)}: not a folder`);
    return parent;
  }

  /** An existing entry that may be changed (ENOENT, then EROFS). */
  private async writableEntry(path: string): Promise<RemoteEntry> {
    const remote = this.remote(path);
    const entry = await this.context.lookup.resolve(remote);
    this.context.namespace.writable(remote);
    return entry;
  }

  /**
   * A new file of `kind` (a regular file from mknod, a FIFO, socket, device
   * node or symbolic link): an empty pending file (a link's content is its
   * target) whose metadata says what it is, uploaded like any new file.
   */
  private async createNode(path: string, kind: FileKind, mode: number, caller: Caller | undefined, extra: PosixChange, content: Buffer | null): Promise<void> {
    const { paths, lookup, namespace } = this.context;
    const remote = paths.toRemoteForCreate(path);
    if (await lookup.find(remote)) throw new FsError('EEXIST', `${path}: already exists`);
    const parent = await this.parentFolder(remote, path);
    namespace.writable(remote);
    const target = joinPath(parent.path, baseName(remote));
    const metadata = this.metadataOps.newEntry(kind, mode, caller, parent, extra);
    const handle = await this.writes.create(target, null, mode & 0o7777, constants.O_CREAT | constants.O_EXCL | constants.O_WRONLY, metadata);
    try {
      if (content && content.length > 0) await handle.write(content, 0);
      await handle.flush();
    } finally {
      await handle.release();
    }
    this.context.times.folderChanged(parent.path, this.now());
  }

  /**
   * unlink(2) of a file that is open: libfuse renames it to a hidden name
   * instead (handles/unlinked-open.ts). It is unlinked here, as it would be
   * otherwise, and its open handles stay answerable under the hidden name.
   */
  private async unlinkOpen(from: string, hiddenName: string): Promise<void> {
    const remote = this.remote(from);
    const key = keyOf(remote);
    const open = [...this.files.values()].filter((h) => keyOf(h.remotePath) === key);
    const removed = await this.context.namespace.unlink(from);
    this.removedEntry(removed);
    for (const handle of open) if (handle instanceof FollowingReader) handle.orphan();
    this.unlinkedOpen.hide(hiddenName, open);
  }

  /** After an unlink or rmdir: the entry's own times go, its folder's move. */
  private removedEntry(entry: RemoteEntry): void {
    const { times } = this.context;
    times.removed(entry.path); // a removed folder was empty: nothing below it to forget
    times.folderChanged(parentPath(entry.path), this.now());
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
