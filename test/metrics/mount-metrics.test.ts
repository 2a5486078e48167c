// The metrics module on its own: request kinds from method and route, the
// outcome and fault labels, what each hook feeds, what is read at scrape
// time, and the endpoint.
import diagnosticsChannel from 'node:diagnostics_channel';
import { createServer } from 'node:net';
import { describe, expect, test } from 'vitest';
import { NetworkError, TimeoutError, TlsVerificationError } from '../../src/client/errors.js';
import type { RequestEvent } from '../../src/client/observer.js';
import { ConfigError } from '../../src/options/config-error.js';
import { silentLogger } from '../../src/log/logger.js';
import { faultOf, MountMetrics, outcomeOf, RequestClassifier, serveMetrics } from '../../src/metrics/index.js';
import { CacheCounters, type PollStatus, type WriteBackStatus } from '../../src/vfs/index.js';

const SITE = 'https://acme.files.com';

/** The sample lines of an exposition text, "name{labels} value", comments left out. */
function samples(text: string): string[] {
  return text.split('\n').filter((l) => l !== '' && !l.startsWith('#'));
}

function event(method: string, path: string, extra: Partial<RequestEvent> = {}): RequestEvent {
  return { method, origin: SITE, path, attempt: 1, hedge: false, status: 200, seconds: 0.02, ...extra };
}

describe('request kinds', () => {
  const c = new RequestClassifier(SITE);
  test.each([
    ['GET', '/api/rest/v1/folders/', 'list'],
    ['GET', '/api/rest/v1/folders/Reports/Q1', 'list'],
    ['POST', '/api/rest/v1/folders/New', 'mkdir'],
    ['GET', '/api/rest/v1/file_actions/metadata/a.txt', 'stat'],
    ['GET', '/api/rest/v1/files/a.txt', 'download_url'],
    ['DELETE', '/api/rest/v1/files/a.txt', 'delete'],
    ['PATCH', '/api/rest/v1/files/a.txt', 'set_mtime'],
    ['POST', '/api/rest/v1/files/a.txt', 'end_upload'],
    ['POST', '/api/rest/v1/file_actions/begin_upload/a.txt', 'begin_upload'],
    ['POST', '/api/rest/v1/file_actions/move/a.txt', 'move'],
    ['POST', '/api/rest/v1/file_actions/copy/a.txt', 'copy'],
    ['GET', '/api/rest/v1/file_migrations/42', 'migration'],
    ['POST', '/api/rest/v1/sessions', 'session'],
    ['GET', '/api/rest/v1/users', 'api_other'],
    ['GET', '/s3/blob/abc', 'download'],
    ['PUT', '/s3/upload/abc', 'upload_part'],
  ])('%s %s → %s', (method, path, kind) => {
    expect(c.kindOf(method, SITE, path)).toBe(kind);
  });

  test('a presigned URL on another host is content, even under /api/rest/v1', () => {
    expect(c.kindOf('GET', 'https://s3.amazonaws.com', '/api/rest/v1/folders/')).toBe('download');
    expect(c.kindOf('PUT', 'https://s3.amazonaws.com', '/bucket/part')).toBe('upload_part');
  });

  test('a site behind a path prefix', () => {
    const p = new RequestClassifier('https://proxy.example/files');
    expect(p.kindOf('GET', 'https://proxy.example', '/files/api/rest/v1/folders/')).toBe('list');
    expect(p.kindOf('GET', 'https://proxy.example', '/api/rest/v1/folders/')).toBe('download');
  });
});

describe('outcome and fault labels', () => {
  test.each([
    [{ status: 200 }, '200', undefined],
    [{ status: 404 }, '404', undefined],
    [{ status: 429 }, '429', 'throttled'],
    [{ status: 503 }, '503', 'server_error'],
    [{ error: new TimeoutError({ message: 't', operation: 'x' }) }, 'timeout', 'timeout'],
    [{ error: new NetworkError({ message: 'reset', operation: 'x' }) }, 'network', 'network'],
    [{ error: new TlsVerificationError({ message: 'tls', operation: 'x' }) }, 'tls', undefined],
    [{ error: new DOMException('aborted', 'AbortError') }, 'aborted', undefined],
  ] as Array<[Pick<RequestEvent, 'status' | 'error'>, string, string | undefined]>)('%o', (e, outcome, fault) => {
    expect(outcomeOf(e)).toBe(outcome);
    expect(faultOf(e)).toBe(fault);
  });
});

describe('MountMetrics', () => {
  test('requests: by kind and outcome, latency, retries, hedges, faults', async () => {
    const m = new MountMetrics({ baseUrl: SITE, version: '9.9.9', root: 'Reports', processMetrics: false });
    m.requestObserver(event('GET', '/api/rest/v1/folders/'));
    m.requestObserver(event('GET', '/api/rest/v1/folders/', { status: 503, seconds: 0.3 }));
    m.requestObserver(event('GET', '/api/rest/v1/folders/', { attempt: 2 }));
    m.requestObserver(event('PUT', '/s3/part', { origin: 'https://storage.example', error: new TimeoutError({ message: 't', operation: 'x' }), status: undefined }));
    m.requestObserver(event('GET', '/s3/blob', { hedge: true, status: 206 }));
    const lines = samples((await m.scrape()).body);
    m.close();
    expect(lines).toEqual(expect.arrayContaining([
      'filesfs_info{version="9.9.9",site="https://acme.files.com",root="/Reports"} 1',
      'filesfs_http_requests_total{kind="list",outcome="200"} 2',
      'filesfs_http_requests_total{kind="list",outcome="503"} 1',
      'filesfs_http_requests_total{kind="upload_part",outcome="timeout"} 1',
      'filesfs_http_requests_total{kind="download",outcome="206"} 1',
      'filesfs_http_retries_total{kind="list"} 1',
      'filesfs_http_hedged_requests_total{kind="download"} 1',
      'filesfs_http_faults_total{kind="list",fault="server_error"} 1',
      'filesfs_http_faults_total{kind="upload_part",fault="timeout"} 1',
      'filesfs_http_request_duration_seconds_count{kind="list"} 3',
      'filesfs_http_request_duration_seconds_bucket{le="0.025",kind="list"} 2',
      'filesfs_http_request_duration_seconds_bucket{le="0.5",kind="list"} 3',
    ]));
  });

  test('FUSE operations: latency by operation, errors by operation and errno', async () => {
    const m = new MountMetrics({ baseUrl: SITE, version: '1', root: '', processMetrics: false });
    m.operationObserver('getattr', null, 0.0002);
    m.operationObserver('getattr', 'ENOENT', 0.0003);
    m.operationObserver('write', null, 0.004);
    m.operationObserver('symlink', 'EPERM', 0);
    const lines = samples((await m.scrape()).body);
    m.close();
    expect(lines).toEqual(expect.arrayContaining([
      'filesfs_fuse_operation_duration_seconds_count{operation="getattr"} 2',
      'filesfs_fuse_operation_duration_seconds_count{operation="write"} 1',
      'filesfs_fuse_errors_total{operation="getattr",errno="ENOENT"} 1',
      'filesfs_fuse_errors_total{operation="symlink",errno="EPERM"} 1',
    ]));
    expect(lines.some((l) => l.startsWith('filesfs_fuse_errors_total{operation="write"'))).toBe(false);
  });

  test('read when scraped: cache counters and the upload queue, as they are at that moment', async () => {
    const m = new MountMetrics({ baseUrl: SITE, version: '1', root: '', processMetrics: false });
    const counters = new CacheCounters();
    const status = {
      uploadedFiles: 3, uploadedBytes: 3000,
      byState: { pending: { files: 2, bytes: 20 }, open: { files: 0, bytes: 0 }, uploading: { files: 1, bytes: 5_000_000 }, retrying: { files: 0, bytes: 0 }, failed: { files: 1, bytes: 7 } },
    } as unknown as WriteBackStatus;
    m.watch({ cacheCounters: counters, uploadStatus: () => status });
    counters.attributes.hits = 5;
    counters.attributes.misses = 1;
    counters.blocks.misses = 4;
    let lines = samples((await m.scrape()).body);
    expect(lines).toEqual(expect.arrayContaining([
      'filesfs_cache_hits_total{cache="attributes"} 5',
      'filesfs_cache_misses_total{cache="attributes"} 1',
      'filesfs_cache_misses_total{cache="blocks"} 4',
      'filesfs_cache_hits_total{cache="listings"} 0',
      'filesfs_upload_queue_files{state="pending"} 2',
      'filesfs_upload_queue_files{state="uploading"} 1',
      'filesfs_upload_queue_files{state="failed"} 1',
      'filesfs_upload_queue_bytes{state="uploading"} 5000000',
      'filesfs_uploaded_files_total 3',
      'filesfs_uploaded_bytes_total 3000',
    ]));
    counters.attributes.hits = 9;
    status.uploadedFiles = 4;
    lines = samples((await m.scrape()).body);
    m.close();
    expect(lines).toEqual(expect.arrayContaining(['filesfs_cache_hits_total{cache="attributes"} 9', 'filesfs_uploaded_files_total 4']));
  });

  test('read when scraped: what --poll-interval spent, and the folders it asked about', async () => {
    const m = new MountMetrics({ baseUrl: SITE, version: '1', root: '', processMetrics: false });
    const status = { pollRequests: 12, polledFolders: 2 } as PollStatus;
    m.watch({ pollStatus: () => status });
    expect(samples((await m.scrape()).body)).toEqual(expect.arrayContaining(['filesfs_poll_requests_total 12', 'filesfs_polled_folders 2']));
    status.pollRequests = 14;
    status.polledFolders = 0;
    const lines = samples((await m.scrape()).body);
    m.close();
    expect(lines).toEqual(expect.arrayContaining(['filesfs_poll_requests_total 14', 'filesfs_polled_folders 0']));
  });

  test('body bytes from undici\'s diagnostics channels, by kind', async () => {
    const m = new MountMetrics({ baseUrl: SITE, version: '1', root: '', processMetrics: false });
    diagnosticsChannel.channel('undici:request:bodyChunkSent').publish({ request: { method: 'PUT', origin: 'https://storage.example', path: '/part?X-Signature=secret' }, chunk: Buffer.alloc(1000) });
    diagnosticsChannel.channel('undici:request:bodyChunkSent').publish({ request: { method: 'PUT', origin: 'https://storage.example', path: '/part?X-Signature=secret' }, chunk: Buffer.alloc(24) });
    diagnosticsChannel.channel('undici:request:bodyChunkReceived').publish({ request: { method: 'GET', origin: SITE, path: '/api/rest/v1/folders/?per_page=1' }, chunk: Buffer.alloc(300) });
    const text = (await m.scrape()).body;
    m.close();
    // After close() nothing more is counted.
    diagnosticsChannel.channel('undici:request:bodyChunkSent').publish({ request: { method: 'PUT', origin: 'https://storage.example', path: '/part' }, chunk: Buffer.alloc(5) });
    expect(samples(text)).toEqual(expect.arrayContaining([
      'filesfs_http_sent_bytes_total{kind="upload_part"} 1024',
      'filesfs_http_received_bytes_total{kind="list"} 300',
    ]));
    expect(text).not.toContain('secret');
  });

  test('Node\'s process metrics under their standard names', async () => {
    const m = new MountMetrics({ baseUrl: SITE, version: '1', root: '' });
    const text = (await m.scrape()).body;
    m.close();
    expect(text).toMatch(/^process_resident_memory_bytes \d+/m);
    expect(text).toMatch(/^process_cpu_seconds_total \d/m);
  });
});

describe('the endpoint', () => {
  test('GET /metrics: the text format; other paths 404; other methods 405', async () => {
    const m = new MountMetrics({ baseUrl: SITE, version: '1', root: '', processMetrics: false });
    const server = await serveMetrics(m, { host: '127.0.0.1', port: 0 }, silentLogger);
    try {
      expect(server.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/metrics$/);
      const ok = await fetch(server.url);
      expect(ok.status).toBe(200);
      expect(ok.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
      expect(await ok.text()).toContain('filesfs_info{');
      expect((await fetch(server.url.replace('/metrics', '/'))).status).toBe(404);
      expect((await fetch(server.url, { method: 'POST' })).status).toBe(405);
    } finally {
      await server.close();
      m.close();
    }
  });

  test('an address in use is the user\'s to fix: one line naming the option', async () => {
    const holder = createServer();
    await new Promise<void>((r) => holder.listen(0, '127.0.0.1', () => r()));
    const port = (holder.address() as { port: number }).port;
    const m = new MountMetrics({ baseUrl: SITE, version: '1', root: '', processMetrics: false });
    try {
      const err = await serveMetrics(m, { host: '127.0.0.1', port }, silentLogger, '-o metrics').then(() => undefined, (e: unknown) => e);
      expect(err).toBeInstanceOf(ConfigError);
      expect((err as Error).message).toBe(`-o metrics 127.0.0.1:${port}: cannot listen: the address is in use (another mount or exporter?)`);
    } finally {
      holder.close();
      m.close();
    }
  });
});
