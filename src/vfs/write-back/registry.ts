// The registry of pending files: the one index of what write-back holds, and
// the rename holds on it.
//
// Index: by path identity (keyOf: case- and accent-insensitive, like every
// cache of src/vfs) for lookup, and by parent folder for readdir, so a
// listing costs the folder's pending files, not all of them. A path has at
// most one pending file; files are re-keyed when they are renamed, singly or
// with their folder.
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
import type { PendingFile } from './pending-file.js';

export class PendingFiles {
  private readonly byKey = new Map<string, PendingFile>();
  private readonly byParent = new Map<string, Set<PendingFile>>();
  private readonly renameHolds = new Map<string, PendingFile[][]>();

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
    return true;
  }

  /** Changes a file's path (it must not collide with another pending file). */
  move(file: PendingFile, to: string): void {
    this.delete(file);
    file.retarget(to);
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

  // ---- rename holds -------------------------------------------------------------------

  /** Remembers the files held (PendingFile.hold) for the server's move from → to, until takeHold with the same paths. */
  rememberHold(from: string, to: string, files: PendingFile[]): void {
    const key = holdKey(from, to);
    const list = this.renameHolds.get(key);
    if (list) list.push(files);
    else this.renameHolds.set(key, [files]);
  }

  /** The files held for the rename from → to (the oldest such hold), still held: the caller releases each. */
  takeHold(from: string, to: string): PendingFile[] {
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
