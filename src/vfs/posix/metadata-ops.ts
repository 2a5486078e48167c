// Operations on an entry's metadata: chmod, chown, the extended attributes,
// and the POSIX metadata of what is created (docs/semantics.md, "Permissions
// and metadata", "Extended attributes"). A change becomes the entry's new
// custom_metadata (posix-metadata.ts, xattrs.ts) and goes:
//   - to the write layer, when the entry is a file with local changes not
//     yet uploaded: it travels with that upload (a PATCH right after it), and
//     is journaled with the file like its content;
//   - otherwise to the server at once, in one PATCH; the caches show the
//     server's answer (read-your-writes).
// A change that leaves the metadata as it was costs no request. Every
// successful change moves the entry's ctime (local-times.ts).
import type { FilesClient, RemoteEntry } from '../../client/index.js';
import type { Logger } from '../../log/logger.js';
import { posixDefaults, posixFacts } from '../attributes.js';
import type { Caller, FileKind } from '../filesystem-api.js';
import { FsError } from '../fs-error.js';
import type { Lookup } from '../lookup.js';
import type { ResolvedOptions } from '../options.js';
import type { ContentRegistry } from '../read/content-registry.js';
import type { WriteLayer } from '../writes.js';
import type { LocalTimes } from './local-times.js';
import { encodePosix, metadataOf, METADATA_LIMITS, sameMetadata, type MetadataMap, type PosixChange } from './posix-metadata.js';
import {
  noAttribute, notKept, parseXattrName, userAttributeNames, userValue, withoutUserValue, withUserValue,
} from './xattrs.js';

export interface MetadataOpsDeps {
  client: FilesClient;
  lookup: Lookup;
  contents: ContentRegistry;
  options: ResolvedOptions;
  /** The write layer (a getter: it is created after this). */
  writes: () => WriteLayer;
  times: LocalTimes;
  logger: Logger;
  /** The token of the lock this mount holds on a path for programs here, if any. */
  heldLock?: (path: string) => string | undefined;
}

const S_ISGID = 0o2000;

export class MetadataOps {
  constructor(private readonly deps: MetadataOpsDeps) {}

  private now(): number {
    return this.deps.options.clock();
  }

  // ---- chmod, chown -------------------------------------------------------------

  async chmod(entry: RemoteEntry, mode: number): Promise<void> {
    if (!this.deps.options.posixMetadata) return;
    await this.changePosix(entry, { permissions: mode & 0o7777 });
  }

  /** uid or gid -1: unchanged. */
  async chown(entry: RemoteEntry, uid: number, gid: number): Promise<void> {
    if (!this.deps.options.posixMetadata) return;
    const change: PosixChange = {};
    if (uid !== -1) change.uid = uid;
    if (gid !== -1) change.gid = gid;
    await this.changePosix(entry, change);
  }

  private async changePosix(entry: RemoteEntry, change: PosixChange): Promise<void> {
    const facts = posixFacts(entry, this.deps.options);
    await this.apply(entry, encodePosix(metadataOf(entry), facts, change, posixDefaults(this.deps.options)));
  }

  // ---- what is created ------------------------------------------------------------

  /**
   * The custom_metadata of a new entry of `kind` made by `caller` in
   * `parent` with `permissions`: the caller owns it; its group is the
   * caller's, or the folder's when that has the set-group-ID bit (which a new
   * folder inherits), as on Linux. Empty when all of it is the mount's default.
   */
  newEntry(kind: FileKind, permissions: number, caller: Caller | undefined, parent: RemoteEntry, extra: PosixChange = {}): MetadataMap {
    const { options } = this.deps;
    if (!options.posixMetadata) return {};
    const defaults = posixDefaults(options);
    const folder = posixFacts(parent, options);
    const inherit = (folder.permissions & S_ISGID) !== 0;
    let bits = permissions & 0o7777;
    if (kind === 'directory' && inherit) bits |= S_ISGID;
    const start = { kind, permissions: bits, uid: defaults.uid, gid: defaults.gid, rdev: 0, target: null };
    return encodePosix({}, start, {
      kind,
      permissions: bits,
      uid: caller?.uid ?? defaults.uid,
      gid: inherit ? folder.gid : caller?.gid ?? defaults.gid,
      ...extra,
    }, defaults);
  }

  // ---- extended attributes ----------------------------------------------------------

  async getxattr(entry: RemoteEntry, name: string): Promise<Buffer> {
    const parsed = parseXattrName(name);
    switch (parsed.kind) {
      case 'user':
        return userValue(metadataOf(entry), parsed.key, name);
      case 'checksum': {
        // A symlink, FIFO or device node is a file on the server, but its "content" is not what a program reads here.
        if (entry.type !== 'file' || posixFacts(entry, this.deps.options).kind !== 'file') throw noAttribute(name);
        let value = entry[parsed.checksum] ?? null;
        // Checksums arrive late: a file the server has but whose entry has none yet is asked again.
        if (value === null && this.deps.writes().localEntry(entry.path) === undefined) {
          value = (await this.fresh(entry))[parsed.checksum] ?? null;
        }
        if (value === null) throw noAttribute(name);
        return Buffer.from(value, 'utf8');
      }
      case 'upload': {
        const state = this.deps.writes().uploadState?.(entry.path);
        if (state === undefined) throw noAttribute(name);
        return Buffer.from(state, 'utf8');
      }
      case 'lock': {
        const holders = await this.lockHolders(entry);
        if (holders === null) throw noAttribute(name);
        return Buffer.from(holders, 'utf8');
      }
      case 'other':
        throw notKept(name);
      default:
        throw noAttribute(name);
    }
  }

  /**
   * The user.* attributes a program can copy: the entry's own. The
   * read-only user.filesfs.* ones (checksums, upload state, lock holder) are
   * read by name and never listed: tools that copy attributes (rsync -X,
   * cp -a, tar --xattrs) would carry the server's checksums onto other disks
   * and back, fail to set them here (EPERM), and try to remove them from
   * files that have them here and not at the source.
   */
  listxattr(entry: RemoteEntry): string[] {
    return userAttributeNames(metadataOf(entry));
  }

  /**
   * The Files.com locks on an entry, in a line for user.filesfs.lock
   * ("exclusive lock held by bob; expires in 120 s"), or null when there is
   * none. One request: locks change without the entry changing.
   */
  private async lockHolders(entry: RemoteEntry): Promise<string | null> {
    const { client } = this.deps;
    if (!client.locks || entry.path === '') return null;
    const locks = await client.locks(entry.path);
    if (locks.length === 0) return null;
    const mine = this.deps.heldLock?.(entry.path);
    return locks
      .map((l) => {
        const who = l.token === mine ? 'this mount (a program here)' : l.username ?? l.owner ?? 'another client';
        const expires = l.timeoutSeconds === null ? '' : `; expires in ${l.timeoutSeconds} s unless renewed`;
        return `${l.exclusive ? 'exclusive' : 'shared'} lock held by ${who}${expires}`;
      })
      .join('\n');
  }

  async setxattr(entry: RemoteEntry, name: string, value: Buffer, flags: number): Promise<void> {
    const parsed = parseXattrName(name);
    if (parsed.kind === 'other') throw notKept(name);
    if (parsed.kind !== 'user') throw new FsError('EPERM', `${name}: a read-only attribute (user.filesfs.* is filesfs's own)`);
    await this.apply(entry, withUserValue(metadataOf(entry), parsed.key, name, value, flags));
  }

  async removexattr(entry: RemoteEntry, name: string): Promise<void> {
    const parsed = parseXattrName(name);
    if (parsed.kind === 'other') throw notKept(name);
    if (parsed.kind !== 'user') throw new FsError('EPERM', `${name}: a read-only attribute (user.filesfs.* is filesfs's own)`);
    await this.apply(entry, withoutUserValue(metadataOf(entry), parsed.key, name));
  }

  // ---- helpers ----------------------------------------------------------------------

  /**
   * Makes `next` the entry's custom_metadata: with its pending upload when
   * it has local changes, else one PATCH now. The ctime moves either way.
   */
  async apply(entry: RemoteEntry, next: MetadataMap): Promise<void> {
    const { client, lookup, contents, times } = this.deps;
    if (!sameMetadata(metadataOf(entry), next)) {
      if (Object.keys(next).length > METADATA_LIMITS.keys) {
        throw new FsError('ENOSPC', `${entry.path}: no room for another metadata key (Files.com keeps at most ${METADATA_LIMITS.keys} per entry; remove an extended attribute)`);
      }
      if (entry.path === '') {
        // The site root has no entry to carry metadata (as with its time, utimens).
        this.deps.logger.debug('metadata of the site root cannot be kept; ignored');
      } else if (!(await this.deps.writes().setMetadata(entry, next))) {
        const updated = await client.update(entry.path, { customMetadata: next });
        contents.retime(updated);
        lookup.appliedEntry(updated);
      }
    }
    times.changed(entry.path, this.now());
  }

  /** The entry as the server has it now (one request), cached. */
  private async fresh(entry: RemoteEntry): Promise<RemoteEntry> {
    const now = await this.deps.client.stat(entry.path);
    this.deps.lookup.appliedEntry(now);
    return now;
  }
}
