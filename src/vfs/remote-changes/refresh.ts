// `filesfs refresh PATH [--recursive]`: forget now what this mount holds
// about a path, and ask the server again (rclone's vfs/refresh is the model).
//   1. Dropped: the path's attributes, "no such file" entry and listing, its
//      parent's listing, and the attributes and "no such file" entries of
//      the folder's entries; with --recursive everything cached below it.
//   2. Asked again at once (a choice: the next `ls` is then warm, and
//      refresh can say what changed): a folder is listed (⌈entries /
//      --per-page⌉ requests), with --recursive also the folders below whose
//      listings were cached (at most RECURSIVE_RELIST_MAX; the others are
//      only dropped); a file is stat'ed (one request); a path whose type is
//      not known is stat'ed first.
//   3. What the answers show: cached content of a file whose version changed
//      or that is gone is dropped, and entries gone from a listing become
//      "no such file". A program that has such a file open keeps reading the
//      version it opened (its content is detached, not dropped); a refresh
//      never cuts a reader short.
import type { RemoteEntry } from '../../client/index.js';
import { parentPath } from '../../path/index.js';
import { FsError } from '../fs-error.js';
import { folderChanges } from '../metadata/folder-changes.js';
import type { Listing } from '../metadata/listing.js';
import { isChildKey, keyOf } from '../path-mapper.js';
import type { FileContent } from '../read/file-content.js';
import { applyRemovals, gone, type RemoteChangesDeps } from './apply.js';

/** Folders below the refreshed one that --recursive lists again, at most: the rest are only dropped. */
export const RECURSIVE_RELIST_MAX = 64;

export interface RefreshOptions {
  /** Also everything cached below the path. */
  recursive?: boolean;
}

/** What a refresh did, for the one line `filesfs refresh` prints. */
export interface RefreshReport {
  /** The path as asked, relative to the mountpoint ("/Reports"). */
  path: string;
  recursive: boolean;
  /** What the server has there now. */
  found: 'folder' | 'file' | 'missing';
  /** Entries in the folder's new listing (null unless a folder). */
  entries: number | null;
  /** Folders listed again: the folder, and with --recursive the ones below that were cached. */
  relistedFolders: number;
  /** Folders below whose cached listings were dropped without being listed again (over the cap). */
  droppedFolders: number;
  /** Files whose cached content was dropped or detached: their version changed, or they are gone. */
  changedContents: number;
  /** Open handles that keep reading the version they opened. */
  readersKeepingVersion: number;
  /** API requests the refresh made. */
  requests: number;
}

const isMissing = (err: unknown): boolean => err instanceof FsError && err.code === 'ENOENT';

export async function refresh(deps: RemoteChangesDeps, kernelPath: string, options: RefreshOptions = {}): Promise<RefreshReport> {
  const recursive = options.recursive === true;
  const report: RefreshReport = {
    path: kernelPath, recursive, found: 'missing', entries: null,
    relistedFolders: 0, droppedFolders: 0, changedContents: 0, readersKeepingVersion: 0, requests: 0,
  };
  // A name the server cannot hold: nothing to ask.
  if (deps.paths.cannotExist(kernelPath)) return report;
  const { lookup, metadata, contents } = deps;
  const remote = deps.paths.toRemote(kernelPath);
  const key = keyOf(remote);

  // What is held now, to tell afterwards what changed.
  const known = metadata.lastKnown(remote);
  const listedBefore = metadata.staleListing(key);
  const below = recursive ? metadata.listingsBelow(remote) : [];
  const belowBefore = new Map(below.map((p) => [keyOf(p), metadata.staleListing(keyOf(p))]));
  const watchedOnDisk = contents.onDiskOnlyWithin(remote).filter((v) => recursive || v.key === key || isChildKey(v.key, key));
  const watched = contents.within(remote).filter((c) => {
    if (c.detached || c.superseded) return false;
    const k = keyOf(c.remotePath);
    return recursive || k === key || isChildKey(k, key);
  });

  lookup.forgetFolder(remote, recursive);

  let entry: RemoteEntry | null = null;
  const folderAsKnown = remote === '' || listedBefore !== undefined || known?.type === 'directory';
  if (!folderAsKnown) {
    report.requests++;
    try {
      entry = await lookup.statNow(remote);
    } catch (err) {
      if (!isMissing(err)) throw err;
    }
  }
  if (folderAsKnown || entry?.type === 'directory') {
    let listed: number | null;
    try {
      listed = await relistFolder(deps, remote, listedBefore, report);
    } catch (err) {
      // A folder here once, a file now (the server refuses to list a file): ask what it is.
      if (entry || remote === '') throw err;
      report.requests++;
      entry = await lookup.statNow(remote).catch((again: unknown) => { if (isMissing(again)) return null; throw again; });
      if (entry?.type !== 'file') throw err;
      listed = null;
    }
    if (listed !== null) {
      report.found = 'folder';
      report.entries = listed;
    } else if (entry?.type === 'file') {
      report.found = 'file';
    }
  } else if (entry) {
    report.found = 'file';
  }
  if (report.found === 'missing') {
    gone(deps, remote, true);
  } else {
    // The server has it, so every folder above it exists: forget "no such file" cached for them.
    for (let up = parentPath(remote); remote !== '' && metadata.known(up) === null; up = parentPath(up)) {
      lookup.invalidate(up);
      if (up === '') break;
    }
  }
  if (recursive && report.found === 'folder') {
    // Shallowest first, so a folder gone takes its cached subfolders with it.
    const folders = below.sort((a, b) => a.split('/').length - b.split('/').length);
    let relisted = 0;
    for (const path of folders) {
      if (relisted >= RECURSIVE_RELIST_MAX) {
        report.droppedFolders++;
        continue;
      }
      relisted++;
      // Gone with a folder above it (its parent's new listing lacks it): nothing to ask.
      if (metadata.known(path) === null) continue;
      await relistFolder(deps, path, belowBefore.get(keyOf(path)), report);
    }
  }

  for (const content of watched) countContent(content, report);
  // Closed files' versions on disk that the server no longer shows.
  for (const v of watchedOnDisk) if (v.dropped || v.detached) report.changedContents++;
  return report;
}

/**
 * Lists a folder again and applies what its earlier listing had that the new
 * one lacks; the number of entries, or null when the folder is gone (then
 * gone for every cache here too).
 */
async function relistFolder(deps: RemoteChangesDeps, path: string, before: Listing | undefined, report: RefreshReport): Promise<number | null> {
  try {
    const fetched = await deps.lookup.relist(path);
    report.requests += fetched.pages;
    report.relistedFolders++;
    if (fetched.stored && before) applyRemovals(deps, folderChanges(before, fetched.listing).removed);
    return fetched.listing.children.size;
  } catch (err) {
    if (!isMissing(err)) throw err;
    report.requests++;
    gone(deps, path, true);
    return null;
  }
}

/** A version this refresh replaced (dropped, or detached with its readers). */
function countContent(content: FileContent, report: RefreshReport): void {
  if (!content.detached && !content.superseded) return;
  report.changedContents++;
  if (content.detached && !content.superseded) report.readersKeepingVersion += content.refs;
}
