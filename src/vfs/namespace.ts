// Namespace operations with the semantics of docs/semantics.md: mkdir, rmdir, unlink,
// rename and utimens, with the metadata cache, the read versions and the
// write layer told at once (read-your-writes). The write layer answers first
// where it can do the change locally (a pending file or folder: mkdir is
// written back); the rest goes to the server. Checks that can be made
// from what is known fail locally, before any request (EEXIST, ENOTDIR,
// EISDIR, ENOTEMPTY, EINVAL, EROFS); the server's own refusals pass through as
// FilesErrors (the errno table, errno.ts, maps them on the way out).
//
// Errors come in the order Linux reports them: a missing path (ENOENT) or an
// existing target (EEXIST) before a read-only mount (EROFS).
import { randomBytes } from 'node:crypto';
import { type FilesClient, type RemoteEntry, BadRequestError, DestinationExistsError, FolderNotEmptyError, NotFoundError } from '../client/index.js';
import type { Logger } from '../log/logger.js';
import { baseName, isSame, joinPath, parentPath } from '../path/index.js';
import { FsError } from './fs-error.js';
import { notFound, type Lookup } from './lookup.js';
import type { ResolvedOptions } from './options.js';
import { keyOf, type PathMapper } from './path-mapper.js';
import type { ContentRegistry } from './read/content-registry.js';
import type { MetadataMap } from './posix/posix-metadata.js';
import type { WriteLayer } from './writes.js';

export interface NamespaceDeps {
  client: FilesClient;
  lookup: Lookup;
  contents: ContentRegistry;
  paths: PathMapper;
  options: Pick<ResolvedOptions, 'readOnly'>;
  /** The write layer (a getter: it is created after the namespace). */
  writes: () => WriteLayer;
  logger: Logger;
}

export class Namespace {
  constructor(private readonly deps: NamespaceDeps) {}

  /**
   * Creates a folder; `metadataFor` gives its custom_metadata (its mode and
   * owner) from its parent, set with a second request when not empty.
   * Returns the folder's entry.
   */
  async mkdir(kernelPath: string, metadataFor?: (parent: RemoteEntry) => MetadataMap): Promise<RemoteEntry> {
    const { lookup, paths, client } = this.deps;
    const path = paths.toRemoteForCreate(kernelPath);
    // The kernel looks a name up before mkdir, so the cache knows; a read-only
    // mount asks, so that an existing name is EEXIST there too, as on Linux.
    const existing = this.deps.options.readOnly ? await lookup.find(path) : lookup.cached(path);
    if (paths.isRoot(path) || existing) throw exists(path);
    const parent = await this.folder(parentPath(path));
    this.writable(path);
    const target = joinPath(parent.path, baseName(path));
    const metadata = metadataFor?.(parent);
    const hasMetadata = metadata !== undefined && Object.keys(metadata).length > 0;
    // Written back: a pending folder, created on the server in the background
    // with its metadata (a mode or owner of its own).
    const pending = await this.deps.writes().mkdir(target, hasMetadata ? metadata : undefined);
    if (pending) {
      lookup.appliedNewFolder(pending.path);
      lookup.touched(parent.path);
      return pending;
    }
    let created: RemoteEntry;
    try {
      created = await client.mkdir(target, { parents: false });
      lookup.appliedEntry(created);
      lookup.appliedNewFolder(created.path);
      lookup.touched(parent.path);
    } catch (err) {
      if (err instanceof DestinationExistsError) lookup.invalidate(target);
      throw err;
    }
    if (hasMetadata) {
      try {
        created = await client.update(created.path, { customMetadata: metadata });
        lookup.appliedEntry(created);
      } catch (err) {
        // The folder exists: mkdir succeeded; only its mode or owner did not stick.
        this.deps.logger.warn('%s: created, but its mode and owner could not be stored (%s); it shows the mount\'s defaults', created.path, err instanceof Error ? err.message : String(err));
      }
    }
    return created;
  }

  /** Returns the entry removed. */
  async rmdir(kernelPath: string): Promise<RemoteEntry> {
    const { lookup, paths, client } = this.deps;
    const path = paths.toRemote(kernelPath);
    const entry = await lookup.resolve(path);
    if (entry.type !== 'directory') throw new FsError('ENOTDIR', `${path}: not a folder`);
    if (paths.isRoot(path)) throw new FsError('EBUSY', 'the mount root cannot be removed');
    this.writable(path);
    if (this.knownNotEmpty(entry.path)) throw notEmpty(path);
    // A folder that exists only here goes without a request.
    if (await this.deps.writes().rmdir(entry)) {
      lookup.appliedRemoval(entry.path);
      return entry;
    }
    try {
      await client.delete(entry.path, { recursive: false });
    } catch (err) {
      if (err instanceof FolderNotEmptyError) lookup.invalidate(entry.path, true);
      if (err instanceof NotFoundError) lookup.appliedRemoval(entry.path);
      throw err;
    }
    lookup.appliedRemoval(entry.path);
    return entry;
  }

  /** Returns the entry removed. */
  async unlink(kernelPath: string): Promise<RemoteEntry> {
    const { lookup, paths, client, contents } = this.deps;
    const path = paths.toRemote(kernelPath);
    const entry = await lookup.resolve(path);
    if (entry.type === 'directory') throw new FsError('EISDIR', `${path}: is a folder`);
    this.writable(path);
    if (!(await this.deps.writes().unlink(entry))) {
      try {
        await client.delete(entry.path);
      } catch (err) {
        if (err instanceof NotFoundError) {
          lookup.appliedRemoval(entry.path);
          contents.removed(entry.path);
          throw notFound(path, err);
        }
        throw err;
      }
    }
    lookup.appliedRemoval(entry.path);
    contents.removed(entry.path);
    return entry;
  }

  /** Returns the remote paths moved from and to (and whether a folder moved), or null when nothing moved (a rename to itself). */
  async rename(kernelFrom: string, kernelTo: string): Promise<{ from: string; to: string; folder: boolean } | null> {
    const { lookup, paths, client } = this.deps;
    const from = paths.toRemote(kernelFrom);
    const to = paths.toRemoteForCreate(kernelTo);
    const src = await lookup.resolve(from);
    if (paths.isRoot(from) || paths.isRoot(to)) throw new FsError('EBUSY', 'the mount root cannot be renamed');
    if (isSame(src.path, to)) {
      if (baseName(src.path) === baseName(to)) return null; // rename to itself: nothing to do (POSIX)
      this.writable(from);
      const target = joinPath(parentPath(src.path), baseName(to));
      await this.renameCase(src, target);
      return { from: src.path, to: target, folder: src.type === 'directory' };
    }
    const fromKey = keyOf(src.path);
    if (keyOf(to).startsWith(fromKey + '/')) throw new FsError('EINVAL', `${to}: cannot move a folder into itself`);
    const parent = await this.folder(parentPath(to));
    const target = joinPath(parent.path, baseName(to));
    const dst = await lookup.find(target);
    if (dst && src.type === 'file' && dst.type === 'directory') throw new FsError('EISDIR', `${target}: is a folder`);
    if (dst && src.type === 'directory' && dst.type === 'file') throw new FsError('ENOTDIR', `${target}: not a folder`);
    if (dst?.type === 'directory' && (await lookup.children(dst.path)).length > 0) throw notEmpty(target);
    this.writable(from);

    const writes = this.deps.writes();
    if (await writes.rename(src, target, dst)) {
      // Only local content existed: the write layer retargeted it.
      this.afterMove(src, target, dst);
      // A folder that exists only here still holds only what is pending in it.
      if (src.type === 'directory') lookup.appliedNewFolder(target);
      return { from: src.path, to: target, folder: src.type === 'directory' };
    }
    if (src.type === 'file' && dst?.type === 'file' && writes.replacedElsewhere) {
      let instead: string | null | undefined;
      try {
        instead = await writes.replacedElsewhere(target, dst);
      } catch (err) {
        writes.renameFailed?.(src.path, target);
        throw err;
      }
      if (instead !== undefined) {
        // Someone else's version is at the target now: it stays, and the moved file goes elsewhere.
        writes.renameFailed?.(src.path, target);
        lookup.invalidate(target);
        if (instead === null) {
          await this.unlink(kernelFrom);
          return null;
        }
        return this.moveOnServer(src, instead, null);
      }
    }
    return this.moveOnServer(src, target, dst, true);
  }

  /** The server move of rename(); `announced`: writes.rename() was asked already for these paths. */
  private async moveOnServer(src: RemoteEntry, target: string, dst: RemoteEntry | null, announced = false): Promise<{ from: string; to: string; folder: boolean }> {
    const { lookup, client } = this.deps;
    const writes = this.deps.writes();
    if (!announced && (await writes.rename(src, target, dst))) {
      this.afterMove(src, target, dst);
      return { from: src.path, to: target, folder: src.type === 'directory' };
    }
    try {
      if (dst?.type === 'directory') {
        // POSIX replaces an empty folder; the server would not, so remove it first.
        await client.delete(dst.path, { recursive: false });
        lookup.appliedRemoval(dst.path);
      }
      await client.move(src.path, target, { overwrite: dst?.type === 'file' });
    } catch (err) {
      writes.renameFailed?.(src.path, target);
      throw err;
    }
    this.afterMove(src, target, dst);
    await writes.renamed(src.path, target);
    return { from: src.path, to: target, folder: src.type === 'directory' };
  }

  /** utimens: null = leave the mtime as it is; atime is not stored. */
  async utimens(kernelPath: string, mtime: Date | null): Promise<void> {
    const { lookup, paths, client, contents } = this.deps;
    const path = paths.toRemote(kernelPath);
    const entry = await lookup.resolve(path);
    if (mtime === null) return;
    this.writable(path);
    // The site root has no entry on the server to carry a time.
    if (entry.path === '' && entry.type === 'directory') return;
    if (await this.deps.writes().setMtime(entry, mtime)) return;
    const updated = await client.setMtime(entry.path, mtime);
    contents.retime(updated);
    lookup.appliedEntry(updated);
  }

  /** Refuses changes on a read-only mount. */
  writable(path: string): void {
    if (this.deps.options.readOnly) throw new FsError('EROFS', `${path || '/'}: the mount is read-only`);
  }

  /** A case-only rename (a.txt → A.txt): the same path for the server. */
  private async renameCase(src: RemoteEntry, target: string): Promise<void> {
    const writes = this.deps.writes();
    if (await writes.rename(src, target, null)) {
      this.afterMove(src, target, null);
      return;
    }
    try {
      await this.moveCaseOnly(src, target);
    } catch (err) {
      writes.renameFailed?.(src.path, target);
      throw err;
    }
    this.afterMove(src, target, null);
    await writes.renamed(src.path, target);
  }

  private async moveCaseOnly(src: RemoteEntry, target: string): Promise<void> {
    const { client, logger } = this.deps;
    try {
      // Never overwrite here: the "existing" destination is the source itself.
      await client.move(src.path, target, { overwrite: false });
    } catch (err) {
      if (!(err instanceof DestinationExistsError || err instanceof BadRequestError)) throw err;
      // The server refused to move a path onto itself: go through a temporary name.
      const temporary = joinPath(parentPath(src.path), `.${baseName(src.path)}.filesfs-rename-${randomBytes(4).toString('hex')}`);
      logger.debug('case-only rename of %s refused (%s); going through %s', src.path, err.message, temporary);
      await client.move(src.path, temporary, { overwrite: false });
      try {
        await client.move(temporary, target, { overwrite: false });
      } catch (second) {
        await client.move(temporary, src.path, { overwrite: false }).catch((back: unknown) => {
          logger.error('rename of %s to %s failed half-way; it is now at %s: %s', src.path, target, temporary, String(back));
        });
        throw second;
      }
    }
  }

  /** Caches and read versions after `src` moved to `target` (replacing `dst`, if any). */
  private afterMove(src: RemoteEntry, target: string, dst: RemoteEntry | null): void {
    const { lookup, contents } = this.deps;
    if (dst?.type === 'file') contents.removed(dst.path);
    lookup.appliedRemoval(src.path, src.type === 'directory');
    lookup.invalidateBelow(target);
    lookup.appliedEntry({ ...src, path: target, name: baseName(target) });
    contents.moved(src.path, target);
  }

  /** The entry of an existing folder (ENOENT, ENOTDIR otherwise). */
  private async folder(path: string): Promise<RemoteEntry> {
    const entry = await this.deps.lookup.resolve(path);
    if (entry.type !== 'directory') throw new FsError('ENOTDIR', `${path}: not a folder`);
    return entry;
  }

  /** True when the folder is known (without a request) to have children. */
  private knownNotEmpty(path: string): boolean {
    const writes = this.deps.writes();
    if (writes.localChildren(path).length > 0 || writes.impliedChildren(path).length > 0) return true;
    const listing = this.deps.lookup.cachedListing(path);
    return listing !== undefined && listing.children.size > 0;
  }
}

const exists = (path: string): FsError => new FsError('EEXIST', `${path || '/'}: already exists`);
const notEmpty = (path: string): FsError => new FsError('ENOTEMPTY', `${path}: folder not empty`);
