// The seam for content writes. Everything that creates or changes file
// content, and every namespace operation that must know about content not yet
// on the server, goes through one WriteLayer. On a mount without write-back,
// ReadOnlyWrites refuses content changes with EROFS and has no local state;
// the write-back layer implements this interface (staging, upload queue,
// journal) and is passed to the filesystem as a factory receiving VfsContext.
//
// Contract with the rest of src/vfs:
//   - Lookup consults localEntry/localChildren before the server's view, so a
//     pending file shows its local size and mtime in getattr and readdir.
//   - open() asks openRead first (a pending file is read from staging), then
//     falls back to the remote read path.
//   - Namespace operations call unlink/rename/setMtime before going to the
//     server; `true` means "handled locally, the server has nothing to do".
//     After a server move, renamed() retargets pending state below `from`
//     (renameFailed() when the move failed).
//   - When an upload lands, the write layer calls
//     FilesFilesystem.remoteChanged(entry) so caches and read versions follow.
//   - mkdir asks mkdir() first: a layer that writes folders back returns the
//     pending folder's entry (no request now); null means "create it on the
//     server now". rmdir asks rmdir() the same way.
//   - Folders that exist only here (unpublishedFolder: listed empty without a
//     request) and folders implied by pending entries below them
//     (impliedFolder, impliedChildren: shown even when the server has no
//     such folder) complete the view.
//   - Metadata (custom_metadata: modes, owners, file types, user xattrs) of a
//     file with local changes travels with its upload: create() takes the
//     new file's, setMetadata() a later change (posix/metadata-ops.ts).
import type { RemoteEntry } from '../client/index.js';
import { FsError } from './fs-error.js';
import type { FileHandle } from './handles/file-handle.js';
import type { MetadataMap } from './posix/posix-metadata.js';

export interface WriteLayer {
  /**
   * The local state of a path: a pending (new or changed) file's entry with
   * its local size and mtime; null when removed locally but maybe still on the
   * server; undefined when there is no local state (ask the server).
   */
  localEntry(remotePath: string): RemoteEntry | null | undefined;
  /** Pending entries (files and folders) directly inside a folder, shown over the server's listing. */
  localChildren(dirPath: string): readonly RemoteEntry[];
  /** The folders among localChildren (pending mkdirs directly inside a folder): what its link count adds to the server's listing. */
  localFoldersIn(dirPath: string): readonly RemoteEntry[];
  /** True for a folder that exists only here (a pending mkdir): the server has nothing in it to list. */
  unpublishedFolder(dirPath: string): boolean;
  /**
   * A folder entry for a path that holds pending entries below it: shown
   * when the server has no folder there (it was removed or replaced on the
   * server while they wait), so they stay visible at their paths.
   */
  impliedFolder(path: string): RemoteEntry | undefined;
  /** The implied folders (see impliedFolder) directly inside a folder. */
  impliedChildren(dirPath: string): readonly RemoteEntry[];
  /**
   * True when localEntry(remotePath) is decided from the parent's listing
   * (an Office owner file shown for a document locked elsewhere): Lookup
   * lists the parent first when its listing is not cached.
   */
  dependsOnListing?(remotePath: string): boolean;

  /**
   * The local version at a path (a pending file, a local-only file), as an
   * identity that changes when another one takes its place; undefined when
   * there is none. Read handles compare it to follow changes made here.
   */
  pendingVersion?(remotePath: string): object | undefined;
  /** A handle reading local content (staging), or undefined to read the server's version. */
  openRead(entry: RemoteEntry, flags: number): Promise<FileHandle | undefined>;
  /** open(2) of an existing file with O_WRONLY, O_RDWR or O_TRUNC. */
  openWrite(entry: RemoteEntry, flags: number): Promise<FileHandle>;
  /**
   * create(2): `existing` is the file already at that path (any case), if
   * any; O_EXCL was checked. `metadata` is a new file's custom_metadata
   * (its mode, owner, type; ignored when the file exists).
   */
  create(remotePath: string, existing: RemoteEntry | null, mode: number, flags: number, metadata?: MetadataMap): Promise<FileHandle>;
  /** truncate(2) by path of an existing file. */
  truncate(entry: RemoteEntry, size: number): Promise<void>;

  /** mkdir(2) of a new name (checked): the pending folder's entry, or null to create it on the server now. */
  mkdir(remotePath: string, metadata?: MetadataMap): Promise<RemoteEntry | null>;
  /** Before deleting an empty folder on the server: true when it existed only locally and is now gone. */
  rmdir(entry: RemoteEntry): Promise<boolean>;
  /** Before deleting a file on the server: true when it existed only locally and is now gone. */
  unlink(entry: RemoteEntry): Promise<boolean>;
  /**
   * Before a server move of a file or folder: true when `from` is a file that
   * existed only locally and was retargeted (no server move follows). When
   * false, the server move follows, then exactly one of renamed() or
   * renameFailed() with the same paths (so the layer may hold uploads at or
   * below `from` and `to` while the move runs). `replacing` is what the
   * move replaces at `to` (null: nothing), as the filesystem knows it.
   */
  rename(from: RemoteEntry, to: string, replacing: RemoteEntry | null): Promise<boolean>;
  /**
   * Right before a server move replaces the file at `to`, which the
   * filesystem shows as `replacing` (a save by "write a temporary file,
   * fsync, rename it over"): undefined when the server's file there is
   * still that version (go ahead), else where the moved file goes instead,
   * so the other version is not overwritten: a conflict copy's path beside
   * `to`, or null to drop it (the mount's --on-conflict decides; logged and
   * counted like an upload's conflict).
   */
  replacedElsewhere?(to: string, replacing: RemoteEntry): Promise<string | null | undefined>;
  /** After a server move (file or folder): retarget pending state at or below `from`; what was at `to` was replaced. */
  renamed(from: string, to: string): Promise<void> | void;
  /** The server move announced by rename() failed. */
  renameFailed?(from: string, to: string): void;
  /** utimens on a file or folder: true when recorded locally (it travels with the pending upload or mkdir). */
  setMtime(entry: RemoteEntry, mtime: Date): Promise<boolean>;
  /**
   * chmod, chown, an extended attribute: the entry's whole new
   * custom_metadata. True when recorded locally (a file with local changes:
   * it travels with the upload); false when the server must be told now.
   */
  setMetadata(entry: RemoteEntry, metadata: MetadataMap): Promise<boolean>;
  /** For a file with local changes, its upload state in a few words (user.filesfs.upload); undefined otherwise. */
  uploadState?(remotePath: string): string | undefined;
}

const refuse = (what: string): FsError => new FsError('EROFS', `${what}: writing file content is not supported yet`);

/** Content is read-only; namespace operations (mkdir, rename, ...) still work. */
export class ReadOnlyWrites implements WriteLayer {
  localEntry(): undefined {
    return undefined;
  }
  localChildren(): readonly RemoteEntry[] {
    return [];
  }
  localFoldersIn(): readonly RemoteEntry[] {
    return [];
  }
  unpublishedFolder(): boolean {
    return false;
  }
  impliedFolder(): undefined {
    return undefined;
  }
  impliedChildren(): readonly RemoteEntry[] {
    return [];
  }
  async mkdir(): Promise<null> {
    return null;
  }
  async rmdir(): Promise<boolean> {
    return false;
  }
  async openRead(): Promise<undefined> {
    return undefined;
  }
  async openWrite(entry: RemoteEntry): Promise<FileHandle> {
    throw refuse(entry.path);
  }
  async create(remotePath: string): Promise<FileHandle> {
    throw refuse(remotePath);
  }
  async truncate(entry: RemoteEntry): Promise<void> {
    throw refuse(entry.path);
  }
  async unlink(): Promise<boolean> {
    return false;
  }
  async rename(): Promise<boolean> {
    return false;
  }
  renamed(): void {}
  async setMtime(): Promise<boolean> {
    return false;
  }
  async setMetadata(): Promise<boolean> {
    return false;
  }
}
