// One version of one remote file's content, as the read path caches it: the
// segments fetched so far and the requests in flight. A version is identified
// by the file's size and mtime; every handle that opened the same version
// shares one FileContent (and so one set of fetched blocks), and reads it
// with its own download URL (a DownloadPin), apart from the file's shared one.
// When the server shows another version, the old FileContent is detached:
// new opens read the new one, while handles already open keep reading theirs,
// whole, from what is cached and through its URL for as long as the server
// still gives that version. Once it does not, the version is superseded: its
// blocks are dropped and reads fail with ESTALE rather than return a mix of
// two versions or stop short.
import { DownloadPin, type RemoteEntry } from '../../client/index.js';

/** What a segment's bytes must offer (a Buffer does; so does ChunkedData). */
export interface SegmentData {
  readonly length: number;
  /** Buffer.copy's contract: copies source bytes [sourceStart, sourceEnd) to target at targetStart; returns the count. */
  copy(target: Buffer, targetStart: number, sourceStart: number, sourceEnd: number): number;
}

/**
 * A range response kept as the chunks it arrived in (views of the socket's
 * buffers): no buffer of the whole range is allocated and filled, so each
 * byte is copied once on its way to the kernel, not twice.
 */
export class ChunkedData implements SegmentData {
  readonly length: number;
  /** Offset of each chunk's first byte in the data. */
  private readonly offsets: number[];

  constructor(private readonly chunks: readonly Buffer[]) {
    this.offsets = new Array<number>(chunks.length);
    let at = 0;
    for (let i = 0; i < chunks.length; i++) {
      this.offsets[i] = at;
      at += chunks[i]!.length;
    }
    this.length = at;
  }

  copy(target: Buffer, targetStart: number, sourceStart: number, sourceEnd: number): number {
    const end = Math.min(sourceEnd, this.length, sourceStart + (target.length - targetStart));
    if (sourceStart >= end) return 0;
    // The last chunk starting at or before sourceStart (binary search).
    let lo = 0;
    let hi = this.chunks.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (this.offsets[mid]! <= sourceStart) lo = mid;
      else hi = mid - 1;
    }
    let at = sourceStart;
    let out = targetStart;
    for (let i = lo; at < end; i++) {
      const chunk = this.chunks[i]!;
      const from = at - this.offsets[i]!;
      const n = Math.min(chunk.length - from, end - at);
      chunk.copy(target, out, from, from + n);
      at += n;
      out += n;
    }
    return end - sourceStart;
  }
}

/** Bytes of one range response, covering whole blocks [firstBlock, lastBlock]. */
export interface Segment {
  readonly content: FileContent;
  readonly key: string;
  /** Byte offset of data[0] in the file (a block boundary). */
  readonly start: number;
  readonly data: SegmentData;
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
  /** Set once this version cannot be read any more (the server no longer gives it, or the cache dropped it). */
  superseded = false;
  /** Set once the path shows a newer version: new opens read that one; this one's handles read on. */
  detached = false;
  /** This version's own download URL (client.readRange's pin). */
  readonly pin: DownloadPin;
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
    this.pin = new DownloadPin(entry.size, entry.serverMtime);
  }

  get version(): string {
    return versionOf(this);
  }
}
