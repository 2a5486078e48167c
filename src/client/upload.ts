// Uploading a file (docs/files-api.md §5): begin_upload → parts PUT to presigned
// URLs (in parallel, at most partConcurrency at once, or one by one in order
// when the server says parallel_parts: false) → POST /files/{path} with
// action "end", ref, etags, size, provided_mtime, mkdir_parents.
//
// Each part is sent under a stall watch (stall-watch.ts): abandoned when no
// bytes move (either way) for stallTimeoutMs plus what the kernel still holds,
// never because the part as a whole is slow; its body reports progress as the
// connection takes it (progress-body.ts). Once its body has gone, the wait for
// the answer is cut short (and the part sent again) when it is longer than
// recent parts' answers took (the watch's patience; at most 5 % of parts).
//
// Each part is retried alone (retry.ts policy); a part whose URL is refused
// (403, or 404: expired or unknown) gets a fresh URL and is sent again without
// counting as a failure, up to MAX_URL_REFRESHES times. Only when the server
// says retry_parts: false, or forgets the upload (file-upload-not-found), is
// the whole upload started again, and only for sources that can be read
// twice (file, buffer), at most `retries` times.
//
// `end` is retried like any call; if an earlier attempt may have completed
// the upload and a later one is told the upload is gone (not-found), we stat
// the file: the same size (and provided_mtime, when we sent one) means the
// earlier attempt did it, and that entry is the result. Sending `end` twice
// with one ref cannot write different bytes: the parts are the same.
import type { Readable } from 'node:stream';
import type { Logger } from '../log/logger.js';
import { routeFor } from './api-path.js';
import type { ApiClient } from './api.js';
import { parseEntry } from './entry.js';
import { FilesError, NotFoundError, ServerError } from './errors.js';
import { errorFromHttp } from './http-error.js';
import type { RemoteEntry, UploadOptions, UploadSource } from './files-client.js';
import { outcomeOf } from './client-stats.js';
import { partCountFor, partRange, partSizeFor, streamPartSize, MAX_PARTS } from './part-size.js';
import { progressBody } from './progress-body.js';
import type { Resilience } from './resilience.js';
import { abortError, RetryPolicy, withRetries } from './retry.js';
import { MAX_SEND_ALLOWANCE_MS, StallWatch } from './stall-watch.js';
import { header, type Transport } from './transport.js';
import { openSource, type PartBody, type PartSource } from './upload-source.js';
import { isUploadGone, PartUrls, type UploadSettings } from './upload-urls.js';
import type { WireUploadEnd } from './wire-types.js';

/** Fresh URLs per part after refusals before the part fails. */
const MAX_URL_REFRESHES = 3;
const NO_RETRIES = new RetryPolicy({ retries: 0, baseDelayMs: 0, maxDelayMs: 0 });

export interface UploadDeps {
  api: ApiClient;
  transport: Transport;
  policy: RetryPolicy;
  logger: Logger;
  userAgent: string;
  partConcurrency: number;
  guard: Resilience;
  /** Stat used to confirm an `end` whose first attempt may have worked. */
  stat: (path: string, signal?: AbortSignal) => Promise<RemoteEntry>;
}

/** Why the whole upload must start over (handled by uploadFile). */
class RestartUpload extends Error {
  constructor(readonly reason: Error) {
    super(reason.message);
  }
}

function stripQuotes(etag: string): string {
  return etag.replace(/^W\//, '').replace(/^"(.*)"$/, '$1');
}

/** Part URLs fetched per begin_upload call: enough to keep every worker busy for a while. */
export function urlBatchSize(partConcurrency: number): number {
  return Math.min(100, Math.max(8, partConcurrency * 4));
}

export async function uploadFile(deps: UploadDeps, path: string, source: UploadSource, options: UploadOptions = {}): Promise<RemoteEntry> {
  const signal = options.signal;
  for (let restarts = 0; ; restarts++) {
    const opened = await openSource(source);
    try {
      return await uploadOnce(deps, path, opened, options);
    } catch (err) {
      if (!(err instanceof RestartUpload)) throw err;
      if (signal?.aborted) throw abortError(signal);
      if (opened.kind !== 'random' || restarts >= deps.policy.retries) throw err.reason;
      deps.logger.info(`upload ${path}: starting over (${err.reason.message})`);
    } finally {
      await opened.close();
    }
  }
}

async function uploadOnce(deps: UploadDeps, path: string, source: PartSource, options: UploadOptions): Promise<RemoteEntry> {
  const mkdirParents = options.mkdirParents ?? true;
  const knownSize = source.kind === 'random' ? source.size : source.declaredSize;
  const partSize = knownSize === undefined ? undefined : partSizeFor(knownSize);
  const totalParts = knownSize === undefined || partSize === undefined ? undefined : partCountFor(knownSize, partSize);

  // One controller for the parts: the caller's abort or a part's final failure stops them all.
  const controller = new AbortController();
  const onAbort = () => controller.abort(options.signal?.reason);
  options.signal?.addEventListener('abort', onAbort, { once: true });
  const signal = controller.signal;

  try {
    const urls = new PartUrls(deps.api, path, { size: knownSize, mkdirParents }, urlBatchSize(deps.partConcurrency), totalParts, signal);
    let settings: UploadSettings;
    try {
      settings = await urls.begin();
    } catch (err) {
      if (options.signal?.aborted) throw abortError(options.signal);
      throw err;
    }
    const concurrency = settings.parallelParts ? deps.partConcurrency : 1;
    const etags = new Map<number, string>();
    const inFlight = new Set<Promise<void>>();
    let failure: Error | undefined;
    let uploaded = 0;
    let total = 0;

    const launch = (n: number, body: PartBody, length: number) => {
      const task = putPart(deps, urls, path, n, body, length, signal, settings.retryParts)
        .then((etag) => {
          if (etag !== undefined) etags.set(n, etag);
          urls.release(n);
          uploaded += length;
          options.onProgress?.(uploaded, knownSize);
        })
        .catch((err: unknown) => {
          failure ??= err instanceof Error ? err : new Error(String(err));
          controller.abort(failure);
        })
        .finally(() => inFlight.delete(task));
      inFlight.add(task);
    };
    const waitForSlot = async () => {
      while (inFlight.size >= concurrency && !failure) await Promise.race(inFlight);
    };

    for (let n = 1; !failure; n++) {
      if (source.kind === 'random') {
        if (n > totalParts!) break;
        await waitForSlot();
        if (failure) break;
        const { start, end } = partRange(n, partSize!, source.size);
        total += end - start;
        launch(n, source.part(start, end), end - start);
      } else {
        if (n > MAX_PARTS) throw new RangeError(`upload ${path}: the stream is larger than ${MAX_PARTS} parts can carry`);
        await waitForSlot();
        if (failure) break;
        const want = partSize ?? streamPartSize(n);
        const data = await source.read(want);
        if (data.length === 0 && n > 1) break;
        total += data.length;
        if (knownSize !== undefined && total > knownSize) throw new RangeError(`upload ${path}: the stream is longer than the declared ${knownSize} bytes`);
        launch(n, () => data, data.length);
        if (data.length < want || source.ended) break;
      }
    }
    await Promise.allSettled([...inFlight]);
    if (options.signal?.aborted) throw abortError(options.signal);
    if (failure) {
      if (isUploadGone(failure) || !settings.retryParts) throw new RestartUpload(failure);
      throw failure;
    }
    if (knownSize !== undefined && total !== knownSize) {
      throw new RangeError(`upload ${path}: the source gave ${total} bytes, ${knownSize} were declared`);
    }
    await options.beforePublish?.({ exists: settings.targetExists, checkedAt: settings.checkedAt });
    if (options.signal?.aborted) throw abortError(options.signal);
    return await finishUpload(deps, path, settings.ref, etags, total, options, mkdirParents);
  } catch (err) {
    // A thrown error (not a part failure): stop the parts still running.
    if (!controller.signal.aborted) controller.abort(err);
    throw err;
  } finally {
    options.signal?.removeEventListener('abort', onAbort);
  }
}

/** PUTs one part; resolves with its ETag (quotes removed) or undefined when the server sent none. */
export async function putPart(deps: UploadDeps, urls: PartUrls, path: string, n: number, body: PartBody, length: number, signal: AbortSignal, retryParts: boolean): Promise<string | undefined> {
  const label = `PUT upload part ${n} ${path}`;
  // retry_parts: false — the server cannot take a part twice; any failure
  // restarts the whole upload (uploadFile), so no retry and no new URL here.
  const maxRefreshes = retryParts ? MAX_URL_REFRESHES : 0;
  const policy = retryParts ? deps.policy : NO_RETRIES;
  let refreshes = 0;
  let refused = false;
  return withRetries(
    async (attempt) => {
      for (;;) {
        const slot = refused ? await urls.refresh(n) : await urls.get(n);
        refused = false;
        const { stats, stallTimeoutMs, hedger } = deps.guard;
        hedger.grant();
        const patience = { ms: hedger.patienceMs('part'), take: () => hedger.take() };
        const watch = new StallWatch(stallTimeoutMs, [signal], label, () => stats.stall(), deps.guard.uploadRate.expected(), patience);
        // Waiting for a connection is not the server's silence: the watch starts when the request has one.
        watch.hold();
        const data = body();
        let res;
        let text: string;
        try {
          res = await deps.transport.send({
            method: slot.method,
            url: slot.url,
            headers: {
              'user-agent': deps.userAgent,
              'content-type': 'application/octet-stream',
              ...slot.headers,
              'content-length': String(length),
            },
            body: progressBody(data, (bytes) => {
              watch.sent(bytes);
              stats.bytesUp(bytes);
            }),
            signal: watch.signal,
            label,
            attempt,
            lane: 'data',
            onSocket: () => watch.connected(),
            // undici's header timer starts at the last byte handed to the
            // kernel, which may still hold a full send buffer: the outer bound
            // waits for it to drain at the slowest rate (stall-watch.ts).
            headersTimeoutMs: deps.guard.requestTimeoutMs + MAX_SEND_ALLOWANCE_MS,
          });
          // How long the answer took once the body had gone: the patience of later parts.
          hedger.record('part', watch.sinceSent());
          watch.received();
          text = await deps.transport.readText(res, label, watch.signal);
          stats.request('part', res.status >= 200 && res.status < 300 ? 'ok' : 'http-error');
          if (res.status >= 200 && res.status < 300) deps.guard.uploadRate.record(length, watch.elapsedMs());
        } catch (err) {
          stats.request('part', outcomeOf(err));
          throw err;
        } finally {
          watch.dispose();
          if (!Buffer.isBuffer(data) && !(data as Readable).destroyed && !(data as Readable).readableEnded) (data as Readable).destroy();
        }
        if (res.status >= 200 && res.status < 300) {
          const etag = header(res.headers, 'etag');
          return etag ? stripQuotes(etag) : undefined;
        }
        if ((res.status === 403 || res.status === 404) && refreshes < maxRefreshes) {
          refreshes++;
          refused = true;
          deps.logger.debug(`${label}: upload URL refused (${res.status}); fetching a new one`);
          continue;
        }
        throw errorFromHttp(res, text, label);
      }
    },
    {
      policy,
      signal,
      onRetry: (err, a, wait) => {
        deps.guard.stats.retry();
        deps.logger.debug(`${label} attempt ${a} failed (${(err as Error).message}); retrying in ${wait} ms`);
      },
    },
  );
}

export async function finishUpload(deps: UploadDeps, path: string, ref: string, etags: Map<number, string>, size: number, options: UploadOptions, mkdirParents: boolean): Promise<RemoteEntry> {
  const route = routeFor('/files', path);
  const providedMtime = options.mtime?.toISOString();
  const body: WireUploadEnd = {
    action: 'end',
    ref,
    etags: [...etags.entries()].sort((a, b) => a[0] - b[0]).map(([part, etag]) => ({ etag, part })),
    size,
    mkdir_parents: mkdirParents,
    ...(providedMtime ? { provided_mtime: providedMtime } : {}),
  };
  let confirmed: RemoteEntry | undefined;
  const res = await deps.api.call<unknown>({
    method: 'POST',
    route,
    body: body as unknown as Record<string, unknown>,
    // The server assembles the parts: its time grows with their number (deadlines.ts).
    items: Math.max(1, etags.size),
    // One part is quick to complete: an end with no answer is sent again (api.ts; the replay below confirms).
    ...(etags.size <= 1 ? { resend: 'upload-end' as const } : {}),
    signal: options.signal,
    replay: async (err: FilesError) => {
      if (!(err instanceof NotFoundError)) return false;
      const entry = await deps.stat(path, options.signal).catch(() => undefined);
      // The server keeps whole seconds (docs/files-api.md §1).
      const sameTime = !options.mtime || entry?.providedMtime?.getTime() === Math.floor(options.mtime.getTime() / 1000) * 1000;
      if (entry && entry.type === 'file' && entry.size === size && sameTime) confirmed = entry;
      return confirmed !== undefined;
    },
  });
  if (res.replayed && confirmed) return confirmed;
  const entry = parseEntry(res.body, `POST ${route}`);
  if (entry.type !== 'file') throw new ServerError({ message: `POST ${route}: end of upload returned a ${entry.type}`, operation: `POST ${route}` });
  return entry;
}
