// The upload protocol against a scripted server: batches of part URLs,
// bounded parallelism, parallel_parts: false, a refused part URL refreshed
// alone, retry_parts: false restarting the upload, and what `end` carries.
import { afterEach, describe, expect, it } from 'vitest';
import { Readable } from 'node:stream';
import { HttpFilesClient } from '../../src/client/http-files-client.js';
import { MIB } from '../../src/client/part-size.js';
import { sendJson, startFixture, type Fixture, type Recorded } from './fixture-server.js';

const fixtures: Fixture[] = [];
const clients: HttpFilesClient[] = [];
afterEach(async () => {
  for (const c of clients.splice(0)) await c.close();
  for (const f of fixtures.splice(0)) await f.close();
});

interface Script {
  parallel?: boolean;
  retryParts?: boolean;
  /** Answer for a part PUT; default 200 with an ETag. */
  put?: (part: number, attempt: number, req: Recorded) => { status: number } | undefined;
  putDelayMs?: number;
}

/** A server speaking just enough of §5 to upload, recording what the client does. */
async function uploadServer(script: Script = {}) {
  let active = 0;
  let maxActive = 0;
  let refs = 0;
  const attempts = new Map<string, number>();
  const putOrder: number[] = [];
  const f = await startFixture(async (req, res) => {
    const url = new URL(req.url, 'http://x');
    if (url.pathname.startsWith('/api/rest/v1/file_actions/begin_upload/')) {
      const body = JSON.parse(req.body.toString()) as { ref?: string; part: number; parts: number };
      const ref = body.ref ?? `put-${++refs}`;
      const parts = Array.from({ length: body.parts }, (_, i) => ({
        part_number: body.part + i,
        upload_uri: `${f.url}/upload/${ref}/${body.part + i}?X-Amz-Date=20990101T000000Z&X-Amz-Expires=900&gen=${Date.now()}`,
        http_method: 'PUT',
        headers: {},
        parameters: {},
        ref,
        parallel_parts: script.parallel ?? true,
        retry_parts: script.retryParts ?? true,
        partsize: 5 * MIB,
      }));
      return sendJson(res, 200, parts);
    }
    if (url.pathname.startsWith('/upload/')) {
      const [, , ref, partText] = url.pathname.split('/');
      const part = Number(partText);
      const key = `${ref}/${part}`;
      const attempt = (attempts.get(key) ?? 0) + 1;
      attempts.set(key, attempt);
      active++;
      maxActive = Math.max(maxActive, active);
      putOrder.push(part);
      await new Promise((r) => setTimeout(r, script.putDelayMs ?? 5));
      active--;
      const override = script.put?.(part, attempt, req);
      if (override) {
        res.writeHead(override.status);
        return res.end();
      }
      res.writeHead(200, { etag: `"etag-${part}-${req.body.length}"` });
      return res.end();
    }
    if (url.pathname.startsWith('/api/rest/v1/files/')) {
      const body = JSON.parse(req.body.toString()) as { size: number };
      return sendJson(res, 201, { path: decodeURIComponent(url.pathname.slice('/api/rest/v1/files/'.length)), type: 'file', size: body.size, mtime: '2024-01-01T00:00:00Z' });
    }
    sendJson(res, 404, { type: 'not-found' });
  });
  fixtures.push(f);
  const client = new HttpFilesClient({ baseUrl: f.url, credentials: { apiKey: 'fixtureKey123' }, logLevel: 'silent', partConcurrency: 3, retryBaseDelayMs: 1, retryMaxDelayMs: 2 });
  clients.push(client);
  const of = (prefix: string) => f.requests.filter((r) => r.url.startsWith(prefix));
  return { f, client, stats: () => ({ maxActive, putOrder, begins: of('/api/rest/v1/file_actions/begin_upload/'), puts: of('/upload/'), ends: of('/api/rest/v1/files/') }) };
}

const data = (size: number) => Buffer.alloc(size, 7);

describe('upload protocol', () => {
  it('asks for URLs in batches, keeps at most partConcurrency parts in flight, and ends with etags, size and mtime', async () => {
    const { client, stats } = await uploadServer({ putDelayMs: 150 });
    const entry = await client.upload('dir/file.bin', { buffer: data(21 * MIB + 5) }, { mtime: new Date('2001-02-03T04:05:06Z'), mkdirParents: false });
    expect(entry.size).toBe(21 * MIB + 5);
    const s = stats();
    expect(s.puts).toHaveLength(5);
    expect(s.puts.map((p) => p.body.length).sort((a, b) => a - b)).toEqual([MIB + 5, 5 * MIB, 5 * MIB, 5 * MIB, 5 * MIB]);
    expect(s.maxActive).toBe(3);
    expect(s.begins).toHaveLength(1); // one batch of up to 4 × partConcurrency URLs
    expect(JSON.parse(s.begins[0]!.body.toString())).toEqual({ part: 1, parts: 5, mkdir_parents: false, size: 21 * MIB + 5 });
    for (const p of s.puts) {
      expect(p.headers['x-filesapi-key']).toBeUndefined();
      expect(p.headers['content-type']).toBe('application/octet-stream');
    }
    expect(JSON.parse(s.ends[0]!.body.toString())).toEqual({
      action: 'end', ref: 'put-1', size: 21 * MIB + 5, mkdir_parents: false, provided_mtime: '2001-02-03T04:05:06.000Z',
      etags: [1, 2, 3, 4, 5].map((part) => ({ part, etag: `etag-${part}-${part === 5 ? MIB + 5 : 5 * MIB}` })),
    });
  });

  it('continues with ref + part + parts for later batches', async () => {
    const { client, stats } = await uploadServer();
    await client.upload('many.bin', { buffer: data(14 * 5 * MIB) });
    const bodies = stats().begins.map((b) => JSON.parse(b.body.toString()) as Record<string, unknown>);
    expect(bodies).toEqual([
      { part: 1, parts: 12, mkdir_parents: true, size: 14 * 5 * MIB },
      { part: 13, parts: 2, mkdir_parents: true, ref: 'put-1' },
    ]);
  });

  it('with parallel_parts: false sends one part at a time, in order', async () => {
    const { client, stats } = await uploadServer({ parallel: false });
    await client.upload('seq.bin', { stream: Readable.from([data(12 * MIB)]) });
    expect(stats().maxActive).toBe(1);
    expect(stats().putOrder).toEqual([1, 2, 3]);
  });

  it('a refused part URL is replaced for that part alone; a 500 is retried alone', async () => {
    const { client, stats } = await uploadServer({ put: (part, attempt) => (part === 2 && attempt === 1 ? { status: 403 } : part === 3 && attempt === 1 ? { status: 500 } : undefined) });
    await client.upload('refresh.bin', { buffer: data(11 * MIB) });
    const s = stats();
    expect(s.puts.map((p) => new URL(p.url, 'http://x').pathname).sort()).toEqual(['/upload/put-1/1', '/upload/put-1/2', '/upload/put-1/2', '/upload/put-1/3', '/upload/put-1/3']);
    expect(s.begins.map((b) => JSON.parse(b.body.toString()) as Record<string, unknown>)).toEqual([
      { part: 1, parts: 3, mkdir_parents: true, size: 11 * MIB },
      { part: 2, parts: 1, mkdir_parents: true, ref: 'put-1' },
    ]);
    expect(s.ends).toHaveLength(1);
  });

  it('with retry_parts: false a failed part restarts the whole upload (sources that can be read again)', async () => {
    let failed = false;
    const { client, stats } = await uploadServer({ retryParts: false, put: (part) => (part === 2 && !failed ? ((failed = true), { status: 500 }) : undefined) });
    await client.upload('restart.bin', { buffer: data(11 * MIB) });
    const s = stats();
    expect(s.begins.map((b) => (JSON.parse(b.body.toString()) as { ref?: string }).ref)).toEqual([undefined, undefined]);
    expect(JSON.parse(s.ends[0]!.body.toString())).toMatchObject({ ref: 'put-2' });
  });

  it('uploads a 0-byte file as one empty part', async () => {
    const { client, stats } = await uploadServer();
    expect((await client.upload('empty', { buffer: new Uint8Array() })).size).toBe(0);
    expect(stats().puts.map((p) => p.body.length)).toEqual([0]);
    expect(JSON.parse(stats().ends[0]!.body.toString())).toMatchObject({ size: 0, etags: [{ part: 1, etag: 'etag-1-0' }] });
  });

  it('a declared stream size that does not match fails before end', async () => {
    const { client, stats } = await uploadServer();
    await expect(client.upload('short', { stream: Readable.from([data(100)]), size: 200 })).rejects.toThrow(/gave 100 bytes, 200 were declared/);
    await expect(client.upload('long', { stream: Readable.from([data(300)]), size: 200 })).rejects.toThrow(/longer than the declared 200/);
    expect(stats().ends).toHaveLength(0);
  });
});
