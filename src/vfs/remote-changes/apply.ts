// What a change found on the server (by refresh or by the poll) does to what
// this mount holds, beyond what storing the new listing or entry already does
// (new attributes, and a newer version's cached content dropped, or detached
// while handles read it: ContentRegistry.observe). Entries gone from a listing
// (deleted, or renamed away) become "no such file", everything cached below a
// folder gone goes, and the cached content of a file gone is dropped, or
// detached while handles read it, exactly as for a newer version.
import type { RemoteEntry } from '../../client/index.js';
import type { Logger } from '../../log/logger.js';
import type { Lookup } from '../lookup.js';
import type { MetadataCache } from '../metadata/metadata-cache.js';
import type { ResolvedOptions } from '../options.js';
import type { PathMapper } from '../path-mapper.js';
import type { ContentRegistry } from '../read/content-registry.js';

/** What refresh and the poll work with; built once per mount by the filesystem. */
export interface RemoteChangesDeps {
  readonly lookup: Lookup;
  readonly metadata: MetadataCache;
  readonly contents: ContentRegistry;
  readonly paths: PathMapper;
  readonly options: Pick<ResolvedOptions, 'clock' | 'listPageSize' | 'attrTtlMs' | 'dirTtlMs' | 'pollIntervalMs'>;
  readonly logger: Logger;
  /** Remote paths of the folders programs hold open, or hold a file open in. */
  openFolders(): Iterable<string>;
}

/** Entries a new listing no longer has: they are gone for every cache here. */
export function applyRemovals(deps: RemoteChangesDeps, removed: readonly RemoteEntry[]): void {
  for (const entry of removed) gone(deps, entry.path, entry.type === 'directory');
}

/** The server no longer has `path` (and, for a folder, anything below it). */
export function gone(deps: RemoteChangesDeps, path: string, folder: boolean): void {
  deps.lookup.appliedRemoval(path, folder);
  for (const content of deps.contents.within(path)) deps.contents.outdated(content.remotePath);
}
