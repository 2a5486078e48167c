// Edges the emulator does not produce: an empty page that still has a cursor,
// a repeated cursor, migrations that pend, fail or never finish, and range
// answers that reveal a changed file.
import { afterEach, describe, expect, it } from 'vitest';
import { HttpFilesClient } from '../../src/client/http-files-client.js';
import { ContentChangedError, ProcessingFailureError, ServerError, TimeoutError } from '../../src/client/errors.js';
import { sendJson, startFixture, type Fixture, type Handler } from './fixture-server.js';

const fixtures: Fixture[] = [];
const clients: HttpFilesClient[] = [];
afterEach(async () => {
  for (const c of clients.splice(0)) await c.close();
  for (const f of fixtures.splice(0)) await f.close();
});

async function setup(handler: Handler, extra: Partial<ConstructorParameters<typeof HttpFilesClient>[0]> = {}) {
  const f = await startFixture(handler);
  fixtures.push(f);
  const client = new HttpFilesClient({ baseUrl: f.url, credentials: { apiKey: 'fixtureKey123' }, logLevel: 'silent', retryBaseDelayMs: 1, retryMaxDelayMs: 2, ...extra });
  clients.push(client);
  return { f, client };
}

const entry = (path: string, type = 'file') => ({ path, type, size: type === 'file' ? 1 : null, mtime: '2024-01-01T00:00:00Z' });

describe('paging edges', () => {
  it('keeps paging through an empty page that carries a cursor, and stops without one', async () => {
    const { f, client } = await setup((req, res) => {
      const cursor = new URL(req.url, 'http://x').searchParams.get('cursor');
      if (!cursor) return sendJson(res, 200, [entry('d/a')], { 'x-files-cursor': 'c1' });
      if (cursor === 'c1') return sendJson(res, 200, [], { 'x-files-cursor': 'c2' });
      return sendJson(res, 200, [entry('d/b')], { 'x-files-cursor-prev': 'p' });
    });
    const pages: string[][] = [];
    for await (const page of client.list('d', { perPage: 1 })) pages.push(page.map((e) => e.path));
    expect(pages).toEqual([['d/a'], ['d/b']]);
    expect(f.requests.map((r) => r.url)).toEqual(['/api/rest/v1/folders/d?per_page=1', '/api/rest/v1/folders/d?per_page=1&cursor=c1', '/api/rest/v1/folders/d?per_page=1&cursor=c2']);
  });

  it('fails when the server repeats a cursor instead of looping', async () => {
    const { client } = await setup((_req, res) => sendJson(res, 200, [entry('d/a')], { 'x-files-cursor': 'same' }));
    const seen: string[] = [];
    await expect((async () => { for await (const page of client.list('d')) seen.push(...page.map((e) => e.path)); })()).rejects.toThrow(/same page cursor twice/);
    expect(seen).toEqual(['d/a', 'd/a']);
  });
});

describe('file migrations', () => {
  it('polls until completed, with growing pauses', async () => {
    let polls = 0;
    const { f, client } = await setup((req, res) => {
      if (req.method === 'POST') return sendJson(res, 201, { status: 'pending', file_migration_id: 77 });
      polls++;
      sendJson(res, 200, { id: 77, status: polls < 3 ? (polls === 1 ? 'pending' : 'in_progress') : 'completed' });
    });
    const started = performance.now();
    await client.move('a', 'b');
    expect(polls).toBe(3);
    expect(performance.now() - started).toBeGreaterThanOrEqual(100 + 200 - 20);
    expect(f.requests[0]).toMatchObject({ method: 'POST', url: '/api/rest/v1/file_actions/move/a' });
    expect(JSON.parse(f.requests[0]!.body.toString())).toEqual({ destination: 'b' });
    expect(f.requests[1]!.url).toBe('/api/rest/v1/file_migrations/77');
  });

  it("a failed migration is a ProcessingFailureError with the server's message", async () => {
    const { client } = await setup((req, res) => {
      if (req.method === 'POST') return sendJson(res, 201, { status: 'pending', file_migration_id: 5 });
      sendJson(res, 200, { id: 5, status: 'failed', failure_message: 'Destination folder is locked' });
    });
    const err = await client.copy('a', 'b', { overwrite: true }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ProcessingFailureError);
    expect((err as Error).message).toBe('copy a → b: Destination folder is locked');
  });

  it('gives up after the migration time limit', async () => {
    const { client } = await setup((req, res) => {
      if (req.method === 'POST') return sendJson(res, 201, { status: 'pending', file_migration_id: 9 });
      sendJson(res, 200, { id: 9, status: 'in_progress' });
    }, { migrationTimeoutMs: 400 });
    const started = performance.now();
    await expect(client.move('a', 'b')).rejects.toBeInstanceOf(TimeoutError);
    expect(performance.now() - started).toBeLessThan(1_000);
  });

  it('a completed action needs no polling', async () => {
    const { f, client } = await setup((_req, res) => sendJson(res, 201, { status: 'completed' }));
    await client.move('a', 'b', { overwrite: true });
    expect(f.requests).toHaveLength(1);
    expect(JSON.parse(f.requests[0]!.body.toString())).toEqual({ destination: 'b', overwrite: true });
  });
});

describe('range answers that reveal a changed file', () => {
  /** GET /files says 10 bytes; the URL then answers with `answer`. */
  async function rangeServer(answer: (n: number) => { status: number; headers: Record<string, string>; body: string }) {
    let n = 0;
    return setup((req, res) => {
      if (req.url.startsWith('/api/')) return sendJson(res, 200, { ...entry('f'), size: 10, download_uri: `http://${req.headers.host}/blob?X-Amz-Date=20990101T000000Z&X-Amz-Expires=60` });
      const a = answer(++n);
      res.writeHead(a.status, a.headers);
      res.end(a.body);
    });
  }

  it('a Content-Range total other than the size is ContentChangedError, and the URL is forgotten', async () => {
    const { f, client } = await rangeServer(() => ({ status: 206, headers: { 'content-range': 'bytes 0-1/12' }, body: 'ab' }));
    await expect(client.readRange('f', 0, 2)).rejects.toBeInstanceOf(ContentChangedError);
    await expect(client.readRange('f', 0, 2)).rejects.toBeInstanceOf(ContentChangedError);
    expect(f.requests.filter((r) => r.url.startsWith('/api/'))).toHaveLength(2);
  });

  it('an ETag that changes between ranges is ContentChangedError', async () => {
    const { client } = await rangeServer((n) => ({ status: 206, headers: { 'content-range': `bytes ${(n - 1) * 2}-${(n - 1) * 2 + 1}/10`, etag: n === 1 ? '"v1"' : '"v2"' }, body: 'xy' }));
    expect((await client.readRange('f', 0, 2)).toString()).toBe('xy');
    const err = await client.readRange('f', 2, 2).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ContentChangedError);
    expect(err).toMatchObject({ kind: 'processing-failure', type: 'filesfs/content-changed' });
  });

  it('a 416 is an empty read, unless its total shows another size', async () => {
    const same = await rangeServer(() => ({ status: 416, headers: { 'content-range': 'bytes */10' }, body: '' }));
    expect(await same.client.readRange('f', 4, 2)).toHaveLength(0);
    const other = await rangeServer(() => ({ status: 416, headers: { 'content-range': 'bytes */3' }, body: '' }));
    await expect(other.client.readRange('f', 4, 2)).rejects.toBeInstanceOf(ContentChangedError);
  });

  it('a 206 for other bytes than asked is a server error, a 200 for a range is cut to the range', async () => {
    const wrong = await rangeServer(() => ({ status: 206, headers: { 'content-range': 'bytes 4-5/10' }, body: 'ef' }));
    await expect(wrong.client.readRange('f', 0, 2)).rejects.toBeInstanceOf(ServerError);
    const whole = await rangeServer(() => ({ status: 200, headers: { 'content-length': '10' }, body: '0123456789' }));
    expect((await whole.client.readRange('f', 3, 4)).toString()).toBe('3456');
    expect((await whole.client.readRange('f', 8, 100)).toString()).toBe('89');
  });
});

describe('stream resumption', () => {
  it('a transfer cut in the middle resumes from the first missing byte, under the same version checks', async () => {
    const content = Buffer.from('abcdefghijklmnopqrstuvwxyz');
    let data = 0;
    const { f, client } = await setup((req, res, raw) => {
      if (req.url.startsWith('/api/')) return sendJson(res, 200, { ...entry('f'), size: content.length, download_uri: `http://${req.headers.host}/blob?X-Amz-Date=20990101T000000Z&X-Amz-Expires=60` });
      data++;
      const m = /bytes=(\d+)-(\d+)?/.exec(String(req.headers.range ?? ''));
      const from = m ? Number(m[1]) : 0;
      const to = m?.[2] !== undefined ? Number(m[2]) : content.length - 1;
      res.writeHead(from === 0 && !m ? 200 : 206, { 'content-length': String(to - from + 1), ...(m ? { 'content-range': `bytes ${from}-${to}/${content.length}` } : {}), etag: '"v1"' });
      if (data === 1) {
        // Send 10 bytes, then drop the connection.
        res.write(content.subarray(from, from + 10), () => setTimeout(() => raw.socket.destroy(), 20));
        return;
      }
      res.end(content.subarray(from, to + 1));
    });
    let text = '';
    for await (const chunk of await client.createReadStream('f', { offset: 2 })) text += chunk;
    expect(text).toBe('cdefghijklmnopqrstuvwxyz');
    const ranges = f.requests.filter((r) => !r.url.startsWith('/api/')).map((r) => r.headers.range);
    expect(ranges).toEqual(['bytes=2-25', 'bytes=12-25']);
  });
});

describe('retried calls whose first attempt may have worked', () => {
  /** First answer to `method path-prefix` is a 500 (as if the work was done and the answer lost), later ones `then`. */
  function flaky(prefix: string, then: { status: number; body: unknown }, others: Handler): Handler {
    let first = true;
    return (req, res, raw) => {
      if (`${req.method} ${req.url}`.startsWith(prefix)) {
        if (first) {
          first = false;
          return sendJson(res, 500, { error: 'lost answer' });
        }
        return sendJson(res, then.status, then.body);
      }
      return others(req, res, raw);
    };
  }
  const notFound = { status: 404, body: { type: 'not-found', error: 'Not Found' } };
  const missing: Handler = (_req, res) => sendJson(res, 404, { type: 'not-found' });

  it('delete: not-found on the retry means deleted', async () => {
    const { f, client } = await setup(flaky('DELETE /api/rest/v1/files/x', notFound, missing));
    await client.delete('x');
    expect(f.requests).toHaveLength(2);
  });

  it('move: source not-found on the retry, destination present, means moved', async () => {
    const { client } = await setup(flaky('POST /api/rest/v1/file_actions/move/a', notFound, (req, res) =>
      req.url === '/api/rest/v1/file_actions/metadata/b' ? sendJson(res, 200, entry('b')) : sendJson(res, 404, { type: 'not-found' })));
    await client.move('a', 'b');
  });

  it('move: source not-found on the retry and no destination is still not-found', async () => {
    const { client } = await setup(flaky('POST /api/rest/v1/file_actions/move/a', notFound, missing));
    await expect(client.move('a', 'b')).rejects.toMatchObject({ kind: 'not-found' });
  });

  it('copy: destination-exists on the retry means copied', async () => {
    const { client } = await setup(flaky('POST /api/rest/v1/file_actions/copy/a', { status: 422, body: { type: 'processing-failure/destination-exists' } }, missing));
    await client.copy('a', 'b');
  });

  it('upload end: upload-not-found on the retry plus a stat with our size and time means done', async () => {
    const mtime = new Date('2003-03-03T03:03:03.500Z');
    const handler: Handler = (req, res) => {
      const url = new URL(req.url, 'http://x');
      if (url.pathname.startsWith('/api/rest/v1/file_actions/begin_upload/')) {
        return sendJson(res, 200, [{ part_number: 1, upload_uri: `http://${req.headers.host}/part/1`, http_method: 'PUT', ref: 'put-9' }]);
      }
      if (url.pathname === '/part/1') {
        res.writeHead(200, { etag: '"e"' });
        return res.end();
      }
      if (url.pathname === '/api/rest/v1/file_actions/metadata/f.txt') {
        return sendJson(res, 200, { ...entry('f.txt'), size: 3, provided_mtime: '2003-03-03T03:03:03Z' });
      }
      return sendJson(res, 404, { type: 'not-found' });
    };
    const { f, client } = await setup(flaky('POST /api/rest/v1/files/f.txt', { status: 404, body: { type: 'not-found/file-upload-not-found' } }, handler));
    const got = await client.upload('f.txt', { buffer: Buffer.from('abc') }, { mtime });
    expect(got).toMatchObject({ path: 'f.txt', size: 3 });
    expect(f.requests.filter((r) => r.url === '/api/rest/v1/files/f.txt')).toHaveLength(2);
    // A different size on the server is not ours: the error stands.
    const other = await setup(flaky('POST /api/rest/v1/files/f.txt', { status: 404, body: { type: 'not-found/file-upload-not-found' } }, handler));
    await expect(other.client.upload('f.txt', { buffer: Buffer.from('abcd') })).rejects.toMatchObject({ kind: 'not-found' });
  });
});
