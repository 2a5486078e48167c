// An upload whose parts go up while the file is still being written (the
// write-back's early upload of a file written front to back): begin_upload
// without a size, parts cut by the growing schedule of part-size.ts
// (streamPartSize: 5 MiB parts first), each sent as soon as the caller says
// its bytes are final, read from a byte range of a local file. At the end
// the caller gives the size: the parts not sent yet go up, then `end`
// publishes. Until `end`, nothing shows on the server; an abandoned session
// (abort) publishes nothing, and the server forgets its parts.
//
// Parts are sent at most partConcurrency at once (one at a time, in order,
// when the server says parallel_parts: false), each retried like any upload
// part (upload.ts putPart). A part that fails for good fails the session:
// the caller then uploads the file the ordinary way.
import { open, type FileHandle } from 'node:fs/promises';
import PQueue from 'p-queue';
import type { PartialUpload, RemoteEntry, UploadOptions } from './files-client.js';
import { MAX_PARTS, streamPartSize } from './part-size.js';
import { filePart } from './upload-source.js';
import { finishUpload, putPart, urlBatchSize, type UploadDeps } from './upload.js';
import { PartUrls, type UploadSettings } from './upload-urls.js';

/** Where each part starts under the growing schedule (starts[n - 1] for part n), filled as needed. */
const starts: number[] = [0];

/** Byte range [start, end) of part `n` (1-based) under the growing schedule. */
export function partialUploadRange(n: number): { start: number; end: number } {
  for (let i = starts.length; i <= n; i++) starts.push(starts[i - 1]! + streamPartSize(i));
  return { start: starts[n - 1]!, end: starts[n]! };
}

/** The part holding the last byte of `size` bytes (part 1 for an empty file). */
export function lastPartOf(size: number): number {
  let n = 1;
  while (partialUploadRange(n).end < size) n++;
  return n;
}

/** The session cannot publish: the caller uploads the file the ordinary way. */
export class PartialUploadUnusable extends Error {
  override get name(): string {
    return 'PartialUploadUnusable';
  }
}

export class UploadSession implements PartialUpload {
  private readonly etags = new Map<number, string>();
  private readonly parts: PQueue;
  private readonly controller = new AbortController();
  private failure: Error | undefined;
  /** Part numbers handed to send(). */
  private readonly sent = new Set<number>();
  private acknowledged = 0;
  private finished = false;

  private constructor(
    private readonly deps: UploadDeps,
    readonly path: string,
    private readonly file: FileHandle,
    private readonly urls: PartUrls,
    private readonly settings: UploadSettings,
    private readonly onFinished: (() => void) | undefined,
  ) {
    this.parts = new PQueue({ concurrency: settings.parallelParts ? deps.partConcurrency : 1 });
  }

  /** Opens the upload of `path`, whose bytes will be read from the local file `file`. */
  static async open(deps: UploadDeps, path: string, file: string, options: { mkdirParents?: boolean; signal?: AbortSignal; onFinished?: () => void } = {}): Promise<UploadSession> {
    const handle = await open(file, 'r');
    try {
      const urls = new PartUrls(deps.api, path, { mkdirParents: options.mkdirParents ?? true }, urlBatchSize(deps.partConcurrency), undefined, options.signal);
      const settings = await urls.begin();
      return new UploadSession(deps, path, handle, urls, settings, options.onFinished);
    } catch (err) {
      await handle.close().catch(() => undefined);
      throw err;
    }
  }

  /** Bytes the server has acknowledged. */
  get uploadedBytes(): number {
    return this.acknowledged;
  }

  /** Why the session can no longer publish, if it cannot. */
  get failed(): Error | undefined {
    return this.failure;
  }

  /** Parts queued or in flight. */
  get pendingParts(): number {
    return this.parts.size + this.parts.pending;
  }

  /** Sends part `n` (its bytes, partialUploadRange(n), are final in the file); failures fail the session. */
  send(n: number): void {
    const { start, end } = partialUploadRange(n);
    this.sendRange(n, start, end);
  }

  private sendRange(n: number, start: number, end: number): void {
    if (this.finished || this.failure || this.sent.has(n)) return;
    if (n > MAX_PARTS) {
      this.fail(new PartialUploadUnusable(`${this.path}: more than ${MAX_PARTS} parts`));
      return;
    }
    this.sent.add(n);
    void this.parts.add(async () => {
      if (this.failure) return;
      const etag = await putPart(this.deps, this.urls, this.path, n, filePart(this.file, start, end), end - start, this.controller.signal, this.settings.retryParts);
      if (etag !== undefined) this.etags.set(n, etag);
      this.urls.release(n);
      this.acknowledged += end - start;
    }).catch((err: unknown) => this.fail(err instanceof Error ? err : new Error(String(err))));
  }

  /**
   * Publishes `size` bytes: sends the parts not sent yet (the tail), waits
   * for every part, checks with beforePublish, then `end`. PartialUploadUnusable
   * when parts sent reach past `size` or one failed.
   */
  async finish(size: number, options: UploadOptions = {}): Promise<RemoteEntry> {
    const onAbort = (): void => this.abort(options.signal?.reason);
    options.signal?.addEventListener('abort', onAbort, { once: true });
    try {
      const last = lastPartOf(size);
      const lastRange = partialUploadRange(last);
      if (this.maxSent() > last || (this.sent.has(last) && lastRange.end !== size)) {
        throw new PartialUploadUnusable(`${this.path}: parts were sent past the ${size} bytes to publish`);
      }
      for (let n = 1; n < last; n++) this.send(n);
      if (lastRange.end === size) this.send(last);
      else this.sendRange(last, lastRange.start, size);
      await this.parts.onIdle();
      if (options.signal?.aborted) throw options.signal.reason instanceof Error ? options.signal.reason : new Error('aborted');
      if (this.failure) throw this.failure;
      options.onProgress?.(this.acknowledged, size);
      await options.beforePublish?.({ exists: this.settings.targetExists, checkedAt: this.settings.checkedAt });
      this.finished = true;
      try {
        return await finishUpload(this.deps, this.path, this.urls.ref, this.etags, size, options, options.mkdirParents ?? true);
      } finally {
        this.onFinished?.();
      }
    } finally {
      options.signal?.removeEventListener('abort', onAbort);
      await this.close();
    }
  }

  /** Abandons the session: parts in flight stop, nothing is published. */
  abort(reason?: unknown): void {
    this.fail(reason instanceof Error ? reason : new PartialUploadUnusable(`${this.path}: abandoned`));
    void this.close();
  }

  private maxSent(): number {
    return this.sent.size === 0 ? 0 : Math.max(...this.sent);
  }

  private fail(err: Error): void {
    this.failure ??= err;
    this.parts.clear();
    if (!this.controller.signal.aborted) this.controller.abort(err);
  }

  private closing: Promise<void> | undefined;

  private close(): Promise<void> {
    this.closing ??= this.parts.onIdle().then(() => this.file.close()).catch(() => undefined);
    return this.closing;
  }
}
