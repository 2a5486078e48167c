// Serves read(2) from a file version's blocks: in memory (block-cache.ts),
// else on disk (the content cache, read straight into the kernel's buffer),
// else fetched with ranged reads (client.readRangeInto: the client reuses the
// file's presigned URL and refreshes it on 403, and copies the bytes into
// pool blocks as they arrive). Each read:
//   1. asks the handle's ReadAhead whether to request ahead (sequential
//      readers get growing requests; random readers get none);
//   2. requests the blocks the read itself touches that are nowhere yet,
//      merged into one request per run of consecutive missing blocks;
//   3. copies each block out as soon as it is there, whoever requested it
//      (another handle on the same version, or read-ahead).
// Blocks cached (in memory or on disk) or in flight are never requested
// twice. A fetched block goes to the disk cache too; once there, memory may
// let go of it. A response shorter than the version's size promises, or the
// client's ContentChangedError (another size or ETag behind the URL), means
// the file changed on the server: the version is superseded (its blocks
// dropped, in memory and on disk) and the read fails with ESTALE instead of
// returning a mix of two versions.
import { ContentChangedError, NotFoundError, type FilesClient } from '../../client/index.js';
import type { Logger } from '../../log/logger.js';
import { CacheCounters } from '../cache-counters.js';
import { FsError } from '../fs-error.js';
import type { PoolBlock } from './block-pool.js';
import type { ContentRegistry } from './content-registry.js';
import type { FileContent } from './file-content.js';
import type { ReadAhead } from './read-ahead.js';
import type { DiskVersion } from '../content-cache/disk-cache.js';

/**
 * Bytes kept behind a lone sequential reader: the kernel's concurrent reads
 * arrive slightly out of order (a few of its requests), so a little behind
 * the furthest read is still wanted; everything further back goes.
 */
const SEQUENTIAL_KEEP_BEHIND = 1024 * 1024;

export class FileReader {
  private readonly blockSize: number;
  /** Read blocks per disk cache block (the disk cache keeps 1 MiB blocks; reads use smaller ones). */
  private readonly perDiskBlock: number;

  constructor(
    private readonly client: FilesClient,
    private readonly registry: ContentRegistry,
    blockSize: number,
    private readonly log: Logger,
    /** Told when a read found the file changed on the server (its metadata is outdated too). */
    private readonly onChanged: (remotePath: string) => void = () => {},
    private readonly counters: CacheCounters = new CacheCounters(),
  ) {
    this.blockSize = blockSize;
    this.perDiskBlock = registry.disk ? registry.disk.blockSize / blockSize : 1;
  }

  /** Reads into `buffer` from `position`; resolves to the bytes read (0 at or after the end). */
  async read(content: FileContent, stream: ReadAhead, buffer: Buffer, position: number): Promise<number> {
    if (content.superseded) throw stale(content);
    const end = Math.min(position + buffer.length, content.size);
    if (position >= end) return 0;
    this.registry.active();
    const ahead = stream.onRead(position, end, content.size);
    if (ahead && !this.fetch(content, ahead.start, ahead.end, true)) stream.retract(ahead);
    this.fetch(content, position, end, false);

    const B = this.blockSize;
    const copies: Promise<void>[] = [];
    for (let at = position; at < end;) {
      const index = Math.floor(at / B);
      const upTo = Math.min(end, (index + 1) * B);
      copies.push(this.copyBlock(content, index, buffer, at - position, at - index * B, upTo - index * B));
      at = upTo;
    }
    await Promise.all(copies);
    // Superseded while this read waited: what was copied may mix versions.
    if (content.superseded) throw stale(content);
    // A lone sequential reader will not come back: what it passed is in the
    // kernel's page cache (and on disk) now, and keeping it here only holds
    // memory. Small files stay whole, so that opening them again is cheap.
    if (stream.sequentialReads > 0 && content.refs <= 1 && content.size > this.registry.closedFileKeptBytes && position > SEQUENTIAL_KEEP_BEHIND) {
      this.registry.blocks.dropBefore(content, position - SEQUENTIAL_KEEP_BEHIND, B);
    }
    return end - position;
  }

  /**
   * Fetches a whole version ahead of any read (a small file a program is
   * about to open: FolderReadAhead), as optional read-ahead: nothing is
   * fetched when memory has no room. Resolves once the fetches settled;
   * rejects with the first failure.
   */
  async prefetch(content: FileContent): Promise<void> {
    if (content.superseded || content.size === 0) return;
    this.registry.active();
    this.fetch(content, 0, content.size, true);
    const inflight = new Set(content.inflight.values());
    for (const request of inflight) await request;
  }

  /** The disk cache's version of `content`, while it can hold blocks. */
  private diskOf(content: FileContent): DiskVersion | undefined {
    const v = content.disk;
    return v && !v.dropped ? v : undefined;
  }

  /** Whether read block `index` is on disk. */
  private onDisk(content: FileContent, index: number): boolean {
    const v = this.diskOf(content);
    return v !== undefined && this.registry.disk!.has(v, Math.floor(index / this.perDiskBlock));
  }

  /** Whether block `index` is somewhere already: in memory, on disk, or being fetched. */
  private present(content: FileContent, index: number): boolean {
    return content.inflight.has(index) || this.registry.blocks.has(content, index) || this.onDisk(content, index);
  }

  /** Copies bytes [from, to) of block `index` into `target` at `targetStart`, from wherever the block is. */
  private async copyBlock(content: FileContent, index: number, target: Buffer, targetStart: number, from: number, to: number): Promise<void> {
    let othersFailed = false;
    if (this.present(content, index)) this.counters.blocks.hits++;
    else this.counters.blocks.misses++;
    for (;;) {
      if (content.superseded) throw stale(content);
      const cached = this.registry.blocks.find(content, index);
      if (cached) {
        cached.block.buf.copy(target, targetStart, from, to);
        return;
      }
      if (this.onDisk(content, index)) {
        const within = (index % this.perDiskBlock) * this.blockSize;
        if (await this.registry.disk!.readInto(content.disk!, Math.floor(index / this.perDiskBlock), target, targetStart, within + from, within + to)) {
          this.counters.disk.hits++;
          return;
        }
        continue;
      }
      const inflight = content.inflight.get(index);
      if (inflight) {
        try {
          await inflight;
        } catch (err) {
          // Someone else's request (read-ahead, another handle) failed: this
          // read asks once itself before it reports the failure. The failed
          // request is no longer marked in flight when its awaiters hear of it.
          if (othersFailed || (err instanceof FsError && err.code === 'ESTALE')) throw err;
          othersFailed = true;
        }
        continue;
      }
      // Evicted between the request and now (memory pressure): ask again.
      this.fetch(content, index * this.blockSize, Math.min((index + 1) * this.blockSize, content.size), false);
    }
  }

  /**
   * Requests every block of [start, end) that is nowhere yet; false when
   * optional read-ahead found no room (nothing more was requested). With the
   * disk cache on, the range grows to whole disk blocks: what is fetched can
   * be kept.
   */
  private fetch(content: FileContent, start: number, end: number, optional: boolean): boolean {
    const B = this.blockSize;
    let first = Math.floor(start / B);
    let last = Math.floor((end - 1) / B);
    if (this.diskOf(content) && this.perDiskBlock > 1) {
      const K = this.perDiskBlock;
      first = Math.floor(first / K) * K;
      last = Math.min(Math.ceil((last + 1) / K) * K, Math.ceil(content.size / B)) - 1;
    }
    const most = Math.max(1, Math.floor(this.registry.maxRequestBytes / B));
    let block = first;
    while (block <= last) {
      if (this.present(content, block)) {
        block++;
        continue;
      }
      let runEnd = block;
      while (runEnd + 1 <= last && runEnd + 1 - block < most && !this.present(content, runEnd + 1)) runEnd++;
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
    const count = last - first + 1;
    const pool = this.registry.blocks.pool;
    let blocks: PoolBlock[] | null = null;
    if (count === 1 && pool.fitsShort(length)) {
      // A small file, or the short end of one: a buffer of its own size.
      const short = pool.takeShort(length, optional);
      if (!short) return false;
      blocks = [short];
    } else if (optional) {
      blocks = pool.tryTake(count);
      if (!blocks) return false;
    }
    if (!this.registry.blocks.reserve(content, length, optional)) {
      for (const b of blocks ?? []) pool.release(b);
      return false;
    }
    const path = content.remotePath;
    const disk = this.diskOf(content);
    if (disk) {
      const diskBlocks = Math.ceil(count / this.perDiskBlock);
      this.registry.disk!.missed(diskBlocks);
      this.counters.disk.misses += diskBlocks;
    }
    const promise: Promise<void> = (async () => {
      let held = blocks ?? (await pool.take(count));
      try {
        const targets = held.map((b, i) => b.buf.subarray(0, Math.min(B, content.size - (first + i) * B)));
        const got = await this.download(path, offset, targets, content);
        if (got !== length) {
          this.log.warn('%s: expected %d bytes at %d, got %d; the file changed on the server', path, length, offset, got);
          throw this.changed(content, 'size changed');
        }
        if (disk && content.pin.etag !== undefined) this.registry.disk!.learnedEtag(disk, content.pin.etag);
        for (let i = 0; i < count; i++) this.registry.blocks.insert(content, first + i, held[i]!, targets[i]!.length);
        held = [];
        if (disk) this.keep(content, disk, first, last);
      } catch (err) {
        // The client saw another version behind the file's URL (size or ETag), or the file is gone:
        // this version cannot be read any more.
        if (err instanceof ContentChangedError) throw this.changed(content, 'the server answered with another version');
        if (err instanceof NotFoundError) throw this.changed(content, 'the file is gone from the server');
        throw err;
      } finally {
        for (const b of held) pool.release(b);
        this.registry.blocks.settle(content, length);
      }
    })().finally(() => {
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

  /** The bytes at `offset` into `targets`; the count written. */
  private async download(path: string, offset: number, targets: Buffer[], content: FileContent): Promise<number> {
    if (this.client.readRangeInto) return this.client.readRangeInto(path, offset, targets, { pin: content.pin, onBytes: this.registry.received });
    const length = targets.reduce((n, t) => n + t.length, 0);
    const data = await this.client.readRange(path, offset, length, { pin: content.pin });
    let at = 0;
    for (const t of targets) {
      if (at >= data.length) break;
      at += data.copy(t, 0, at, Math.min(data.length, at + t.length));
    }
    return data.length;
  }

  /**
   * Blocks [first, last] landed in memory: every disk block they complete
   * (all its read blocks in memory now) goes to the disk cache. The write
   * holds its read blocks, so their bytes stay put until they are on disk,
   * even if memory lets go of them first.
   */
  private keep(content: FileContent, disk: DiskVersion, first: number, last: number): void {
    const K = this.perDiskBlock;
    const cache = this.registry.disk!;
    const pool = this.registry.blocks.pool;
    const lastOfFile = Math.ceil(content.size / this.blockSize) - 1;
    for (let d = Math.floor(first / K); d <= Math.floor(last / K); d++) {
      if (cache.has(disk, d)) continue;
      const parts: PoolBlock[] = [];
      const data: Buffer[] = [];
      for (let b = d * K; b <= Math.min((d + 1) * K - 1, lastOfFile); b++) {
        const mem = content.blocks.get(b);
        if (!mem) break;
        parts.push(mem.block);
        data.push(mem.block.buf.subarray(0, mem.length));
      }
      if (parts.length !== Math.min(K, lastOfFile - d * K + 1)) continue;
      for (const p of parts) pool.retain(p);
      void cache.write(disk, d, data).finally(() => {
        for (const p of parts) pool.release(p);
      });
    }
  }

  private changed(content: FileContent, why: string): FsError {
    this.registry.supersede(content, why);
    this.onChanged(content.remotePath);
    return stale(content);
  }
}

function stale(content: FileContent): FsError {
  return new FsError('ESTALE', `${content.remotePath}: the file changed on the server while open; open it again`);
}
