// One version of one remote file's content, as the read path caches it: the
// segments fetched so far and the requests in flight. A version is identified
// by the file's size and mtime; every handle that opened the same version
// shares one FileContent (and so one set of fetched blocks). When the server
// shows another version, the old FileContent is superseded: its blocks are
// dropped and reads through handles still bound to it fail with ESTALE rather
// than mix two versions.
import type { RemoteEntry } from '../../client/files-client.js';

/** Bytes of one range response, covering whole blocks [firstBlock, lastBlock]. */
export interface Segment {
  readonly content: FileContent;
  readonly key: string;
  /** Byte offset of data[0] in the file (a block boundary). */
  readonly start: number;
  readonly data: Buffer;
  readonly firstBlock: number;
  readonly lastBlock: number;
}

let nextId = 1;

export const versionOf = (entry: Pick<RemoteEntry, 'size' | 'mtime'>): string => `${entry.size}:${entry.mtime.getTime()}`;

export class FileContent {
  readonly id = nextId++;
  /** Where reads go; follows renames of the file or of a folder above it. */
  remotePath: string;
  readonly size: number;
  mtime: Date;
  /** Set once the server shows another version (or the local cache dropped this one). */
  superseded = false;
  /** Open handles bound to this version. */
  refs = 0;
  /** Cached segment of each block index. */
  readonly blocks = new Map<number, Segment>();
  /** Cached segments, least recently used first (per-file eviction order). */
  readonly order = new Map<Segment, true>();
  /** Requests in flight, by block index. */
  readonly inflight = new Map<number, Promise<Segment>>();
  cachedBytes = 0;
  inflightBytes = 0;

  constructor(entry: RemoteEntry) {
    this.remotePath = entry.path;
    this.size = entry.size;
    this.mtime = entry.mtime;
  }

  get version(): string {
    return versionOf(this);
  }
}
