// Reading file content (docs/files-api.md §4): GET /files/{path} gives the entry
// plus a presigned `download_uri`; the bytes come from that URI with a
// `Range: bytes=a-b` header, no API headers (it authorises itself, and may be
// another origin). URIs are cached per file (download-url-cache.ts); a 403 or
// 404 from one means it expired (or the file went away): we fetch a new one
// and try again, at most MAX_URL_REFRESHES times per read.
//
// Version safety: every answer is checked against the version its URL was
// issued for: the total in Content-Range (or the length of a 200) must be the
// entry's size, and the ETag must stay the one first seen. A mismatch, or a
// refreshed URL whose entry has another size/mtime than the remembered
// version, raises ContentChangedError after forgetting the URL: the reader's
// earlier bytes belong to the old version and it must start over (the next
// call sees the new version consistently). invalidateDownload(path) forgets
// the remembered version when the caller knows the content changed.
//
// createReadStream (resumable-stream.ts) resumes a broken transfer with a
// Range request from the first missing byte (after the usual retry wait),
// under the same checks, so a reset in the middle of a large file costs one
// extra request, not a restart.
//
// Every transfer runs under a stall watch (stall-watch.ts): no bytes for
// stallTimeoutMs and it is abandoned (then retried or resumed), however long
// it has been running. A range GET that has not answered (headers) after the
// recent 95th percentile is hedged (hedging.ts): sent again on another
// connection, the first answer is read and the other request aborted.
import { Readable } from 'node:stream';
import type { Logger } from '../log/logger.js';
import { normalizeForComparison } from '../path/index.js';
import { routeFor } from './api-path.js';
import type { ApiClient } from './api.js';
import { DownloadUrlCache, sameVersion, type CachedDownload, type FileVersion } from './download-url-cache.js';
import type { DownloadPin } from './files-client.js';
import { parseEntry } from './entry.js';
import { outcomeOf } from './client-stats.js';
import { ContentChangedError, FilesError, NotAuthorizedError, ServerError } from './errors.js';
import { errorFromHttp } from './http-error.js';
import type { DataKind } from './request-kind.js';
import type { Resilience } from './resilience.js';
import { untilAborted, withRetries, type RetryPolicy } from './retry.js';
import { ResumableDownload } from './resumable-stream.js';
import { StallWatch } from './stall-watch.js';
import { header, settle, type SendResponse, type Transport } from './transport.js';

/** New URLs fetched within one read after 403/404 answers before giving up. */
const MAX_URL_REFRESHES = 2;

/** Start, end (inclusive) and total of a Content-Range header; total null for "*". */
export function parseContentRange(value: string | undefined): { start: number | null; end: number | null; total: number | null } | null {
  if (!value) return null;
  const m = /^\s*bytes\s+(?:(\d+)-(\d+)|\*)\/(\d+|\*)\s*$/i.exec(value);
  if (!m) return null;
  return {
    start: m[1] === undefined ? null : Number(m[1]),
    end: m[2] === undefined ? null : Number(m[2]),
    total: m[3] === '*' ? null : Number(m[3]),
  };
}

function versionOf(body: unknown, label: string): FileVersion & { uri: string } {
  const entry = parseEntry(body, label);
  const uri = (body as { download_uri?: unknown }).download_uri;
  if (typeof uri !== 'string' || uri === '') throw new ServerError({ message: `${label}: no download_uri in the answer`, operation: label });
  return { uri, size: entry.size, serverMtime: entry.serverMtime?.getTime() ?? null };
}

function checkRange(offset: number, length: number): void {
  if (!Number.isSafeInteger(offset) || offset < 0 || !Number.isSafeInteger(length) || length < 0) {
    throw new RangeError(`readRange: bad offset/length ${offset}/${length}`);
  }
}

/** Where a range's bytes go: one new buffer, the response's own chunks, or the caller's buffers (told of each chunk copied). */
type Sink = 'join' | 'chunks' | { targets: readonly Buffer[]; onBytes?: (bytes: number) => void };

/** Fills a list of buffers in order from the chunks of a response. */
class TargetWriter {
  private index = 0;
  private at = 0;
  private total = 0;

  constructor(private readonly targets: readonly Buffer[]) {}

  /** Copies the first `n` bytes of `chunk`; more than the targets hold is an error (the caller asked for their total). */
  write(chunk: Buffer, n: number): void {
    let from = 0;
    while (from < n) {
      const target = this.targets[this.index];
      if (!target) throw new RangeError('readRangeInto: more bytes than the targets hold');
      const copied = chunk.copy(target, this.at, from, n);
      from += copied;
      this.at += copied;
      this.total += copied;
      if (this.at === target.length) {
        this.index++;
        this.at = 0;
      }
    }
  }

  /** Views of what was written, in order. */
  written(): Buffer[] {
    const out: Buffer[] = [];
    let left = this.total;
    for (const t of this.targets) {
      if (left <= 0) break;
      out.push(left >= t.length ? t : t.subarray(0, left));
      left -= t.length;
    }
    return out;
  }
}

/** The outcome of one data request that did not give usable bytes. */
type Refused = { refused: true };
const REFUSED: Refused = { refused: true };
const isRefused = (x: unknown): x is Refused => x === REFUSED;

/** A download response whose body is still to be read, under its stall watch. */
export interface OpenTransfer {
  res: SendResponse;
  watch: StallWatch;
  /** Ends the transfer: records its outcome (ok without `err`) and stops the watch. Once only. */
  done(err?: unknown): void;
}

export class Downloader {
  private readonly pending = new Map<string, Promise<CachedDownload>>();

  constructor(
    private readonly api: ApiClient,
    private readonly transport: Transport,
    readonly cache: DownloadUrlCache,
    private readonly policy: RetryPolicy,
    private readonly logger: Logger,
    private readonly userAgent: string,
    private readonly now: () => number,
    private readonly guard: Resilience,
  ) {}

  /** A usable URL for `path` (fetched once for concurrent callers). */
  async target(path: string, signal: AbortSignal | undefined): Promise<CachedDownload> {
    const hit = this.cache.usable(path);
    if (hit) return hit;
    const key = normalizeForComparison(path);
    let p = this.pending.get(key);
    if (!p) {
      // Shared by concurrent readers of the file, so not tied to one reader's signal.
      p = this.fetchTarget(path).finally(() => this.pending.delete(key));
      this.pending.set(key, p);
    }
    return untilAborted(p, signal);
  }

  private async fetchTarget(path: string): Promise<CachedDownload> {
    const route = routeFor('/files', path);
    const previous = this.cache.version(path);
    const fetchedAt = this.now();
    const res = await this.api.call({ method: 'GET', route, kind: 'download-url' });
    const fresh = versionOf(res.body, `GET ${route}`);
    const dateHeader = header(res.headers, 'date');
    const entry = this.cache.store(path, fresh.uri, fresh, fetchedAt, dateHeader ? Date.parse(dateHeader) : null);
    if (previous && !sameVersion(previous, fresh)) {
      throw new ContentChangedError({
        message: `${path}: content changed on the server (size ${previous.size} → ${fresh.size})`,
        operation: `GET ${route}`,
      });
    }
    if (previous?.etag) entry.version.etag = previous.etag;
    return entry;
  }

  private label(path: string): string {
    return `GET download ${path}`;
  }

  private changed(path: string, why: string): ContentChangedError {
    this.cache.invalidate(path, false);
    return new ContentChangedError({ message: `${path}: content changed on the server while reading (${why})`, operation: this.label(path) });
  }

  /** Checks an answer's total and ETag against the URL's version (learning the ETag on first sight). */
  private checkVersion(path: string, target: CachedDownload, res: SendResponse, total: number | null): void {
    if (total !== null && total !== target.version.size) throw this.changed(path, `size ${target.version.size} → ${total}`);
    const etag = header(res.headers, 'etag');
    if (etag) {
      if (target.version.etag === undefined) target.version.etag = etag;
      else if (target.version.etag !== etag) throw this.changed(path, 'ETag differs');
    }
  }

  /**
   * Opens one range request (hedged when `hedge`): the response to read, or
   * REFUSED (body dumped) on 403/404, or an error for other failures.
   */
  private open(path: string, target: CachedDownload, start: number, endInclusive: number | null, wholeFile: boolean, attempt: number, signal: AbortSignal | undefined, kind: DataKind, hedge: boolean): Promise<OpenTransfer | Refused> {
    const leg = (lost: AbortSignal | undefined, onSocket?: () => void) => this.openOnce(path, target, start, endInclusive, wholeFile, attempt, signal, lost, kind, onSocket);
    if (!hedge) return leg(undefined);
    const origin = new URL(target.uri!).origin;
    return this.guard.hedger.race<OpenTransfer | Refused>({
      kind,
      deadlineMs: this.guard.stallTimeoutMs,
      hedge: true,
      spareConnection: () => this.guard.spareConnection(origin, 'data'),
      signal,
      label: this.label(path),
      start: (lost, _hedge, onSocket) => leg(lost, onSocket),
      decisive: (err) => !(err instanceof FilesError) || err.status !== undefined,
      discard: (late) => {
        if (isRefused(late)) return;
        late.res.body.destroy();
        late.done(new Error('superseded by the hedge that answered first'));
      },
    });
  }

  private async openOnce(path: string, target: CachedDownload, start: number, endInclusive: number | null, wholeFile: boolean, attempt: number, signal: AbortSignal | undefined, lost: AbortSignal | undefined, kind: DataKind, onSocket?: () => void): Promise<OpenTransfer | Refused> {
    const { stats, hedger, stallTimeoutMs } = this.guard;
    const headers: Record<string, string> = { 'user-agent': this.userAgent };
    if (!wholeFile) headers.range = `bytes=${start}-${endInclusive ?? ''}`;
    const label = this.label(path);
    const watch = new StallWatch(stallTimeoutMs, [signal, lost], label, () => stats.stall());
    // Waiting for a connection is not the server's silence: the watch starts when the request has one.
    watch.hold();
    const socket = () => {
      watch.connected();
      onSocket?.();
    };
    let finished = false;
    const done = (err?: unknown) => {
      if (finished) return;
      finished = true;
      watch.dispose();
      stats.request(kind, err === undefined ? 'ok' : outcomeOf(err));
    };
    let res: SendResponse;
    try {
      res = await this.transport.send({ method: 'GET', url: new URL(target.uri!), headers, signal: watch.signal, label, attempt, lane: 'data', onSocket: socket });
    } catch (err) {
      if (watch.stalled) hedger.record(kind, stallTimeoutMs);
      done(err);
      throw err;
    }
    watch.received();
    hedger.record(kind, watch.elapsedMs());
    if (res.status === 200 || res.status === 206 || res.status === 416) return { res, watch, done };
    const text = await this.transport.readText(res, label, watch.signal).catch(() => '');
    const err = errorFromHttp(res, text, label);
    done(err);
    if (res.status === 403 || res.status === 404) return REFUSED;
    throw err;
  }

  /**
   * A usable URL for `pin`'s version of `path`: its own while usable, else the
   * file's current one if that is still the pinned version (ContentChangedError
   * otherwise: the server no longer gives that version).
   */
  private async pinnedTarget(path: string, pin: DownloadPin, signal: AbortSignal | undefined): Promise<CachedDownload> {
    const held = pin.target as CachedDownload | undefined;
    if (held?.uri !== undefined && held.usableUntil > this.now()) return held;
    const current = await this.target(path, signal);
    const wanted: FileVersion = { size: pin.size, serverMtime: pin.serverMtime?.getTime() ?? null };
    if (!sameVersion(current.version, wanted)) {
      throw new ContentChangedError({ message: `${path}: the version being read (${pin.size} bytes) is no longer on the server (it has ${current.version.size} bytes now)`, operation: this.label(path) });
    }
    if (pin.etag !== undefined && current.version.etag !== undefined && current.version.etag !== pin.etag) {
      throw new ContentChangedError({ message: `${path}: the version being read (ETag ${pin.etag}) is no longer on the server (ETag ${current.version.etag})`, operation: this.label(path) });
    }
    // A copy: the shared entry is refreshed for newer versions; this one stays with the reader
    // (with the ETag its bytes are known to carry, when the reader knows it: answers are checked against it).
    const version = { ...current.version, ...(pin.etag !== undefined ? { etag: pin.etag } : {}) };
    pin.target = { uri: current.uri, usableUntil: current.usableUntil, version };
    return pin.target as CachedDownload;
  }

  /** Runs `body` with a usable target, fetching a new URL on 403/404 (MAX_URL_REFRESHES per call). */
  private async withTarget<T>(path: string, signal: AbortSignal | undefined, attempt: number, state: { refreshes: number }, body: (target: CachedDownload) => Promise<T | Refused>, pin?: DownloadPin): Promise<T> {
    for (;;) {
      const target = pin ? await this.pinnedTarget(path, pin, signal) : await this.target(path, signal);
      const out = await body(target);
      if (!isRefused(out)) return out;
      if (pin) pin.target = undefined;
      this.cache.expire(path);
      if (state.refreshes >= MAX_URL_REFRESHES) {
        throw new NotAuthorizedError({ message: `${path}: the download URL was refused even when fresh`, status: 403, operation: this.label(path) });
      }
      state.refreshes++;
      this.logger.debug(`${this.label(path)}: download URL refused (expired?); fetching a new one (attempt ${attempt})`);
    }
  }

  async readRange(path: string, offset: number, length: number, signal?: AbortSignal, pin?: DownloadPin): Promise<Buffer> {
    const chunks = await this.readRangeChunks(path, offset, length, signal, true, pin);
    return chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks);
  }

  /**
   * The bytes of readRange as the response's chunks (views, no copy): a
   * sequential read through the mount then copies each byte once, into the
   * kernel's buffer, instead of once more into a buffer per range.
   * `joined`: one buffer is wanted anyway (readRange), so copy as it arrives.
   */
  async readRangeChunks(path: string, offset: number, length: number, signal?: AbortSignal, joined = false, pin?: DownloadPin): Promise<Buffer[]> {
    if (length === 0) {
      checkRange(offset, length);
      return [Buffer.alloc(0)];
    }
    return this.readRangeWith(path, offset, length, signal, pin, joined ? 'join' : 'chunks');
  }

  /**
   * readRange into `targets` (filled in order), copying each chunk as it
   * arrives so that no response buffer outlives its copy; the bytes written.
   * A retried attempt writes from the first target again.
   */
  async readRangeInto(path: string, offset: number, targets: readonly Buffer[], signal?: AbortSignal, pin?: DownloadPin, onBytes?: (bytes: number) => void): Promise<number> {
    const length = targets.reduce((n, t) => n + t.length, 0);
    checkRange(offset, length);
    if (length === 0) return 0;
    const out = await this.readRangeWith(path, offset, length, signal, pin, { targets, ...(onBytes ? { onBytes } : {}) });
    return out.reduce((n, c) => n + c.length, 0);
  }

  private readRangeWith(path: string, offset: number, length: number, signal: AbortSignal | undefined, pin: DownloadPin | undefined, sink: Sink): Promise<Buffer[]> {
    checkRange(offset, length);
    const state = { refreshes: 0 };
    return withRetries(
      (attempt) =>
        this.withTarget<Buffer[]>(path, signal, attempt, state, async (target) => {
          const size = target.version.size;
          if (offset >= size) return [Buffer.alloc(0)];
          const want = Math.min(length, size - offset);
          const whole = offset === 0 && want === size;
          const opened = await this.open(path, target, offset, offset + want - 1, whole, attempt, signal, 'range', true);
          if (isRefused(opened)) return REFUSED;
          const out = await this.readBody(path, target, opened, offset, want, sink);
          // What the version's bytes carry, for a reader that keeps them (and checks them next time).
          if (pin && pin.target === target && target.version.etag !== undefined) pin.etag = target.version.etag;
          return out;
        }, pin),
      { policy: this.policy, signal, onRetry: () => this.guard.stats.retry() },
    );
  }

  /** The `want` bytes at `offset` from a 200/206/416 answer: one buffer ('join'), the chunks as received ('chunks'), or copied into the caller's targets (views of what was written). */
  private async readBody(path: string, target: CachedDownload, opened: OpenTransfer, offset: number, want: number, sink: Sink): Promise<Buffer[]> {
    try {
      const chunks = await this.readBodyOf(path, target, opened, offset, want, sink);
      opened.done();
      return chunks;
    } catch (err) {
      opened.done(err);
      throw err;
    }
  }

  private async readBodyOf(path: string, target: CachedDownload, opened: OpenTransfer, offset: number, want: number, sink: Sink): Promise<Buffer[]> {
    const { res, watch } = opened;
    const label = this.label(path);
    let skip = 0;
    if (res.status === 416) {
      // Nothing at this offset. A total other than the version's size is a
      // changed file (checkVersion throws); otherwise an empty read.
      await res.body.dump();
      const range = parseContentRange(header(res.headers, 'content-range'));
      this.checkVersion(path, target, res, range?.total ?? null);
      return [Buffer.alloc(0)];
    }
    if (res.status === 206) {
      const range = parseContentRange(header(res.headers, 'content-range'));
      if (!range || range.start === null) {
        await res.body.dump();
        throw new ServerError({ message: `${label}: 206 without a usable Content-Range`, status: 206, operation: label });
      }
      this.checkVersion(path, target, res, range.total);
      if (range.start !== offset) {
        await res.body.dump();
        throw new ServerError({ message: `${label}: asked for bytes from ${offset}, got from ${range.start}`, status: 206, operation: label });
      }
    } else {
      // 200: the whole file (we asked for all of it, or the server ignored Range).
      const len = header(res.headers, 'content-length');
      this.checkVersion(path, target, res, len === undefined ? null : Number(len));
      skip = offset;
    }
    const out = sink === 'join' ? Buffer.allocUnsafe(want) : undefined;
    const into = typeof sink === 'object' ? new TargetWriter(sink.targets) : undefined;
    const onBytes = typeof sink === 'object' ? sink.onBytes : undefined;
    const chunks: Buffer[] = [];
    let filled = 0;
    let extra = 0;
    // Reading to the natural end keeps the connection reusable; only a 200
    // that carries more than we want (Range ignored) is cut short.
    const cutShort = res.status === 200 && offset + want < target.version.size;
    const stats = this.guard.stats;
    try {
      for await (const chunk of res.body as AsyncIterable<Buffer>) {
        watch.received();
        stats.bytesDown(chunk.length);
        let c = chunk;
        if (skip > 0) {
          if (c.length <= skip) {
            skip -= c.length;
            continue;
          }
          c = c.subarray(skip);
          skip = 0;
        }
        const n = Math.min(c.length, want - filled);
        if (out) c.copy(out, filled, 0, n);
        else if (into) {
          into.write(c, n);
          onBytes?.(c.length);
        }
        else if (n > 0) chunks.push(n === c.length ? c : c.subarray(0, n));
        filled += n;
        extra += c.length - n;
        if (filled === want && cutShort) break;
      }
    } catch (err) {
      throw this.transport.bodyError(err, label, watch.signal);
    }
    if (extra > 0 && !cutShort) throw new ServerError({ message: `${label}: ${extra} bytes more than asked for`, status: res.status, operation: label });
    if (!cutShort) await settle();
    if (filled !== want) {
      throw this.transport.bodyError(Object.assign(new Error(`body ended after ${filled} of ${want} bytes`), { code: 'UND_ERR_RES_CONTENT_LENGTH_MISMATCH' }), label, watch.signal);
    }
    return out ? [out] : into ? into.written() : chunks;
  }

  async createReadStream(path: string, offset = 0, length: number | undefined, signal?: AbortSignal): Promise<Readable> {
    if (!Number.isSafeInteger(offset) || offset < 0 || (length !== undefined && (!Number.isSafeInteger(length) || length < 0))) {
      throw new RangeError(`createReadStream: bad offset/length ${offset}/${length}`);
    }
    const label = this.label(path);
    const state = { refreshes: 0 };
    // Opens the response for bytes [from, end) of the version in `target`.
    const open = (from: number, attempt: number) =>
      this.withTarget<{ opened: OpenTransfer | null; target: CachedDownload; end: number }>(path, signal, attempt, state, async (target) => {
        const size = target.version.size;
        const end = length === undefined ? size : Math.min(size, offset + length);
        if (from >= end) return { opened: null, target, end };
        const opened = await this.open(path, target, from, end - 1, from === 0 && end === size, attempt, signal, 'stream', false);
        if (isRefused(opened)) return REFUSED;
        try {
          const res = opened.res;
          if (res.status === 416) {
            await res.body.dump();
            this.checkVersion(path, target, res, parseContentRange(header(res.headers, 'content-range'))?.total ?? null);
            opened.done();
            return { opened: null, target, end };
          }
          const range = res.status === 206 ? parseContentRange(header(res.headers, 'content-range')) : null;
          const total = res.status === 206 ? (range?.total ?? null) : Number(header(res.headers, 'content-length') ?? NaN);
          this.checkVersion(path, target, res, Number.isNaN(total as number) ? null : total);
          if (res.status === 200 && from !== 0) {
            await res.body.dump();
            throw new ServerError({ message: `${label}: the server ignored the Range header`, status: 200, operation: label });
          }
          if (res.status === 206 && range?.start !== from) {
            await res.body.dump();
            throw new ServerError({ message: `${label}: asked for bytes from ${from}, got ${range?.start ?? 'no range'}`, status: 206, operation: label });
          }
        } catch (err) {
          opened.done(err);
          throw err;
        }
        return { opened, target, end };
      });

    const first = await withRetries((attempt) => open(offset, attempt), { policy: this.policy, signal, onRetry: () => this.guard.stats.retry() });
    if (!first.opened) return Readable.from([]);
    return new ResumableDownload({
      first: first.opened,
      start: offset,
      end: first.end,
      reopen: async (from, attempt) => (await open(from, attempt)).opened,
      mapError: (err, transfer) => this.transport.bodyError(err, label, transfer.watch.signal),
      policy: this.policy,
      logger: this.logger,
      label,
      signal,
      stats: this.guard.stats,
    });
  }
}
