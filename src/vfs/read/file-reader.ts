// Serves read(2) from a file version's cached segments, fetching what is
// missing with ranged reads (client.readRange: the client reuses the file's
// presigned URL and refreshes it on 403). Each read:
//   1. asks the handle's ReadAhead whether to request ahead (sequential
//      readers get growing requests; random readers get none);
//   2. requests the missing blocks the read itself touches, merged into one
//      request per run of consecutive missing blocks;
//   3. waits for those blocks, whoever requested them (another handle on the
//      same version, or read-ahead), and copies them out.
// Blocks already cached or in flight are never requested twice. A response
// shorter than the version's size promises, or the client's
// ContentChangedError (another size or ETag behind the URL), means the file
// changed on the server: the version is superseded and the read fails with
// ESTALE instead of returning a mix of two versions.
import { ContentChangedError, NotFoundError, type FilesClient } from '../../client/index.js';
import type { Logger } from '../../log/logger.js';
import { CacheCounters } from '../cache-counters.js';
import { FsError } from '../fs-error.js';
import { CLOSED_FILE_KEPT_BYTES, type ContentRegistry } from './content-registry.js';
import { ChunkedData, type FileContent, type Segment, type SegmentData } from './file-content.js';
import type { ReadAhead } from './read-ahead.js';

/**
 * Bytes kept behind a lone sequential reader: the kernel's concurrent reads
 * arrive slightly out of order (a few of its 128 KiB requests), so a little
 * behind the furthest read is still wanted; everything further back goes.
 */
const SEQUENTIAL_KEEP_BEHIND = 1024 * 1024;

export class FileReader {
  constructor(
    private readonly client: FilesClient,
    private readonly registry: ContentRegistry,
    private readonly blockSize: number,
    private readonly log: Logger,
    /** Told when a read found the file changed on the server (its metadata is outdated too). */
    private readonly onChanged: (remotePath: string) => void = () => {},
    private readonly counters: CacheCounters = new CacheCounters(),
  ) {}

  /** Reads into `buffer` from `position`; resolves to the bytes read (0 at or after the end). */
  async read(content: FileContent, stream: ReadAhead, buffer: Buffer, position: number): Promise<number> {
    if (content.superseded) throw stale(content);
    const end = Math.min(position + buffer.length, content.size);
    if (position >= end) return 0;
    const ahead = stream.onRead(position, end, content.size);
    if (ahead && !this.fetch(content, ahead.start, ahead.end, true)) stream.retract(ahead);
    this.fetch(content, position, end, false);

    const B = this.blockSize;
    let at = position;
    while (at < end) {
      const segment = await this.segment(content, Math.floor(at / B));
      const segmentEnd = segment.start + segment.data.length;
      const upTo = Math.min(end, segmentEnd);
      segment.data.copy(buffer, at - position, at - segment.start, upTo - segment.start);
      at = upTo;
    }
    // Superseded while this read waited: what was copied may mix versions.
    if (content.superseded) throw stale(content);
    // A lone sequential reader will not come back: what it passed is in the
    // kernel's page cache now, and keeping it here only holds memory.
    // Files a closed version keeps whole (CLOSED_FILE_KEPT_BYTES) stay whole,
    // so that opening them again reads from memory.
    if (stream.sequentialReads > 0 && content.refs <= 1 && content.size > CLOSED_FILE_KEPT_BYTES && position > SEQUENTIAL_KEEP_BEHIND) {
      this.registry.blocks.dropBefore(content, position - SEQUENTIAL_KEEP_BEHIND);
    }
    return end - position;
  }

  /**
   * Fetches a whole version ahead of any read (a small file a program is
   * about to open: FolderReadAhead), as optional read-ahead: nothing is
   * fetched when the cache has no room. Resolves once the fetches settled;
   * rejects with the first failure.
   */
  async prefetch(content: FileContent): Promise<void> {
    if (content.superseded || content.size === 0) return;
    this.fetch(content, 0, content.size, true);
    const inflight = new Set(content.inflight.values());
    for (const request of inflight) await request;
  }

  /** The segment holding `block`: cached, in flight, or fetched now. */
  private async segment(content: FileContent, block: number): Promise<Segment> {
    let othersFailed = false;
    if (this.registry.blocks.has(content, block) || content.inflight.has(block)) this.counters.blocks.hits++;
    else this.counters.blocks.misses++;
    for (;;) {
      if (content.superseded) throw stale(content);
      const cached = this.registry.blocks.find(content, block);
      if (cached) return cached;
      const inflight = content.inflight.get(block);
      if (inflight) {
        let segment: Segment;
        try {
          segment = await inflight;
        } catch (err) {
          // Someone else's request (read-ahead, another handle) failed: this
          // read asks once itself before it reports the failure. The failed
          // request is no longer marked in flight when its awaiters hear of it.
          if (othersFailed || (err instanceof FsError && err.code === 'ESTALE')) throw err;
          othersFailed = true;
          continue;
        }
        if (content.superseded) throw stale(content);
        if (segment.firstBlock <= block && block <= segment.lastBlock) return segment;
        continue;
      }
      // Evicted between the request and now (memory pressure): ask again.
      this.fetch(content, block * this.blockSize, Math.min((block + 1) * this.blockSize, content.size), false);
    }
  }

  /**
   * Requests every block of [start, end) that is neither cached nor in flight;
   * false when optional read-ahead found no room (nothing more was requested).
   */
  private fetch(content: FileContent, start: number, end: number, optional: boolean): boolean {
    const B = this.blockSize;
    const last = Math.floor((end - 1) / B);
    let block = Math.floor(start / B);
    while (block <= last) {
      if (content.inflight.has(block) || this.registry.blocks.has(content, block)) {
        block++;
        continue;
      }
      let runEnd = block;
      while (runEnd + 1 <= last && !content.inflight.has(runEnd + 1) && !this.registry.blocks.has(content, runEnd + 1)) runEnd++;
      if (!this.request(content, block, runEnd, optional)) return false;
      block = runEnd + 1;
    }
    return true;
  }

  /** One range request for blocks [first, last]; false when read-ahead found no room. */
  private request(content: FileContent, first: number, last: number, optional: boolean): boolean {
    const B = this.blockSize;
    const offset = first * B;
    const length = Math.min((last + 1) * B, content.size) - offset;
    if (!this.registry.blocks.reserve(content, length, optional)) return false;
    const path = content.remotePath;
    // Chained from a resolved promise so that even a synchronous failure of
    // readRange settles the reservation and clears the in-flight marks.
    const client = this.client;
    const promise: Promise<Segment> = Promise.resolve()
      .then((): Promise<SegmentData> => {
        const options = { pin: content.pin };
        return client.readRangeChunks ? client.readRangeChunks(path, offset, length, options).then((chunks) => new ChunkedData(chunks)) : client.readRange(path, offset, length, options);
      })
      .finally(() => this.registry.blocks.settle(content, length))
      .then(
        (data) => this.landed(content, first, last, offset, length, data),
        (err: unknown) => {
          // The client saw another version behind the file's URL (size or ETag), or the file is gone:
          // this version cannot be read any more.
          if (err instanceof ContentChangedError) throw this.changed(content, 'the server answered with another version');
          if (err instanceof NotFoundError) throw this.changed(content, 'the file is gone from the server');
          throw err;
        },
      )
      .finally(() => {
        for (let b = first; b <= last; b++) if (content.inflight.get(b) === promise) content.inflight.delete(b);
        this.registry.tidy(content);
      });
    // Read-ahead nobody waits for must not become an unhandled rejection; a
    // read that needs these blocks asks again and reports its own failure.
    promise.catch((err: unknown) => {
      if (optional) this.log.debug('read-ahead of %s [%d, %d) failed: %s', path, offset, offset + length, err instanceof Error ? err.message : String(err));
    });
    for (let b = first; b <= last; b++) content.inflight.set(b, promise);
    return true;
  }

  private changed(content: FileContent, why: string): FsError {
    this.registry.supersede(content, why);
    this.onChanged(content.remotePath);
    return stale(content);
  }

  private landed(content: FileContent, first: number, last: number, offset: number, length: number, data: SegmentData): Segment {
    if (data.length !== length) {
      this.log.warn('%s: expected %d bytes at %d, got %d; the file changed on the server', content.remotePath, length, offset, data.length);
      throw this.changed(content, 'size changed');
    }
    const segment: Segment = { content, key: `${content.id}:${first}`, start: offset, data, firstBlock: first, lastBlock: last };
    this.registry.blocks.insert(segment);
    return segment;
  }
}

function stale(content: FileContent): FsError {
  return new FsError('ESTALE', `${content.remotePath}: the file changed on the server while open; open it again`);
}
