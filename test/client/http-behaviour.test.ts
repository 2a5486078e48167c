// One behaviour each, against tiny local HTTP fixtures (not an emulator): a
// server that never answers, a 429 with Retry-After, a 401, a reset, an
// uncertain mkdir, the headers sent to the API and to a presigned URL.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { HttpFilesClient } from '../../src/client/http-files-client.js';
import { NotAuthenticatedError, RateLimitedError, TimeoutError } from '../../src/client/errors.js';
import { USER_AGENT } from '../../src/version.js';

type Handler = (req: IncomingMessage, res: ServerResponse, body: string) => void;

const servers: Server[] = [];
const clients: HttpFilesClient[] = [];

async function fixture(handler: Handler): Promise<{ url: string; requests: { method: string; url: string; headers: IncomingMessage['headers'] }[] }> {
  const requests: { method: string; url: string; headers: IncomingMessage['headers'] }[] = [];
  const sockets = new Set<Socket>();
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      requests.push({ method: req.method!, url: req.url!, headers: req.headers });
      handler(req, res, Buffer.concat(chunks).toString());
    });
  });
  server.on('connection', (s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  (server as Server & { sockets?: Set<Socket> }).sockets = sockets;
  servers.push(server);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, requests };
}

function client(url: string, extra: Partial<ConstructorParameters<typeof HttpFilesClient>[0]> = {}): HttpFilesClient {
  const c = new HttpFilesClient({ baseUrl: url, credentials: { apiKey: 'fixtureKey123' }, logLevel: 'silent', ...extra });
  clients.push(c);
  return c;
}

const json = (res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}) => {
  res.writeHead(status, { 'content-type': 'application/json', ...headers });
  res.end(JSON.stringify(body));
};
const FILE = { path: 'a.txt', display_name: 'a.txt', type: 'file', size: 3, mtime: '2024-05-30T15:30:59Z' };

afterEach(async () => {
  for (const c of clients.splice(0)) await c.close().catch(() => undefined);
  for (const s of servers.splice(0)) {
    for (const sock of (s as Server & { sockets: Set<Socket> }).sockets) sock.destroy();
    await new Promise((r) => s.close(r));
  }
});

// undici runs its header/body timers on 0.5 s ticks ("fast timers"), so a
// timeout fires between T and about T + 1 s; the bounds below allow that.
const TIMER_SLACK_MS = 1_200;

describe('timeouts', () => {
  it('a server that never answers fails with TimeoutError: the request and its hedge, each stopped by the deadline', async () => {
    const { url, requests } = await fixture(() => { /* never answers */ });
    // The outer request timeout is below the metadata deadline: it is the deadline.
    const c = client(url, { requestTimeoutMs: 400, retries: 0 });
    const err = await c.stat('a.txt').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(TimeoutError);
    expect((err as TimeoutError).message).toMatch(/^GET \/file_actions\/metadata\/a\.txt: no answer within \d+ ms$/);
    expect(requests).toHaveLength(2);
    expect(c.stats.hedges).toEqual({ sent: 1, won: 0 });
    expect(c.stats.requests.metadata.timeout).toBe(2);
  });

  it('retries a stall within the call budget (three first deadlines), then gives up', async () => {
    const { url, requests } = await fixture(() => {});
    const c = client(url, { requestTimeoutMs: 300, retries: 5, retryBaseDelayMs: 10, retryMaxDelayMs: 20 });
    const err = await c.stat('a.txt').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(TimeoutError);
    expect((err as TimeoutError).message).toMatch(/no answer within \d+ ms/);
    // Attempts of 300 ms, then up to 600 ms cut to what is left of 900 ms: never all 6.
    expect(c.stats.retries).toBeGreaterThanOrEqual(1);
    expect(c.stats.retries).toBeLessThan(5);
    expect(requests.length).toBeLessThanOrEqual(2 * (c.stats.retries + 1));
  });
});

describe('a body that stops', () => {
  it('readRange and createReadStream fail with TimeoutError when the body stalls', async () => {
    let origin = '';
    const { url } = await fixture((req, res) => {
      if (req.url!.startsWith('/api/')) return json(res, 200, { ...FILE, size: 100, download_uri: `${origin}/blob?X-Amz-Date=20990101T000000Z&X-Amz-Expires=60` });
      res.writeHead(206, { 'content-range': 'bytes 0-99/100', 'content-length': '100' });
      res.write(Buffer.alloc(10)); // … and nothing more
    });
    origin = url;
    const c = client(url, { requestTimeoutMs: 400, retries: 0 });
    let started = performance.now();
    await expect(c.readRange('a.txt', 0, 100)).rejects.toBeInstanceOf(TimeoutError);
    expect(performance.now() - started).toBeLessThan(400 + TIMER_SLACK_MS);
    started = performance.now();
    const stream = await c.createReadStream('a.txt');
    await expect((async () => { for await (const _ of stream) void _; })()).rejects.toBeInstanceOf(TimeoutError);
    expect(performance.now() - started).toBeLessThan(400 + TIMER_SLACK_MS);
  });
});

describe('retries', () => {
  it('waits the Retry-After of a 429 before trying again (measured)', async () => {
    let n = 0;
    const { url, requests } = await fixture((_req, res) => {
      if (n++ === 0) json(res, 429, { type: 'rate-limited/too-many-requests', error: 'slow down' }, { 'retry-after': '1' });
      else json(res, 200, FILE);
    });
    const c = client(url, { retryBaseDelayMs: 10, retryMaxDelayMs: 20 });
    const started = performance.now();
    expect((await c.stat('a.txt')).size).toBe(3);
    expect(performance.now() - started).toBeGreaterThanOrEqual(990);
    expect(requests).toHaveLength(2);
  });

  it('surfaces a persistent 429 as RateLimitedError after the retries', async () => {
    const { url, requests } = await fixture((_req, res) => json(res, 429, { type: 'rate-limited' }, { 'retry-after': '0' }));
    const c = client(url, { retries: 2 });
    await expect(c.stat('a.txt')).rejects.toBeInstanceOf(RateLimitedError);
    expect(requests).toHaveLength(3);
  });

  it('a 401 with an API key fails at once, without retries', async () => {
    const { url, requests } = await fixture((_req, res) => json(res, 401, { type: 'not-authenticated/invalid-credentials', error: 'Invalid key' }));
    const c = client(url);
    const started = performance.now();
    await expect(c.stat('a.txt')).rejects.toBeInstanceOf(NotAuthenticatedError);
    expect(performance.now() - started).toBeLessThan(300);
    expect(requests).toHaveLength(1);
  });

  it('retries a connection reset', async () => {
    let n = 0;
    const { url, requests } = await fixture((req, res) => {
      if (n++ === 0) req.socket.destroy();
      else json(res, 200, FILE);
    });
    const c = client(url, { retryBaseDelayMs: 1, retryMaxDelayMs: 2 });
    expect((await c.stat('a.txt')).path).toBe('a.txt');
    expect(requests).toHaveLength(2);
  });

  it('mkdir: destination-exists after an uncertain attempt is success, but not on a first attempt', async () => {
    let n = 0;
    const folder = { path: 'd', type: 'directory', size: null, mtime: '2024-05-30T15:30:59Z' };
    const { url, requests } = await fixture((req, res) => {
      if (req.method === 'GET') return json(res, 200, folder);
      if (n++ === 0) return json(res, 500, { error: 'oops' }); // created, but the answer was lost
      json(res, 422, { type: 'processing-failure/destination-exists', error: 'The destination exists.' });
    });
    const c = client(url, { retryBaseDelayMs: 1, retryMaxDelayMs: 2 });
    expect((await c.mkdir('d')).type).toBe('directory');
    expect(requests.map((r) => `${r.method} ${r.url}`)).toEqual(['POST /api/rest/v1/folders/d', 'POST /api/rest/v1/folders/d', 'GET /api/rest/v1/file_actions/metadata/d']);
    await expect(c.mkdir('d')).rejects.toMatchObject({ kind: 'destination-exists' });
  });
});

describe('source address', () => {
  it('binds outgoing connections to sourceIp', async () => {
    const { url } = await fixture((req, res) => json(res, 200, { ...FILE, path: req.socket.remoteAddress }));
    const c = client(url, { sourceIp: '127.0.0.2' });
    expect((await c.stat('a.txt')).path).toBe('127.0.0.2');
  });
});

describe('headers', () => {
  it('sends auth and User-Agent to the API only, never to the presigned URL', async () => {
    let origin = '';
    const { url, requests } = await fixture((req, res) => {
      if (req.url!.startsWith('/api/rest/v1/files/')) return json(res, 200, { ...FILE, download_uri: `${origin}/blob?X-Amz-Date=20990101T000000Z&X-Amz-Expires=60` });
      res.writeHead(206, { 'content-range': 'bytes 1-2/3', 'content-length': '2', etag: '"e1"' });
      res.end('bc');
    });
    origin = url;
    const c = client(url);
    expect((await c.readRange('a.txt', 1, 5)).toString()).toBe('bc');
    const [api, data] = requests;
    expect(api!.headers['x-filesapi-key']).toBe('fixtureKey123');
    expect(api!.headers['user-agent']).toBe(USER_AGENT);
    expect(api!.headers.accept).toBe('application/json');
    expect(data!.headers['x-filesapi-key']).toBeUndefined();
    expect(data!.headers['x-filesapi-auth']).toBeUndefined();
    expect(data!.headers.range).toBe('bytes=1-2');
  });
});
