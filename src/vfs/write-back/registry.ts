// The registry of pending files and folders: the one index of what
// write-back holds, and the rename holds on it.
//
// Index: by path identity (keyOf: case- and accent-insensitive, like every
// cache of src/vfs) for lookup, and by parent folder for readdir, so a
// listing costs the folder's pending entries, not all of them. A path has at
// most one pending file or folder; entries are re-keyed when they are
// renamed, singly or with their folder. Every folder above a pending entry is
// counted (`ancestors`), so "does anything wait below this folder" and "which
// folder waits to be created above this file" cost the path's depth.
//
// Rename holds: while the server moves a file or a folder, the pending files
// at or below the source and the target must not upload (an upload landing
// under the old name after the move would resurrect it). The write layer
// holds them before the move and releases them after it, success or not;
// holds are remembered by (from, to), since several renames can run at once.
// The write layer holds and releases the files (each then takes its next
// step); the registry remembers which files a move holds.
import { parentPath } from '../../path/index.js';
import { keyOf } from '../path-mapper.js';
import type { BaseVersion, PendingFile } from './pending-file.js';
import type { PendingFolder } from './pending-folder.js';

/** A folder above pending entries: how many, and its spelling (from the first one). */
interface Ancestor {
  count: number;
  path: string;
}

export class PendingFiles {
  private readonly byKey = new Map<string, PendingFile>();
  private readonly byParent = new Map<string, Set<PendingFile>>();
  private readonly folderByKey = new Map<string, PendingFolder>();
  private readonly foldersByParent = new Map<string, Set<PendingFolder>>();
  private readonly ancestorsByKey = new Map<string, Ancestor>();
  /** The keys of ancestorsByKey by their parent's key: a folder's implied children without a scan of every ancestor. */
  private readonly ancestorKeysByParent = new Map<string, Set<string>>();
  private readonly renameHolds = new Map<string, Array<Array<PendingFile | PendingFolder>>>();

  get(path: string): PendingFile | undefined {
    return this.byKey.get(keyOf(path));
  }

  add(file: PendingFile): void {
    const key = file.key;
    if (this.byKey.has(key)) throw new Error(`a pending file for ${file.path} exists already`);
    this.byKey.set(key, file);
    const parent = keyOf(parentPath(file.path));
    let set = this.byParent.get(parent);
    if (!set) this.byParent.set(parent, (set = new Set()));
    set.add(file);
    this.countAncestors(file.path, +1);
  }

  /** Removes `file` if it is the one indexed at its path. */
  delete(file: PendingFile): boolean {
    const key = file.key;
    if (this.byKey.get(key) !== file) return false;
    this.byKey.delete(key);
    const parent = keyOf(parentPath(file.path));
    const set = this.byParent.get(parent);
    set?.delete(file);
    if (set && set.size === 0) this.byParent.delete(parent);
    this.countAncestors(file.path, -1);
    return true;
  }

  /** Changes a file's path (it must not collide with another pending file); `base`: the server version it replaces there. */
  move(file: PendingFile, to: string, base?: BaseVersion): void {
    this.delete(file);
    file.retarget(to, base);
    this.add(file);
  }

  childrenOf(dirPath: string): PendingFile[] {
    const set = this.byParent.get(keyOf(dirPath));
    return set ? [...set] : [];
  }

  /** Pending files at `path` or below it (a folder being renamed). */
  atOrBelow(path: string): PendingFile[] {
    const key = keyOf(path);
    if (key === '') return [...this.byKey.values()];
    const out: PendingFile[] = [];
    for (const [k, file] of this.byKey) if (k === key || k.startsWith(key + '/')) out.push(file);
    return out;
  }

  values(): IterableIterator<PendingFile> {
    return this.byKey.values();
  }

  get size(): number {
    return this.byKey.size;
  }

  // ---- pending folders ----------------------------------------------------------------

  getFolder(path: string): PendingFolder | undefined {
    return this.folderByKey.get(keyOf(path));
  }

  addFolder(folder: PendingFolder): void {
    const key = folder.key;
    if (this.folderByKey.has(key) || this.byKey.has(key)) throw new Error(`a pending entry for ${folder.path} exists already`);
    this.folderByKey.set(key, folder);
    const parent = keyOf(parentPath(folder.path));
    let set = this.foldersByParent.get(parent);
    if (!set) this.foldersByParent.set(parent, (set = new Set()));
    set.add(folder);
    this.countAncestors(folder.path, +1);
  }

  /** Removes `folder` if it is the one indexed at its path. */
  deleteFolder(folder: PendingFolder): boolean {
    const key = folder.key;
    if (this.folderByKey.get(key) !== folder) return false;
    this.folderByKey.delete(key);
    const parent = keyOf(parentPath(folder.path));
    const set = this.foldersByParent.get(parent);
    set?.delete(folder);
    if (set && set.size === 0) this.foldersByParent.delete(parent);
    this.countAncestors(folder.path, -1);
    return true;
  }

  moveFolder(folder: PendingFolder, to: string): void {
    this.deleteFolder(folder);
    folder.retarget(to);
    this.addFolder(folder);
  }

  foldersIn(dirPath: string): PendingFolder[] {
    const set = this.foldersByParent.get(keyOf(dirPath));
    return set ? [...set] : [];
  }

  /** Pending folders at `path` or below it. */
  foldersAtOrBelow(path: string): PendingFolder[] {
    const key = keyOf(path);
    const out: PendingFolder[] = [];
    for (const [k, folder] of this.folderByKey) if (key === '' || k === key || k.startsWith(key + '/')) out.push(folder);
    return out;
  }

  folders(): IterableIterator<PendingFolder> {
    return this.folderByKey.values();
  }

  /** The nearest folder above `path` that is not on the server yet (what `path` waits for), if any. */
  blockingFolder(path: string): PendingFolder | undefined {
    for (let up = parentPath(path); ; up = parentPath(up)) {
      const folder = this.folderByKey.get(keyOf(up));
      // The nearest: it waits for its own parent in turn, so folders are created top down.
      if (folder?.blocks) return folder;
      if (up === '') return undefined;
    }
  }

  /** The spelling of a folder above pending entries, or undefined when nothing pending is below `path`. */
  pendingBelow(path: string): string | undefined {
    return this.ancestorsByKey.get(keyOf(path))?.path;
  }

  /** Folders directly inside `dirPath` with pending entries below them (their spelling). */
  foldersWithPendingIn(dirPath: string): string[] {
    const keys = this.ancestorKeysByParent.get(keyOf(dirPath));
    if (!keys) return [];
    const out: string[] = [];
    for (const k of keys) out.push(this.ancestorsByKey.get(k)!.path);
    return out;
  }

  /** Counts `path`'s strict ancestors up (+1) or down (-1). */
  private countAncestors(path: string, by: 1 | -1): void {
    const segments = path.split('/');
    for (let depth = segments.length - 1; depth >= 0; depth--) {
      const spelled = segments.slice(0, depth).join('/');
      const key = keyOf(spelled);
      const ancestor = this.ancestorsByKey.get(key);
      if (by > 0) {
        if (ancestor) ancestor.count++;
        else {
          this.ancestorsByKey.set(key, { count: 1, path: spelled });
          if (key !== '') this.indexAncestor(key, keyOf(parentPath(spelled)), true);
        }
      } else if (ancestor) {
        if (--ancestor.count === 0) {
          this.ancestorsByKey.delete(key);
          if (key !== '') this.indexAncestor(key, keyOf(parentPath(spelled)), false);
        }
      }
    }
  }

  private indexAncestor(key: string, parent: string, add: boolean): void {
    const set = this.ancestorKeysByParent.get(parent);
    if (add) {
      if (set) set.add(key);
      else this.ancestorKeysByParent.set(parent, new Set([key]));
    } else if (set) {
      set.delete(key);
      if (set.size === 0) this.ancestorKeysByParent.delete(parent);
    }
  }

  // ---- rename holds -------------------------------------------------------------------

  /** Remembers the entries held (hold()) for the server's move from → to, until takeHold with the same paths. */
  rememberHold(from: string, to: string, files: Array<PendingFile | PendingFolder>): void {
    const key = holdKey(from, to);
    const list = this.renameHolds.get(key);
    if (list) list.push(files);
    else this.renameHolds.set(key, [files]);
  }

  /** The entries held for the rename from → to (the oldest such hold), still held: the caller releases each. */
  takeHold(from: string, to: string): Array<PendingFile | PendingFolder> {
    const key = holdKey(from, to);
    const list = this.renameHolds.get(key);
    const files = list?.shift() ?? [];
    if (list && list.length === 0) this.renameHolds.delete(key);
    return files;
  }
}

function holdKey(from: string, to: string): string {
  return `${keyOf(from)}\n${keyOf(to)}`;
}
