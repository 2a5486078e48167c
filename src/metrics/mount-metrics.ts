// A mount's Prometheus metrics: the one place that owns a prom-client
// registry. The layers know nothing of it; each feeds it through a narrow
// hook, and what is state rather than events is read when scraped:
//   - the client's request observer (client/observer.ts), once per attempt:
//     requests by kind and outcome, their latency, retries, hedges, faults;
//   - undici's diagnostics channels, per body chunk: bytes sent and received
//     (the client never sees a streamed body's bytes one by one);
//   - the FUSE adapter's operation observer (fuse/adapter.ts): operations by
//     name with their latency, failures by errno;
//   - at scrape time: the filesystem's cache counters (vfs/cache-counters.ts),
//     the write-back status (files and bytes waiting, by state; files and
//     bytes uploaded since the mount started) and the poll for remote
//     changes (requests, folders asked; vfs/remote-changes);
//   - Node's process metrics (CPU, memory, event loop lag, handles), under
//     their standard names.
// Names follow Prometheus conventions: filesfs_ prefix, _total for counters,
// _seconds and _bytes for units. Label values come from small fixed sets
// (request kinds, operation names, errno names, upload states): never a path.
import diagnosticsChannel from 'node:diagnostics_channel';
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import { TimeoutError, TlsVerificationError, type RequestEvent, type RequestObserver } from '../client/index.js';
import type { OperationObserver } from '../fuse/index.js';
import type { CacheCounters, PollStatus, WriteBackStatus } from '../vfs/index.js';
import { RequestClassifier } from './request-kind.js';

/** Seconds: API calls take milliseconds to seconds; a stalled one up to the 60 s timeout. */
const REQUEST_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60];
/** Seconds: a cached getattr answers in tens of µs; an fsync waits for its upload. */
const OPERATION_BUCKETS = [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60];

const UPLOAD_STATES = ['pending', 'open', 'uploading', 'retrying', 'failed'] as const;
const CACHES = ['attributes', 'listings', 'blocks', 'disk'] as const;

export interface MountMetricsOptions {
  /** The site; tells API calls from presigned transfers. */
  baseUrl: string;
  version: string;
  /** The remote folder mounted ('' = the site root). */
  root: string;
  /** Also collect Node's process metrics (default true). */
  processMetrics?: boolean;
}

/** What is read when scraped; set once the mount has them. */
export interface ScrapeSources {
  cacheCounters?: CacheCounters;
  uploadStatus?: () => WriteBackStatus;
  pollStatus?: () => PollStatus;
}

/** The HTTP outcome as a label: the status code, or what failed below HTTP. */
export function outcomeOf(event: Pick<RequestEvent, 'status' | 'error'>): string {
  if (event.status !== undefined) return String(event.status);
  const err = event.error;
  if (err instanceof TimeoutError) return 'timeout';
  if (err instanceof TlsVerificationError) return 'tls';
  if (err && (err.name === 'AbortError' || (err as { code?: unknown }).code === 'ABORT_ERR')) return 'aborted';
  return 'network';
}

/** A transient failure worth counting as a fault seen (the retry policy's set), or undefined. */
export function faultOf(event: Pick<RequestEvent, 'status' | 'error'>): string | undefined {
  const status = event.status;
  if (status !== undefined) {
    if (status === 429) return 'throttled';
    if (status >= 500) return 'server_error';
    return undefined;
  }
  const outcome = outcomeOf(event);
  return outcome === 'timeout' || outcome === 'network' ? outcome : undefined;
}

export class MountMetrics {
  readonly registry = new Registry();
  readonly #classifier: RequestClassifier;
  readonly #sources: ScrapeSources = {};
  readonly #requests: Counter<'kind' | 'outcome'>;
  readonly #requestSeconds: Histogram<'kind'>;
  readonly #retries: Counter<'kind'>;
  readonly #hedges: Counter<'kind'>;
  readonly #faults: Counter<'kind' | 'fault'>;
  readonly #sentBytes: Counter<'kind'>;
  readonly #receivedBytes: Counter<'kind'>;
  readonly #operationSeconds: Histogram<'operation'>;
  readonly #operationErrors: Counter<'operation' | 'errno'>;
  readonly #unsubscribe: Array<() => void> = [];

  constructor(options: MountMetricsOptions) {
    this.#classifier = new RequestClassifier(options.baseUrl);
    const registers = [this.registry];
    const sources = this.#sources;

    new Gauge({
      name: 'filesfs_info', help: 'Always 1; labels: the filesfs version, the site and the remote folder mounted.',
      labelNames: ['version', 'site', 'root'], registers,
    }).set({ version: options.version, site: options.baseUrl, root: '/' + options.root }, 1);

    this.#requests = new Counter({ name: 'filesfs_http_requests_total', help: 'HTTP requests (each attempt) by kind and outcome: the status code, or timeout, network, tls, aborted.', labelNames: ['kind', 'outcome'], registers });
    this.#requestSeconds = new Histogram({ name: 'filesfs_http_request_duration_seconds', help: 'Time from sending a request until its response headers (a download\'s body streams after), or its failure.', labelNames: ['kind'], buckets: REQUEST_BUCKETS, registers });
    this.#retries = new Counter({ name: 'filesfs_http_retries_total', help: 'Requests sent again after a failed attempt.', labelNames: ['kind'], registers });
    this.#hedges = new Counter({ name: 'filesfs_http_hedged_requests_total', help: 'Duplicate requests sent while an earlier copy was still in flight.', labelNames: ['kind'], registers });
    this.#faults = new Counter({ name: 'filesfs_http_faults_total', help: 'Transient failures seen: throttled (429), server_error (5xx), timeout, network (reset, refused).', labelNames: ['kind', 'fault'], registers });
    this.#sentBytes = new Counter({ name: 'filesfs_http_sent_bytes_total', help: 'Request body bytes sent (uploads are upload_part).', labelNames: ['kind'], registers });
    this.#receivedBytes = new Counter({ name: 'filesfs_http_received_bytes_total', help: 'Response body bytes received (file content is download).', labelNames: ['kind'], registers });
    this.#operationSeconds = new Histogram({ name: 'filesfs_fuse_operation_duration_seconds', help: 'FUSE operations answered by the filesystem, by operation, and how long they took (_count: how many).', labelNames: ['operation'], buckets: OPERATION_BUCKETS, registers });
    this.#operationErrors = new Counter({ name: 'filesfs_fuse_errors_total', help: 'FUSE operations answered with an error, by operation and errno name.', labelNames: ['operation', 'errno'], registers });

    const cacheCount = (name: string, help: string, field: 'hits' | 'misses') => new Counter({
      name, help, labelNames: ['cache'], registers,
      collect() {
        const counters = sources.cacheCounters;
        if (!counters) return;
        const now = counters.snapshot();
        this.reset();
        for (const cache of CACHES) this.inc({ cache }, now[cache][field]);
      },
    });
    cacheCount('filesfs_cache_hits_total', 'Answers from a cache: attributes (metadata of a path), listings (folders), blocks (file content in memory, on disk or already being fetched), disk (file content read from the content cache on disk).', 'hits');
    cacheCount('filesfs_cache_misses_total', 'Answers that needed the server: attributes, listings, blocks, disk (blocks fetched while the disk cache was on).', 'misses');

    const uploadGauge = (name: string, help: string, field: 'files' | 'bytes') => new Gauge({
      name, help, labelNames: ['state'], registers,
      collect() {
        const status = sources.uploadStatus?.();
        if (!status) return;
        for (const state of UPLOAD_STATES) this.set({ state }, status.byState[state][field]);
      },
    });
    uploadGauge('filesfs_upload_queue_files', 'Files written here and not yet on the server, by state: pending, open, uploading, retrying, failed.', 'files');
    uploadGauge('filesfs_upload_queue_bytes', 'Their bytes, by state.', 'bytes');
    const uploadedCount = (name: string, help: string, field: 'uploadedFiles' | 'uploadedBytes') => new Counter({
      name, help, registers,
      collect() {
        const status = sources.uploadStatus?.();
        if (!status) return;
        this.reset();
        this.inc(status[field]);
      },
    });
    uploadedCount('filesfs_uploaded_files_total', 'Uploads the server confirmed since the mount started.', 'uploadedFiles');
    uploadedCount('filesfs_uploaded_bytes_total', 'Their bytes.', 'uploadedBytes');

    new Counter({
      name: 'filesfs_poll_requests_total', help: 'API requests made by --poll-interval to find changes made elsewhere (each is billed by Files.com).', registers,
      collect() {
        const status = sources.pollStatus?.();
        if (!status) return;
        this.reset();
        this.inc(status.pollRequests);
      },
    });
    new Gauge({
      name: 'filesfs_polled_folders', help: 'Folders in use that the last poll asked about.', registers,
      collect() {
        const status = sources.pollStatus?.();
        if (status) this.set(status.polledFolders);
      },
    });

    if (options.processMetrics !== false) collectDefaultMetrics({ register: this.registry });
    this.#watchTransfers();
  }

  /** For ClientOptions.observer. */
  readonly requestObserver: RequestObserver = (event) => {
    const kind = this.#classifier.kindOf(event.method, event.origin, event.path);
    this.#requests.inc({ kind, outcome: outcomeOf(event) });
    this.#requestSeconds.observe({ kind }, event.seconds);
    if (event.attempt > 1) this.#retries.inc({ kind });
    if (event.hedge) this.#hedges.inc({ kind });
    const fault = faultOf(event);
    if (fault) this.#faults.inc({ kind, fault });
  };

  /** For mountFilesystem's operationObserver. */
  readonly operationObserver: OperationObserver = (operation, errno, seconds) => {
    this.#operationSeconds.observe({ operation }, seconds);
    if (errno !== null) this.#operationErrors.inc({ operation, errno });
  };

  /** What to read at scrape time, as the mount gets it. */
  watch(sources: ScrapeSources): void {
    Object.assign(this.#sources, sources);
  }

  /** The exposition text (prom-client's format) and its content type. */
  async scrape(): Promise<{ contentType: string; body: string }> {
    return { contentType: this.registry.contentType, body: await this.registry.metrics() };
  }

  /** Stops listening to undici. */
  close(): void {
    for (const stop of this.#unsubscribe.splice(0)) stop();
  }

  #watchTransfers(): void {
    // undici's request.origin as given to it (a string or a URL), normalized once per origin.
    const origins = new Map<unknown, string>();
    const originOf = (raw: unknown): string => {
      let origin = origins.get(raw);
      if (origin === undefined) {
        try {
          origin = new URL(String(raw)).origin;
        } catch {
          origin = '';
        }
        if (origins.size < 64) origins.set(raw, origin);
      }
      return origin;
    };
    const count = (counter: Counter<'kind'>) => (message: unknown): void => {
      const { request, chunk } = message as { request?: { method?: string; origin?: unknown; path?: string }; chunk?: { length?: number; byteLength?: number } };
      const bytes = chunk?.byteLength ?? chunk?.length ?? 0;
      if (!request || bytes === 0) return;
      const path = (request.path ?? '').split('?', 1)[0]!;
      counter.inc({ kind: this.#classifier.kindOf(request.method ?? 'GET', originOf(request.origin), path) }, bytes);
    };
    for (const [name, counter] of [['undici:request:bodyChunkSent', this.#sentBytes], ['undici:request:bodyChunkReceived', this.#receivedBytes]] as const) {
      const listener = count(counter);
      diagnosticsChannel.subscribe(name, listener);
      this.#unsubscribe.push(() => diagnosticsChannel.unsubscribe(name, listener));
    }
  }
}
