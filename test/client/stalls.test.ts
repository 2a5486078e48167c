// Stalls, hung servers and changed keys, against tiny local servers: a
// stalled request is hedged or abandoned at its deadline (never waited out:
// the outer request timeout is set far beyond the test's own timeout, so a
// test that waited for it would fail); other paths are not held up; a hung
// server makes calls fail within the stated bounds (measured on vitest's
// virtual clock); health goes unreachable and back; a 401 re-reads the
// credentials source. Counts, not wall-clock times, are asserted.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { mkdtempSync, writeFileSync, readFileSync } from 'node:fs';
import type { AddressInfo, Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import type { ClientOptions } from '../../src/client/options.js';
import { HttpFilesClient } from '../../src/client/http-files-client.js';
import { NotAuthenticatedError, TimeoutError } from '../../src/client/errors.js';
import { ServerUnreachableError } from '../../src/client/health.js';
import { createLogger } from '../../src/log/logger.js';

const FILE = { path: 'a.txt', display_name: 'a.txt', type: 'file', size: 3, mtime: '2024-05-30T15:30:59Z' };
/** Far beyond vitest's 60 s: a test that waited for the outer timeout would fail. */
const NEVER = 600_000;
/** Timers and clocks only: sockets, setImmediate and nextTick stay real. */
const FAKE: Parameters<typeof vi.useFakeTimers>[0] = { toFake: ['setTimeout', 'clearTimeout', 'setInterval', 'clearInterval', 'Date', 'performance'] };

type Handler = (req: IncomingMessage, res: ServerResponse, n: number) => void;
interface TestServer { url: string; requests: Array<{ method: string; url: string; key: string | undefined }> }

const servers: Array<{ server: Server; sockets: Set<Socket> }> = [];
const clients: HttpFilesClient[] = [];

/** A server calling `handler` at once (before the body is read), with a running count per request. */
async function serve(handler: Handler): Promise<TestServer> {
  const requests: TestServer['requests'] = [];
  const sockets = new Set<Socket>();
  const server = createServer((req, res) => {
    requests.push({ method: req.method!, url: req.url!, key: req.headers['x-filesapi-key'] as string | undefined });
    handler(req, res, requests.length);
  });
  server.on('connection', (s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  servers.push({ server, sockets });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, requests };
}

function client(url: string, extra: Partial<ClientOptions> = {}): HttpFilesClient {
  const c = new HttpFilesClient({ baseUrl: url, credentials: { apiKey: 'stallsKey0001' }, logLevel: 'silent', requestTimeoutMs: NEVER, ...extra });
  clients.push(c);
  return c;
}

function json(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { 'content-type': 'application/json' });
  res.end(JSON.stringify(body));
}

/** Runs `p` on the virtual clock until it settles; the virtual time it took. */
async function onVirtualClock<T>(p: Promise<T>, limitMs = 120_000): Promise<{ value?: T; error?: unknown; ms: number }> {
  const started = performance.now();
  let out: { value?: T; error?: unknown } | undefined;
  p.then((value) => (out = { value }), (error: unknown) => (out = { error }));
  while (!out && performance.now() - started < limitMs) {
    await vi.advanceTimersByTimeAsync(25);
    await new Promise((r) => setImmediate(r));
  }
  return { ...(out ?? {}), ms: performance.now() - started };
}

afterEach(async () => {
  vi.useRealTimers();
  for (const c of clients.splice(0)) await c.close().catch(() => undefined);
  for (const { server, sockets } of servers.splice(0)) {
    for (const s of sockets) s.destroy();
    await new Promise((r) => server.close(r));
  }
});

describe('a stalled request is hedged: the same GET on another connection answers', () => {
  it('metadata: the first request never answers; the hedge does; no retry, no deadline', async () => {
    const s = await serve((_req, res, n) => {
      if (n > 1) json(res, 200, FILE);
    });
    const c = client(s.url, { metadataTimeoutMs: 60_000 });
    expect((await c.stat('a.txt')).size).toBe(3);
    expect(s.requests).toHaveLength(2);
    expect(c.stats.hedges).toEqual({ sent: 1, won: 1 });
    expect(c.stats.retries).toBe(0);
    expect(c.stats.requests.metadata).toMatchObject({ ok: 1, cancelled: 1, timeout: 0 });
  });

  it('a listing page', async () => {
    const s = await serve((_req, res, n) => {
      if (n > 1) json(res, 200, [FILE]);
    });
    const c = client(s.url, { metadataTimeoutMs: 60_000 });
    const pages: unknown[][] = [];
    for await (const page of c.list('')) pages.push(page);
    expect(pages).toEqual([[expect.objectContaining({ path: 'a.txt' })]]);
    expect(s.requests.map((r) => r.url)).toEqual(['/api/rest/v1/folders/?per_page=1000', '/api/rest/v1/folders/?per_page=1000']);
    expect(c.stats.hedges).toEqual({ sent: 1, won: 1 });
    expect(c.stats.requests.listing).toMatchObject({ ok: 1, cancelled: 1 });
  });

  it('a range read whose first GET never answers', async () => {
    let blobs = 0;
    const s = await serve((req, res) => {
      if (req.url!.startsWith('/api/')) return json(res, 200, { ...FILE, size: 10, download_uri: `${s.url}/blob?X-Amz-Date=20990101T000000Z&X-Amz-Expires=60` });
      if (++blobs === 1) return; // stalls
      res.writeHead(206, { 'content-range': 'bytes 2-5/10', 'content-length': '4' });
      res.end('2345');
    });
    const c = client(s.url, { stallTimeoutMs: 60_000 });
    expect((await c.readRange('a.txt', 2, 4)).toString()).toBe('2345');
    expect(blobs).toBe(2);
    expect(c.stats.hedges).toEqual({ sent: 1, won: 1 });
    expect(c.stats.requests.range).toMatchObject({ ok: 1, cancelled: 1 });
  });
});

describe('a transfer whose bytes stop is abandoned after the stall timeout and retried', () => {
  const blobServer = (stallFirst: boolean) =>
    serve((req, res) => {
      if (req.url!.startsWith('/api/')) return json(res, 200, { ...FILE, size: 100_000, download_uri: `${s.url}/blob?X-Amz-Date=20990101T000000Z&X-Amz-Expires=60` });
      const m = /bytes=(\d+)-(\d+)?/.exec(req.headers.range ?? '');
      const from = m ? Number(m[1]) : 0;
      const to = m?.[2] ? Number(m[2]) : 99_999;
      res.writeHead(206, { 'content-range': `bytes ${from}-${to}/100000`, 'content-length': String(to - from + 1) });
      const body = Buffer.alloc(to - from + 1, 7);
      if (stallFirst && blobRequests++ === 0) return void res.write(body.subarray(0, 1000)); // …and nothing more
      res.end(body);
    });
  let s: TestServer;
  let blobRequests = 0;

  it('readRange', async () => {
    blobRequests = 0;
    s = await blobServer(true);
    const c = client(s.url, { stallTimeoutMs: 300, retryBaseDelayMs: 1, retryMaxDelayMs: 2 });
    expect((await c.readRange('a.txt', 0, 100_000)).length).toBe(100_000);
    expect(c.stats).toMatchObject({ stalls: 1, retries: 1 });
    expect(c.stats.requests.range).toMatchObject({ ok: 1, timeout: 1 });
  });

  it('createReadStream resumes from the first missing byte', async () => {
    blobRequests = 0;
    s = await blobServer(true);
    const c = client(s.url, { stallTimeoutMs: 300, retryBaseDelayMs: 1, retryMaxDelayMs: 2 });
    let total = 0;
    for await (const chunk of await c.createReadStream('a.txt')) total += (chunk as Buffer).length;
    expect(total).toBe(100_000);
    expect(c.stats).toMatchObject({ stalls: 1, retries: 1 });
    expect(s.requests.filter((r) => r.url.startsWith('/blob'))).toHaveLength(2);
  });

  it('an upload part the server stops reading', async () => {
    let puts = 0;
    const s2 = await serve((req, res) => {
      const url = new URL(req.url!, 'http://x');
      if (url.pathname.startsWith('/api/rest/v1/file_actions/begin_upload/')) {
        return json(res, 200, [{ part_number: 1, upload_uri: `${s2.url}/upload/1`, http_method: 'PUT', ref: 'put-1', parallel_parts: true, retry_parts: true }]);
      }
      if (url.pathname.startsWith('/upload/')) {
        // The second upload's first attempt: the server takes the request and stops reading.
        if (++puts === 2) return void req.pause();
        req.resume();
        req.on('end', () => {
          res.writeHead(200, { etag: '"e"' });
          res.end();
        });
        return;
      }
      const body: Buffer[] = [];
      req.on('data', (c: Buffer) => body.push(c));
      req.on('end', () => json(res, 201, { ...FILE, size: (JSON.parse(Buffer.concat(body).toString()) as { size: number }).size }));
    });
    const c = client(s2.url, { stallTimeoutMs: 300, retryBaseDelayMs: 1, retryMaxDelayMs: 2 });
    const data = Buffer.alloc(4 * 1024 * 1024, 1);
    await c.upload('a.bin', { buffer: data });
    expect(c.stats.stalls).toBe(0);
    // The first part showed the link is fast: the stalled one is given up soon, and sent again.
    expect((await c.upload('b.bin', { buffer: data })).size).toBe(data.length);
    expect(puts).toBe(3);
    expect(c.stats).toMatchObject({ stalls: 1, retries: 1 });
    expect(c.stats.requests.part).toMatchObject({ ok: 2, timeout: 1 });
  });
});

describe('a request with no answer is sent again after about as long as recent answers took', () => {
  it('with no connection to spare for a hedge, a stalled metadata call is abandoned and sent again in its place', async () => {
    const s = await serve((_req, res, n) => {
      if (n > 1) json(res, 200, FILE);
    });
    const c = client(s.url, { metadataTimeoutMs: 60_000, connections: 1 });
    expect((await c.stat('a.txt')).size).toBe(3);
    expect(s.requests).toHaveLength(2);
    expect(c.stats.hedges).toEqual({ sent: 1, won: 1 });
    expect(c.stats.retries).toBe(0);
    expect(c.stats.requests.metadata).toMatchObject({ ok: 1, cancelled: 1, timeout: 0 });
  });

  /** An upload server whose begin_upload, part PUT and end each swallow their first request when `swallow` says so. */
  const uploadServer = (swallow: (what: 'begin' | 'part' | 'end') => boolean) => {
    const seen = { begin: 0, part: 0, end: 0 };
    const srv = serve((req, res) => {
      const url = new URL(req.url!, 'http://x');
      const body: Buffer[] = [];
      req.on('data', (b: Buffer) => body.push(b));
      req.on('end', () => {
        const what = url.pathname.startsWith('/api/rest/v1/file_actions/begin_upload/') ? 'begin' : url.pathname.startsWith('/upload/') ? 'part' : 'end';
        if (++seen[what] === 1 && swallow(what)) return; // taken, never answered
        if (what === 'begin') {
          const { part, parts } = JSON.parse(Buffer.concat(body).toString()) as { part: number; parts: number };
          return json(res, 200, Array.from({ length: parts }, (_, i) => ({ part_number: part + i, upload_uri: `${base}/upload/${part + i}`, http_method: 'PUT', ref: 'r-1', parallel_parts: true, retry_parts: true })));
        }
        if (what === 'part') {
          res.writeHead(200, { etag: `"e${url.pathname.split('/').pop()}"` });
          return void res.end();
        }
        json(res, 201, { ...FILE, path: 'a.bin', size: (JSON.parse(Buffer.concat(body).toString()) as { size: number }).size });
      });
    });
    let base = '';
    return srv.then((t) => ((base = t.url), { ...t, seen }));
  };

  it('a one-part upload whose begin_upload, part and end each go unanswered once: each is sent again, none waits for its deadline', async () => {
    const s = await uploadServer(() => true);
    // Deadlines far beyond the test's own timeout: only the early resends can finish it.
    const c = client(s.url, { metadataTimeoutMs: NEVER, stallTimeoutMs: NEVER, retryBaseDelayMs: 1, retryMaxDelayMs: 2 });
    const data = Buffer.alloc(4096, 1);
    expect((await c.upload('a.bin', { buffer: data })).size).toBe(4096);
    expect(s.seen).toEqual({ begin: 2, part: 2, end: 2 });
    // begin_upload and end: resent in place of the first (counted as hedges); the part: its stall watch's patience, then a retry.
    expect(c.stats.hedges).toEqual({ sent: 2, won: 2 });
    expect(c.stats).toMatchObject({ stalls: 1, retries: 1 });
    expect(c.stats.requests.part).toMatchObject({ ok: 1, timeout: 1 });
  });

  it('the end of a multipart upload is not sent twice at once: it waits for its deadline, then is retried', async () => {
    const s = await uploadServer((what) => what === 'end');
    const c = client(s.url, { metadataTimeoutMs: 1_500, stallTimeoutMs: NEVER, retryBaseDelayMs: 1, retryMaxDelayMs: 2 });
    const data = Buffer.alloc(12 * 1024 * 1024, 1);
    expect((await c.upload('a.bin', { buffer: data })).size).toBe(data.length);
    expect(s.seen.end).toBe(2);
    expect(c.stats.hedges.sent).toBe(0);
    expect(c.stats).toMatchObject({ stalls: 1, retries: 1 });
  });
});

describe('no stalled request holds others hostage', () => {
  it('requests for other paths answer while one path stalls', async () => {
    const s = await serve((req, res) => {
      if (req.url!.includes('stuck')) return; // never answers
      json(res, 200, { ...FILE, path: decodeURIComponent(req.url!.split('/').pop()!) });
    });
    const c = client(s.url, { metadataTimeoutMs: 60_000 });
    let stuckSettled = false;
    const stuck = c.stat('stuck.txt').finally(() => (stuckSettled = true)).catch(() => undefined);
    for (let i = 0; i < 20; i++) expect((await c.stat(`other-${i}.txt`)).path).toBe(`other-${i}.txt`);
    await Promise.all(Array.from({ length: 20 }, (_, i) => c.stat(`more-${i}.txt`)));
    expect(stuckSettled).toBe(false);
    await c.close();
    await stuck;
  });

  it('transfers that fill every connection do not delay API calls (a pool of their own)', async () => {
    const s = await serve((req, res) => {
      if (req.url!.startsWith('/api/')) return json(res, 200, { ...FILE, size: 10, download_uri: `${s.url}/blob?X-Amz-Date=20990101T000000Z&X-Amz-Expires=60` });
      // Every transfer stalls.
    });
    const c = client(s.url, { connections: 2, stallTimeoutMs: 60_000 });
    const reads = [c.readRange('a.txt', 0, 1).catch(() => undefined), c.readRange('a.txt', 5, 1).catch(() => undefined)];
    for (let i = 0; i < 10; i++) expect((await c.stat(`x-${i}.txt`)).size).toBe(10);
    expect(s.requests.filter((r) => r.url.startsWith('/blob')).length).toBeGreaterThanOrEqual(2);
    await c.close();
    await Promise.all(reads);
  });
});

describe('a hung server (accepts connections, never answers)', () => {
  it('a metadata call fails within its budget (15 s with the defaults); later calls within one deadline (5 s), without piling up requests', async () => {
    const s = await serve(() => {});
    vi.useFakeTimers(FAKE);
    const c = client(s.url);
    const first = await onVirtualClock(c.stat('a.txt'));
    expect(first.error).toBeInstanceOf(TimeoutError);
    expect(first.ms).toBeLessThanOrEqual(15_000 + 25);
    expect(c.health.state).toBe('unreachable');
    const sentBefore = s.requests.length;

    // While unreachable: one call probes (one request, one deadline), the others wait for it and fail.
    const calls = [c.stat('b.txt'), c.stat('c.txt'), c.stat('d.txt')];
    const later = await onVirtualClock(Promise.allSettled(calls));
    expect(later.ms).toBeLessThanOrEqual(5_000 + 25);
    const errors = later.value!.map((r) => (r.status === 'rejected' ? (r.reason as Error) : undefined));
    expect(errors.filter((e) => e instanceof TimeoutError)).toHaveLength(1);
    expect(errors.filter((e) => e instanceof ServerUnreachableError)).toHaveLength(2);
    expect(errors[1]!.message).toMatch(/the server is unreachable since .+ \(last error: GET \/file_actions\/metadata\/.+: no answer within/);
    expect(s.requests.length - sentBefore).toBe(1);
  });

  it('a listing page and a download URL are bounded the same way', async () => {
    const s = await serve(() => {});
    vi.useFakeTimers(FAKE);
    const c = client(s.url);
    const listing = (async () => {
      for await (const page of c.list('')) void page;
    })();
    const l = await onVirtualClock(listing);
    expect(l.error).toBeInstanceOf(TimeoutError);
    expect(l.ms).toBeLessThanOrEqual(15_000 + 25);
    // Two reads needing download URLs: one probes, the other is refused, and its read does not retry that.
    const r = await onVirtualClock(Promise.allSettled([c.readRange('a.txt', 0, 10), c.readRange('b.txt', 0, 10)]));
    expect(r.ms).toBeLessThanOrEqual(5_000 + 25);
    const reasons = r.value!.map((x) => (x as PromiseRejectedResult).reason as Error);
    expect(reasons.map((e) => e.constructor.name).sort()).toEqual(['DeadlineExceededError', 'ServerUnreachableError']);
  });
});

/** Calls that time out until the client takes the server for unreachable (its failures must span 2 s). */
async function failUntilUnreachable(c: HttpFilesClient): Promise<void> {
  for (let i = 0; i < 20 && c.health.state !== 'unreachable'; i++) {
    await expect(c.stat('a.txt')).rejects.toBeInstanceOf(TimeoutError);
  }
  expect(c.health.state).toBe('unreachable');
}

describe('health', () => {
  it('goes unreachable while the server does not answer, and reachable again when a background probe gets an answer', async () => {
    let up = false;
    const s = await serve((req, res) => {
      if (!up) return;
      if (req.url!.startsWith('/api/rest/v1/folders/')) return json(res, 200, []);
      json(res, 200, FILE);
    });
    const c = client(s.url, { metadataTimeoutMs: 200, retryBaseDelayMs: 1, retryMaxDelayMs: 2 });
    const changes: string[] = [];
    const back = new Promise<void>((resolve) => {
      c.onHealthChange((h) => {
        changes.push(h.state);
        if (h.state === 'reachable') resolve();
      });
    });
    expect(c.health).toMatchObject({ state: 'reachable', since: null, lastError: null });
    await failUntilUnreachable(c);
    expect(c.health).toMatchObject({ state: 'unreachable', lastError: expect.stringMatching(/no answer within/) });
    expect(c.health.since).toBeInstanceOf(Date);
    up = true;
    await back;
    expect(changes).toEqual(['unreachable', 'reachable']);
    expect(s.requests.some((r) => r.url === '/api/rest/v1/folders/?per_page=1')).toBe(true);
    expect((await c.stat('a.txt')).size).toBe(3);
    expect(c.stats.requests.probe.ok).toBeGreaterThanOrEqual(1);
  });

  it('the next request is the probe: it finds the server back at once', async () => {
    let up = false;
    const s = await serve((_req, res) => {
      if (up) json(res, 200, FILE);
    });
    const c = client(s.url, { metadataTimeoutMs: 200, retryBaseDelayMs: 1, retryMaxDelayMs: 2 });
    await failUntilUnreachable(c);
    up = true;
    expect((await c.stat('a.txt')).size).toBe(3);
    expect(c.health.state).toBe('reachable');
    expect(s.requests.length).toBeGreaterThan(0);
  });
});

describe('credentials fixed while running', () => {
  const OLD = 'revokedKey0001';
  const NEW = 'replacedKey0002';
  const keyServer = () =>
    serve((req, res) => {
      if (req.headers['x-filesapi-key'] === NEW) return json(res, 200, FILE);
      // A server that echoes what it was sent: the key must not reach an error message.
      json(res, 401, { type: 'not-authenticated/invalid-credentials', error: `Invalid key ${String(req.headers['x-filesapi-key'])}` });
    });
  const keyFile = (key: string) => {
    const dir = mkdtempSync(join(process.env.FILESFS_TEST_ROOT ?? tmpdir(), 'key-'));
    const file = join(dir, 'key');
    writeFileSync(file, key + '\n', { mode: 0o600 });
    return file;
  };

  it('a 401 re-reads the key file; a new key is used at once, for every call refused meanwhile, read once', async () => {
    const s = await keyServer();
    const file = keyFile(OLD);
    let reads = 0;
    const lines: string[] = [];
    const c = client(s.url, {
      credentials: { apiKey: OLD },
      credentialsSource: () => {
        reads++;
        return { apiKey: readFileSync(file, 'utf8').trim() };
      },
      logger: createLogger({ level: 'trace', sink: (line) => lines.push(line) }),
    });
    writeFileSync(file, NEW + '\n');
    const entries = await Promise.all(Array.from({ length: 5 }, () => c.stat('a.txt')));
    expect(entries.map((e) => e.size)).toEqual([3, 3, 3, 3, 3]);
    expect(reads).toBe(1);
    expect(s.requests.filter((r) => r.key === OLD)).toHaveLength(5);
    expect(s.requests.filter((r) => r.key === NEW)).toHaveLength(5);
    // And from then on, the new key only.
    await c.stat('a.txt');
    expect(s.requests.at(-1)!.key).toBe(NEW);
    expect(lines.some((l) => l.includes('API key refused; using the new key'))).toBe(true);
    for (const line of lines) {
      expect(line).not.toContain(OLD);
      expect(line).not.toContain(NEW);
    }
  });

  it('the same key in the file: NotAuthenticatedError as before, one request, no key in the message', async () => {
    const s = await keyServer();
    const file = keyFile(OLD);
    const c = client(s.url, { credentials: { apiKey: OLD }, credentialsSource: () => ({ apiKey: readFileSync(file, 'utf8').trim() }) });
    const err = await c.stat('a.txt').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(NotAuthenticatedError);
    expect((err as Error).message).not.toContain(OLD);
    expect((err as Error).message).toContain('[redacted]');
    expect(s.requests).toHaveLength(1);
  });

  it('a session logs in again with the password the source gives now', async () => {
    let password = 'firstPass001';
    const sessions = new Set<string>();
    let logins = 0;
    const s = await serve((req, res) => {
      if (req.url === '/api/rest/v1/sessions' && req.method === 'POST') {
        const chunks: Buffer[] = [];
        req.on('data', (c: Buffer) => chunks.push(c));
        req.on('end', () => {
          const body = JSON.parse(Buffer.concat(chunks).toString()) as { password: string };
          if (body.password !== password) return json(res, 401, { type: 'not-authenticated/invalid-username-or-password', error: 'Invalid username or password' });
          const id = `session${++logins}abc`;
          sessions.add(id);
          json(res, 201, { id });
        });
        return;
      }
      if (!sessions.has(String(req.headers['x-filesapi-auth']))) return json(res, 401, { type: 'not-authenticated/invalid-session', error: 'Invalid session' });
      json(res, 200, FILE);
    });
    let current = 'firstPass001';
    const c = client(s.url, { credentials: { username: 'u', password: current }, credentialsSource: () => ({ username: 'u', password: current }) });
    expect((await c.stat('a.txt')).size).toBe(3);
    // The password is changed and every session revoked; the source knows the new password.
    password = current = 'secondPass002';
    sessions.clear();
    expect((await c.stat('a.txt')).size).toBe(3);
    expect(logins).toBe(2);
  });

  it('a source that fails leaves the 401 as it is', async () => {
    const s = await keyServer();
    const c = client(s.url, {
      credentials: { apiKey: OLD },
      credentialsSource: () => {
        throw new Error('--api-key-file /nowhere: no such file');
      },
    });
    await expect(c.stat('a.txt')).rejects.toBeInstanceOf(NotAuthenticatedError);
    expect(s.requests).toHaveLength(1);
  });
});
