// The content cache on disk: blocks of file versions read from the server,
// kept in the mount's cache dir across unmounts, kills and restarts, bounded
// in size and by the free space it must leave, least recently used first.
//
// One folder per cached file version (`content/<random id>/`: meta.json and a
// file per block, see block-file.ts and meta.ts). The index lives in memory:
// the current version of each path (by path identity), every block with its
// place in one LRU order, and the bytes used. It is rebuilt at start from the
// folders and block file names alone (`ready`); the LRU order across restarts
// is each version's last use (meta.json's mtime, touched at most once a
// minute), blocks by index within a version.
//
// Versions. `bind(entry)` gives the version the server shows now: the cached
// one when it is still the same version (content-version.ts: size, times,
// checksums), else a new, empty one; the old one is retired. A retired
// version nobody reads is deleted at once; one that open files still read
// (`hold`) is detached, readable by them only, and deleted once the last one
// lets go. So a file never mixes two versions, not even across a remount, and
// an open file keeps reading the version it opened. `observe`, `removed`,
// `moved` and `retime` follow what the filesystem learns and does.
//
// Space. Every byte on disk is counted as `du` counts it (4 KiB units, plus a
// version's folder and meta.json), and a block is written only after the
// room for it was made: the cache dir never holds more than --cache-size
// (plus the blocks being deleted to make the room, which are awaited). The
// free space of the disk never goes below --cache-min-free because of the
// cache: it stops growing there, and gives space back (least recently used
// first) when something else (pending uploads, other programs) fills the
// disk, checked every second while it holds blocks. A full disk (ENOSPC)
// stops it too. Either way the log says why, once, and reads go on from the
// network; it grows again once RESUME_MARGIN above the limit is free.
//
// Nothing here is ever required: a block that cannot be written, read or
// verified is simply not cached (the reader fetches it), and the log says why
// once per kind of failure.
import { randomBytes } from 'node:crypto';
import { mkdir, open, readdir, rename, rm, stat, unlink, utimes } from 'node:fs/promises';
import { join } from 'node:path';
import type { RemoteEntry } from '../../client/index.js';
import type { Logger } from '../../log/logger.js';
import { ensurePrivateDir } from '../../options/private-dir.js';
import { keyOf } from '../path-mapper.js';
import { blockChecksum, blockFileName, currentBootTag, isThisBoot, isTempFileName, META_FILE, parseBlockFileName, tempFileName } from './block-file.js';
import { completedVersion, contentVersionOf, sameContentVersion, type ContentVersion } from './content-version.js';
import { CHECK_MS, FreeSpace, systemStatFs, type DiskSpace, type StatFs } from './free-space.js';
import { readMeta, writeMeta } from './meta.js';
import { formatBytes } from '../format-bytes.js';

/** What `du` counts for a file: whole 4 KiB blocks. */
const DISK_UNIT = 4096;
/** A version's folder and its meta.json, as `du` counts them. */
export const VERSION_OVERHEAD_BYTES = 2 * DISK_UNIT;
/** Free space above --cache-min-free needed before a stopped cache grows again. */
export const RESUME_MARGIN_BYTES = 32 * 1024 * 1024;
/** A version's last use is written to disk (meta.json's mtime) at most this often. */
const TOUCH_INTERVAL_MS = 60_000;
/** Scratch buffers kept for checking blocks from an earlier boot. */
const SCRATCH_KEPT = 4;

export const diskBytesOf = (length: number): number => Math.max(DISK_UNIT, Math.ceil(length / DISK_UNIT) * DISK_UNIT);

export interface ContentDiskCacheOptions {
  /** The content folder (created 0700 if missing). */
  dir: string;
  /** Most bytes the cache may use on disk; 0 disables it. */
  maxBytes: number;
  /** Free space the cache never takes. */
  minFreeBytes: number;
  /** The read path's block size: blocks are cut, named and found by it. */
  blockSize: number;
  logger: Logger;
  /** Free and total bytes of the disk (default: statfs). */
  statfs?: StatFs;
  now?: () => number;
}

export interface ContentCacheStats {
  dir: string;
  maxBytes: number;
  minFreeBytes: number;
  /** Bytes used on disk (as du counts them). */
  usedBytes: number;
  blocks: number;
  /** File versions with blocks on disk. */
  files: number;
  /** Blocks read from disk, and blocks fetched for a version the cache could have held, since the mount started. */
  hits: number;
  misses: number;
  writtenBlocks: number;
  /** Blocks evicted to stay within --cache-size or --cache-min-free. */
  evictedBlocks: number;
  evictedBytes: number;
  /** Blocks dropped because their file changed on the server (or was deleted). */
  droppedBlocks: number;
  /** 'growing'; 'full' (at --cache-size: the least recently used make room); 'stopped' (see stoppedReason). */
  state: 'growing' | 'full' | 'stopped' | 'off';
  stoppedReason: string | null;
  disk: DiskSpace | null;
}

export interface DiskBlock {
  readonly version: DiskVersion;
  readonly index: number;
  readonly length: number;
  readonly crc: number;
  /** Whole for sure (written in this boot, or checked against its CRC). */
  trusted: boolean;
  name: string;
  readonly diskBytes: number;
  /** A rename to this boot's tag in flight (readers wait for it). */
  renaming?: Promise<void>;
}

/** One cached version of one file. */
export class DiskVersion {
  readonly blocks = new Map<number, DiskBlock>();
  /** Block writes in flight, by index. */
  readonly writing = new Map<number, Promise<void>>();
  /** Open contents reading this version. */
  holds = 0;
  /** No longer the version shown at its path: kept for the files that have it open. */
  detached = false;
  dropped = false;
  /** Its folder and meta.json are on disk (or being written). */
  created: Promise<boolean> | null = null;
  /** Meta writes, one after the other. */
  metaChain: Promise<void> = Promise.resolve();
  usedAt: number;
  touchedAt: number;

  constructor(readonly id: string, readonly dir: string, public path: string, public version: ContentVersion, public etag: string | null, now: number) {
    this.usedAt = now;
    this.touchedAt = now;
  }

  get key(): string {
    return keyOf(this.path);
  }
}

const errorCode = (err: unknown): string => (err as NodeJS.ErrnoException)?.code ?? (err instanceof Error ? err.message : String(err));

export class ContentDiskCache {
  readonly ready: Promise<void>;
  readonly blockSize: number;
  private readonly dir: string;
  private readonly maxBytes: number;
  private readonly minFreeBytes: number;
  private readonly log: Logger;
  private readonly now: () => number;
  private readonly space: FreeSpace;
  private readonly bootTag = currentBootTag();
  /** The current version of each path, by path identity. */
  private readonly byKey = new Map<string, DiskVersion>();
  /** Every version with a folder or a holder (current and detached). */
  private readonly versions = new Set<DiskVersion>();
  /** Every block on disk, least recently used first. */
  private readonly lru = new Map<DiskBlock, true>();
  private used = 0;
  /** Bytes of writes in flight (room made, file not there yet). */
  private reserved = 0;
  private enabled: boolean;
  private stopped: string | null = null;
  /** Its disk is at --cache-min-free: new blocks take the place of the oldest (said once per episode). */
  private diskBound = false;
  private readonly warned = new Set<string>();
  private readonly deletions = new Set<Promise<void>>();
  private readonly scratch: Buffer[] = [];
  private watch: NodeJS.Timeout | undefined;
  private closed = false;
  private counters = { hits: 0, misses: 0, written: 0, evictedBlocks: 0, evictedBytes: 0, dropped: 0 };

  constructor(options: ContentDiskCacheOptions) {
    this.dir = options.dir;
    this.maxBytes = options.maxBytes;
    this.minFreeBytes = options.minFreeBytes;
    this.blockSize = options.blockSize;
    this.log = options.logger;
    this.now = options.now ?? Date.now;
    this.space = new FreeSpace(this.dir, options.statfs ?? systemStatFs, this.now);
    this.enabled = options.maxBytes > 0;
    this.ready = this.enabled ? this.load().catch((err: unknown) => this.disable(`cannot use ${this.dir}: ${err instanceof Error ? err.message : String(err)}`)) : Promise.resolve();
  }

  get isEnabled(): boolean {
    return this.enabled;
  }

  // ---- versions --------------------------------------------------------------------

  /**
   * The cached version for what the server shows now (`entry`): the one on
   * disk when it is still that version, else a new empty one (the old one is
   * retired). Undefined when the cache is off or not loaded yet.
   */
  bind(entry: RemoteEntry): DiskVersion | undefined {
    if (!this.enabled || entry.type !== 'file') return undefined;
    const now = contentVersionOf(entry);
    const key = keyOf(entry.path);
    let v = this.byKey.get(key);
    if (v && !sameContentVersion(v.version, now)) {
      this.retire(v, 'a newer version is on the server');
      v = undefined;
    }
    if (!v) {
      const id = randomBytes(8).toString('hex');
      v = new DiskVersion(id, join(this.dir, id), entry.path, now, null, this.now());
      this.byKey.set(key, v);
      this.versions.add(v);
      return v;
    }
    const completed = completedVersion(v.version, now);
    if (completed || v.path !== entry.path) {
      if (completed) v.version = completed;
      v.path = entry.path;
      this.saveMeta(v);
    }
    this.noteUse(v);
    return v;
  }

  /** An open file reads `v`: it stays until released, even if the server shows another version meanwhile. */
  hold(v: DiskVersion): void {
    v.holds++;
  }

  release(v: DiskVersion): void {
    v.holds = Math.max(0, v.holds - 1);
    if (v.holds > 0) return;
    if (v.detached) this.drop(v, 'its last reader closed');
    else if (v.blocks.size === 0 && v.writing.size === 0) this.drop(v, 'nothing cached');
  }

  /** The server shows `entry` now: a cached version of that path that differs is retired. */
  observe(entry: RemoteEntry): void {
    if (entry.type !== 'file') return;
    const v = this.byKey.get(keyOf(entry.path));
    if (v && !sameContentVersion(v.version, contentVersionOf(entry))) this.retire(v, 'a newer version is on the server');
  }

  /** The file at `path` was deleted. */
  removed(path: string): void {
    const v = this.byKey.get(keyOf(path));
    if (v) this.retire(v, 'deleted');
  }

  /** `v`'s bytes turned out not to be what the server has (or the file is gone): never read it again. */
  invalid(v: DiskVersion, why: string): void {
    this.drop(v, why);
  }

  /** A file or folder moved through the mount: versions at or below `from` now live below `to`. */
  moved(from: string, to: string): void {
    const fromKey = keyOf(from);
    for (const [key, v] of [...this.byKey]) {
      if (key !== fromKey && !key.startsWith(fromKey + '/')) continue;
      this.byKey.delete(key);
      // By segments, not characters: equal names may differ in length (ß / ss).
      const below = v.path.split('/').slice(from.split('/').length);
      v.path = [to, ...below].join('/');
      const there = this.byKey.get(v.key);
      if (there && there !== v) this.retire(there, 'replaced by a rename');
      this.byKey.set(v.key, v);
      this.saveMeta(v);
    }
  }

  /** Our own utimens: the same bytes under a new time. */
  retime(entry: RemoteEntry): void {
    const v = this.byKey.get(keyOf(entry.path));
    if (!v || v.version.size !== entry.size) return;
    const now = contentVersionOf(entry);
    v.version = { ...v.version, mtime: now.mtime, serverMtime: now.serverMtime ?? v.version.serverMtime };
    this.saveMeta(v);
  }

  /** The download's ETag for `v`, learned from a fetch: kept, and checked on every later fetch. */
  learnedEtag(v: DiskVersion, etag: string): void {
    if (v.etag === etag || v.dropped) return;
    v.etag = etag;
    if (v.created) this.saveMeta(v);
  }

  // ---- blocks ----------------------------------------------------------------------

  has(v: DiskVersion, index: number): boolean {
    return !v.dropped && v.blocks.has(index);
  }

  /** Blocks fetched from the server for a cached version (misses, for the hit rate). */
  missed(blocks = 1): void {
    this.counters.misses += blocks;
  }

  /**
   * Copies bytes [from, to) of block `index` into `target` at `targetStart`.
   * False when the block is not (or no longer) there, or did not check out:
   * the caller fetches it.
   */
  async readInto(v: DiskVersion, index: number, target: Buffer, targetStart: number, from: number, to: number): Promise<boolean> {
    const block = v.blocks.get(index);
    if (!block || v.dropped || to > block.length) return false;
    this.touch(block);
    try {
      if (block.renaming) await block.renaming;
      const fh = await open(join(v.dir, block.name), 'r');
      try {
        if (block.trusted) {
          const { bytesRead } = await fh.read(target, targetStart, to - from, from);
          if (bytesRead !== to - from) throw Object.assign(new Error(`${bytesRead} of ${to - from} bytes`), { code: 'ESHORT' });
        } else {
          const whole = this.scratch.pop() ?? Buffer.allocUnsafe(this.blockSize);
          try {
            const { bytesRead } = await fh.read(whole, 0, block.length, 0);
            const size = (await fh.stat()).size;
            if (bytesRead !== block.length || size !== block.length || blockChecksum(whole.subarray(0, block.length)) !== block.crc) {
              throw Object.assign(new Error('its bytes do not match its checksum'), { code: 'EBADBLOCK' });
            }
            whole.copy(target, targetStart, from, to);
            block.trusted = true;
            this.markTrusted(block);
          } finally {
            if (this.scratch.length < SCRATCH_KEPT) this.scratch.push(whole);
          }
        }
      } finally {
        await fh.close();
      }
    } catch (err) {
      if (v.blocks.get(index) === block) {
        const code = errorCode(err);
        if (code !== 'ENOENT') this.warnOnce(`read:${code}`, 'content cache: block %d of %s could not be read back (%s); it is fetched again', index, v.path, err instanceof Error ? err.message : String(err));
        this.forgetBlock(block, true);
      }
      return false;
    }
    if (v.dropped) return false;
    this.counters.hits++;
    this.noteUse(v);
    return true;
  }

  /**
   * Keeps block `index` of `v` (its bytes: `data`, in order, which the caller
   * keeps unchanged until this resolves). Best effort: resolves whether or
   * not it was kept; never rejects.
   */
  write(v: DiskVersion, index: number, data: readonly Buffer[]): Promise<void> {
    if (!this.enabled || this.closed || v.dropped || v.detached || v.blocks.has(index) || v.writing.has(index)) return Promise.resolve();
    const p = this.writeBlock(v, index, data).catch((err: unknown) => {
      this.warnOnce(`write:${errorCode(err)}`, 'content cache: could not keep a block of %s: %s', v.path, err instanceof Error ? err.message : String(err));
    }).finally(() => {
      v.writing.delete(index);
      if (v.blocks.size === 0 && v.writing.size === 0 && v.holds === 0 && !v.dropped && v.created) this.drop(v, 'nothing cached');
    });
    v.writing.set(index, p);
    return p;
  }

  private async writeBlock(v: DiskVersion, index: number, data: readonly Buffer[]): Promise<void> {
    const length = data.reduce((n, b) => n + b.length, 0);
    const expected = Math.min(this.blockSize, v.version.size - index * this.blockSize);
    if (length !== expected) throw new Error(`block ${index} of ${v.path}: ${length} bytes, expected ${expected}`);
    const diskBytes = diskBytesOf(length);
    const overhead = v.created ? 0 : VERSION_OVERHEAD_BYTES;
    const need = diskBytes + overhead;
    // The room made is ours (reserved) until this write ends.
    if (!(await this.makeRoom(need))) return;
    let tempPath: string | undefined;
    try {
      if (!v.created) v.created = this.create(v);
      if (!(await v.created) || v.dropped) return;
      const crc = blockChecksum(data);
      tempPath = join(v.dir, tempFileName(index, randomBytes(6).toString('hex')));
      const fh = await open(tempPath, 'wx', 0o600);
      try {
        const { bytesWritten } = await fh.writev(data as Buffer[], 0);
        // writev may write less than asked (rare, on a filesystem under pressure): finish what is left.
        let at = bytesWritten;
        for (const part of joinedFrom(data, at)) at += (await fh.write(part, 0, part.length, at)).bytesWritten;
        if (at !== length) throw new Error(`wrote ${at} of ${length} bytes`);
      } finally {
        await fh.close();
      }
      if (v.dropped) return;
      const name = blockFileName({ index, length, crc, boot: this.bootTag });
      await rename(tempPath, join(v.dir, name));
      tempPath = undefined;
      const block: DiskBlock = { version: v, index, length, crc, trusted: true, name, diskBytes };
      v.blocks.set(index, block);
      this.lru.set(block, true);
      this.used += diskBytes;
      this.space.wrote(diskBytes);
      this.counters.written++;
    } catch (err) {
      const code = errorCode(err);
      if (code === 'ENOSPC' || code === 'EDQUOT') {
        this.space.full();
        this.stop(`the cache dir's disk is full (${code} while writing a block)`);
        return;
      }
      throw err;
    } finally {
      this.reserved -= need;
      if (tempPath) await unlink(tempPath).catch(() => undefined);
    }
  }

  /** Makes the folder of `v` and its meta.json; false (and the room given back) when that failed. */
  private async create(v: DiskVersion): Promise<boolean> {
    try {
      await mkdir(v.dir, { mode: 0o700 });
      await writeMeta(v.dir, { path: v.path, blockSize: this.blockSize, version: v.version, etag: v.etag });
      this.used += VERSION_OVERHEAD_BYTES;
      this.space.wrote(VERSION_OVERHEAD_BYTES);
      return true;
    } catch (err) {
      const code = errorCode(err);
      if (code === 'ENOSPC' || code === 'EDQUOT') {
        this.space.full();
        this.stop(`the cache dir's disk is full (${code} while writing a block)`);
      } else {
        this.warnOnce(`create:${code}`, 'content cache: cannot make %s: %s', v.dir, err instanceof Error ? err.message : String(err));
      }
      await rm(v.dir, { recursive: true, force: true }).catch(() => undefined);
      v.created = null;
      return false;
    }
  }

  // ---- room ------------------------------------------------------------------------

  /**
   * Makes room for `bytes` more: within --cache-size (least recently used
   * blocks go, and are gone from disk before this resolves) and above
   * --cache-min-free. False when the cache must not grow now.
   */
  private async makeRoom(bytes: number): Promise<boolean> {
    if (bytes > this.maxBytes) return false;
    const deletions: Promise<void>[] = [];
    while (this.used + this.reserved + bytes > this.maxBytes && this.lru.size > 0) deletions.push(this.evictOldest());
    if (this.used + this.reserved + bytes > this.maxBytes) {
      await Promise.all(deletions);
      return false;
    }
    // Taken before anything is awaited: writers running at the same time count it.
    this.reserved += bytes;
    let granted = false;
    try {
      const free = await this.space.free();
      if (this.stopped !== null) {
        if (free < this.minFreeBytes + RESUME_MARGIN_BYTES + bytes) return false;
        this.log.info('content cache: growing again (%s free on the cache dir\'s disk)', formatBytes(free));
        this.stopped = null;
      }
      let room = free;
      while (room - bytes < this.minFreeBytes && this.lru.size > 0) {
        room += this.lru.keys().next().value!.diskBytes;
        deletions.push(this.evictOldest());
      }
      if (room - bytes < this.minFreeBytes) {
        this.stop(`the cache dir's disk has ${formatBytes(Math.max(0, free))} free, below --cache-min-free ${formatBytes(this.minFreeBytes)}`);
        return false;
      }
      this.noteDiskBound(free, bytes);
      granted = true;
      return true;
    } finally {
      if (!granted) this.reserved -= bytes;
      // What was evicted is gone from disk before the new bytes are written.
      await Promise.all(deletions);
    }
  }

  /** Gives space back while the disk has less than --cache-min-free free (other writers filled it). */
  private async yieldSpace(): Promise<void> {
    if (this.lru.size === 0 || this.closed) return;
    await this.space.refresh();
    let free = this.space.estimate();
    if (free >= this.minFreeBytes) return;
    const deletions: Promise<void>[] = [];
    while (free < this.minFreeBytes && this.lru.size > 0) {
      free += this.lru.keys().next().value!.diskBytes;
      deletions.push(this.evictOldest());
    }
    this.stop(`the cache dir's disk has less than --cache-min-free ${formatBytes(this.minFreeBytes)} free; space given back`);
    await Promise.all(deletions);
  }

  /**
   * The disk, not --cache-size, bounds the cache now: it stops growing and
   * new blocks replace the oldest. Said once, until there is room again.
   */
  private noteDiskBound(free: number, bytes: number): void {
    if (free - bytes >= this.minFreeBytes) {
      if (free - bytes >= this.minFreeBytes + RESUME_MARGIN_BYTES) this.diskBound = false;
      return;
    }
    if (this.diskBound) return;
    this.diskBound = true;
    this.log.warn(
      'content cache: stopped growing at %s: the cache dir\'s disk has %s free, below --cache-min-free %s; new blocks replace the oldest; reads go on from the network',
      formatBytes(this.used), formatBytes(Math.max(0, free)), formatBytes(this.minFreeBytes),
    );
  }

  private stop(reason: string): void {
    if (this.stopped !== null) return;
    this.stopped = reason;
    this.log.warn('content cache: stopped growing at %s: %s; reads go on from the network', formatBytes(this.used), reason);
  }

  private evictOldest(): Promise<void> {
    const block = this.lru.keys().next().value!;
    this.counters.evictedBlocks++;
    this.counters.evictedBytes += block.diskBytes;
    return this.forgetBlock(block, true);
  }

  /** Removes a block from the index (and, with `unlinkFile`, from disk: resolves once it is gone). */
  private forgetBlock(block: DiskBlock, unlinkFile: boolean): Promise<void> {
    const v = block.version;
    if (v.blocks.get(block.index) === block) v.blocks.delete(block.index);
    if (!this.lru.delete(block)) return Promise.resolve();
    this.used -= block.diskBytes;
    // Tracked with the deletions, so that close() and settled() wait for the unlink too.
    const gone = unlinkFile ? this.tracked(Promise.resolve(block.renaming).then(() => unlink(join(v.dir, block.name))).then(() => this.space.deleted(block.diskBytes), () => undefined)) : Promise.resolve();
    if (v.blocks.size === 0 && v.writing.size === 0 && v.holds === 0 && !v.dropped) return gone.then(() => this.drop(v, 'nothing cached'));
    return gone;
  }

  // ---- dropping --------------------------------------------------------------------

  private retire(v: DiskVersion, why: string): void {
    if (this.byKey.get(v.key) === v) this.byKey.delete(v.key);
    if (v.holds > 0) {
      v.detached = true;
      this.log.debug('content cache: %s (%s) detached: %s; %d reader(s) keep it', v.path, v.id, why, v.holds);
      return;
    }
    this.drop(v, why);
  }

  /** Deletes a version: its blocks at once from the index, its folder once its writes settled. */
  private drop(v: DiskVersion, why: string): Promise<void> {
    if (v.dropped) return Promise.resolve();
    v.dropped = true;
    if (this.byKey.get(v.key) === v) this.byKey.delete(v.key);
    this.versions.delete(v);
    if (why !== 'nothing cached' && v.blocks.size > 0) this.log.debug('content cache: dropping %s (%d blocks): %s', v.path, v.blocks.size, why);
    if (why !== 'nothing cached') this.counters.dropped += v.blocks.size;
    let freed = 0;
    for (const block of v.blocks.values()) {
      if (this.lru.delete(block)) {
        this.used -= block.diskBytes;
        freed += block.diskBytes;
      }
    }
    v.blocks.clear();
    const hadFolder = v.created;
    const deletion = (async () => {
      await Promise.all(v.writing.values());
      if (hadFolder && (await hadFolder.catch(() => false))) {
        this.used -= VERSION_OVERHEAD_BYTES;
        freed += VERSION_OVERHEAD_BYTES;
      }
      await v.metaChain;
      await rm(v.dir, { recursive: true, force: true }).catch((err: unknown) => {
        this.warnOnce(`rm:${errorCode(err)}`, 'content cache: cannot delete %s: %s', v.dir, err instanceof Error ? err.message : String(err));
      });
      this.space.deleted(freed);
    })();
    return this.tracked(deletion);
  }

  /** A deletion in flight, waited for by settled() and close(). */
  private tracked(deletion: Promise<void>): Promise<void> {
    this.deletions.add(deletion);
    void deletion.finally(() => this.deletions.delete(deletion));
    return deletion;
  }

  /** Empties the cache (`filesfs cache clear`): every block of every version, also those open files read. */
  async clear(): Promise<{ blocks: number; bytes: number }> {
    await this.ready;
    const blocks = this.lru.size;
    const bytes = this.used;
    await Promise.all([...this.versions].map((v) => this.drop(v, 'the cache was cleared')));
    this.byKey.clear();
    // Anything else in the folder (a version from an earlier start not indexed, temporary files).
    for (const name of await readdir(this.dir).catch(() => [] as string[])) await rm(join(this.dir, name), { recursive: true, force: true }).catch(() => undefined);
    this.log.info('content cache: cleared %s (%d blocks)', formatBytes(bytes), blocks);
    return { blocks, bytes };
  }

  // ---- start, stop, stats ------------------------------------------------------------

  private async load(): Promise<void> {
    await ensurePrivateDir(this.dir);
    const found = new Map<string, DiskVersion>();
    for (const id of await readdir(this.dir)) {
      const dir = join(this.dir, id);
      const meta = id.startsWith('.') ? null : await readMeta(dir);
      if (!meta || meta.blockSize !== this.blockSize) {
        await rm(dir, { recursive: true, force: true });
        continue;
      }
      const usedAt = (await stat(join(dir, META_FILE)).catch(() => null))?.mtimeMs ?? 0;
      const v = new DiskVersion(id, dir, meta.path, meta.version, meta.etag, usedAt);
      v.touchedAt = usedAt;
      v.created = Promise.resolve(true);
      const blockCount = Math.ceil(meta.version.size / this.blockSize);
      for (const name of await readdir(dir)) {
        if (name === META_FILE) continue;
        const b = parseBlockFileName(name);
        const expected = b ? Math.min(this.blockSize, meta.version.size - b.index * this.blockSize) : -1;
        if (!b || b.index >= blockCount || b.length !== expected) {
          // Temporary files of writes a crash interrupted, and anything not ours.
          if (isTempFileName(name) || !b || b.index >= blockCount || b.length !== expected) await unlink(join(dir, name)).catch(() => undefined);
          continue;
        }
        v.blocks.set(b.index, { version: v, index: b.index, length: b.length, crc: b.crc, trusted: isThisBoot(b.boot), name, diskBytes: diskBytesOf(b.length) });
      }
      const other = found.get(v.key);
      // Two folders for one path (a crash between making a new version and deleting the old): the newer wins.
      if (other && other.usedAt >= v.usedAt) {
        await rm(dir, { recursive: true, force: true });
        continue;
      }
      if (other) await rm(other.dir, { recursive: true, force: true });
      found.set(v.key, v);
    }
    const ordered = [...found.values()].sort((a, b) => a.usedAt - b.usedAt);
    for (const v of ordered) {
      this.byKey.set(v.key, v);
      this.versions.add(v);
      this.used += VERSION_OVERHEAD_BYTES;
      for (const index of [...v.blocks.keys()].sort((a, b) => a - b)) {
        const block = v.blocks.get(index)!;
        this.lru.set(block, true);
        this.used += block.diskBytes;
      }
    }
    // Versions without blocks are of no use.
    for (const v of ordered) if (v.blocks.size === 0) void this.drop(v, 'nothing cached');
    // A smaller --cache-size than last time: the least recently used go now.
    const deletions: Promise<void>[] = [];
    while (this.used > this.maxBytes && this.lru.size > 0) deletions.push(this.evictOldest());
    await Promise.all(deletions);
    await this.space.refresh();
    if (this.lru.size > 0) this.log.info('content cache: %s in %d files at %s', formatBytes(this.used), this.byKey.size, this.dir);
    this.watch = setInterval(() => void this.yieldSpace().catch(() => undefined), CHECK_MS);
    this.watch.unref();
  }

  private disable(why: string): void {
    this.enabled = false;
    this.log.warn('content cache: off: %s', why);
  }

  /** Resolves once the writes and deletions in flight now have settled (tests, status). */
  async settled(): Promise<void> {
    const writes = [...this.versions].flatMap((v) => [...v.writing.values(), v.metaChain]);
    await Promise.all([...writes, ...this.deletions]);
  }

  /** Waits for the writes and deletions in flight; afterwards nothing more is written. */
  async close(): Promise<void> {
    this.closed = true;
    if (this.watch) clearInterval(this.watch);
    await this.ready;
    const writes = [...this.versions].flatMap((v) => [...v.writing.values(), v.metaChain]);
    await Promise.all([...writes, ...this.deletions]);
  }

  stats(): ContentCacheStats {
    const state: ContentCacheStats['state'] = !this.enabled ? 'off' : this.stopped !== null ? 'stopped' : this.diskBound || this.used + this.blockSize + VERSION_OVERHEAD_BYTES > this.maxBytes ? 'full' : 'growing';
    let files = 0;
    for (const v of this.versions) if (v.blocks.size > 0) files++;
    return {
      dir: this.dir,
      maxBytes: this.maxBytes,
      minFreeBytes: this.minFreeBytes,
      usedBytes: this.used,
      blocks: this.lru.size,
      files,
      hits: this.counters.hits,
      misses: this.counters.misses,
      writtenBlocks: this.counters.written,
      evictedBlocks: this.counters.evictedBlocks,
      evictedBytes: this.counters.evictedBytes,
      droppedBlocks: this.counters.dropped,
      state,
      stoppedReason: this.stopped,
      disk: this.space.disk,
    };
  }

  /** The current versions at or below `path` (a refresh tells afterwards which it retired). */
  within(path: string): DiskVersion[] {
    const key = keyOf(path);
    const out: DiskVersion[] = [];
    for (const [k, v] of this.byKey) if (k === key || key === '' || k.startsWith(key + '/')) out.push(v);
    return out;
  }

  /** The current version of a path, if cached (tests, status). */
  versionOf(path: string): DiskVersion | undefined {
    return this.byKey.get(keyOf(path));
  }

  // ---- helpers -----------------------------------------------------------------------

  private touch(block: DiskBlock): void {
    this.lru.delete(block);
    this.lru.set(block, true);
  }

  /** `v` was used now: remembered for the LRU order across restarts (meta.json's mtime), at most once a minute. */
  private noteUse(v: DiskVersion): void {
    const now = this.now();
    v.usedAt = now;
    if (now - v.touchedAt < TOUCH_INTERVAL_MS || !v.created) return;
    v.touchedAt = now;
    const when = new Date(now);
    void utimes(join(v.dir, META_FILE), when, when).catch(() => undefined);
  }

  private saveMeta(v: DiskVersion): void {
    if (!v.created || v.dropped) return;
    const created = v.created;
    v.metaChain = v.metaChain.then(async () => {
      if (!(await created) || v.dropped) return;
      await writeMeta(v.dir, { path: v.path, blockSize: this.blockSize, version: v.version, etag: v.etag });
    }).catch((err: unknown) => {
      this.warnOnce(`meta:${errorCode(err)}`, 'content cache: cannot update %s: %s', v.dir, err instanceof Error ? err.message : String(err));
    });
  }

  /** A block from an earlier boot checked out: renamed to this boot's tag, so it is not checked again. */
  private markTrusted(block: DiskBlock): void {
    const v = block.version;
    const name = blockFileName({ index: block.index, length: block.length, crc: block.crc, boot: this.bootTag });
    if (name === block.name || v.dropped) return;
    const from = join(v.dir, block.name);
    block.renaming = rename(from, join(v.dir, name)).then(
      () => {
        block.name = name;
      },
      () => {
        // Evicted meanwhile, or the folder went: nothing to keep.
      },
    ).finally(() => {
      block.renaming = undefined;
    });
  }

  private warnOnce(kind: string, format: string, ...args: unknown[]): void {
    if (this.warned.has(kind)) {
      this.log.debug(format, ...args);
      return;
    }
    this.warned.add(kind);
    this.log.warn(format, ...args);
  }
}

/** What is left of `parts` from byte `from` on, as one buffer (empty when nothing). */
function joinedFrom(parts: readonly Buffer[], from: number): Buffer[] {
  const total = parts.reduce((n, b) => n + b.length, 0);
  if (from >= total) return [];
  return [Buffer.concat(parts as Buffer[]).subarray(from)];
}
