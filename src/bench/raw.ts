// "raw": the same transfers without FUSE and without filesfs's layers, as bare
// HTTP requests against the same emulator: the limit a Node program can
// reach. Written with undici's request() (the HTTP library filesfs's client
// is built on), one keep-alive pool per origin, and the same concurrency
// filesfs uses for the same work:
//   - upload: begin_upload for all parts at once, 5 MiB parts (the server's
//     part size) read from the file with positioned reads, PUT 8 at a time
//     (the client's partConcurrency), then end;
//   - sequential download: 8 MiB range requests, 4 in flight (filesfs's
//     read-ahead: a 32 MiB window of 8 MiB requests), bodies counted and dropped;
//   - random reads: one 4 KiB range request at a time (queue depth 1, as fio);
//   - many small files: the API calls each file needs, N files at a time;
//   - listing: pages of per_page entries, following X-Files-Cursor.
// It is also the benchmark's seeding tool (fixtures straight through the API).
import { open, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Agent, request, type Dispatcher } from 'undici';
import { MiB } from './units.js';

/** Keep-alive connections per origin: filesfs's client default (src/config/client-options.ts). */
export const RAW_CONNECTIONS = 16;
/** Parts of one upload in flight: filesfs's client default (partConcurrency). */
export const RAW_PART_CONCURRENCY = 8;
/** The emulator's (and Files.com's) part size: every part but the last has it. */
export const RAW_PART_SIZE = 5 * MiB;
/** filesfs's read path: largest range request, and requests in flight in a full read-ahead window (32 MiB / 8 MiB). */
export const RAW_RANGE_SIZE = 8 * MiB;
export const RAW_RANGES_IN_FLIGHT = 4;

export const RAW_METHOD = 'undici request(): begin_upload + 5 MiB part PUTs 8 at a time + end; 8 MiB range GETs 4 in flight; 4 KiB range GETs at queue depth 1; small files and listings with the API calls each needs';

interface PartSlot {
  upload_uri: string;
  part_number: number;
  ref: string;
}

export function encodePath(path: string): string {
  return path.split('/').filter(Boolean).map(encodeURIComponent).join('/');
}

/** Runs `work` over `items` with at most `concurrency` at once; rejects on the first failure. */
export async function eachLimit<T>(items: readonly T[], concurrency: number, work: (item: T, index: number) => Promise<void>): Promise<void> {
  let next = 0;
  let failed = false;
  const worker = async (): Promise<void> => {
    while (!failed && next < items.length) {
      const i = next++;
      try {
        await work(items[i]!, i);
      } catch (err) {
        failed = true;
        throw err;
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, items.length) }, worker));
}

export class RawHttp {
  private readonly agent: Dispatcher;

  constructor(private readonly baseUrl: string, private readonly apiKey: string, connections = RAW_CONNECTIONS) {
    this.agent = new Agent({ connections, keepAliveTimeout: 30_000 });
  }

  async close(): Promise<void> {
    await this.agent.close();
  }

  /** One API call; JSON in and out; throws with the server's message on an error status. */
  async api<T = unknown>(method: Dispatcher.HttpMethod, route: string, body?: unknown, query?: Record<string, string>): Promise<{ body: T; headers: Record<string, string | string[] | undefined> }> {
    const qs = query ? `?${new URLSearchParams(query).toString()}` : '';
    const res = await request(`${this.baseUrl}/api/rest/v1${route}${qs}`, {
      method,
      dispatcher: this.agent,
      headers: { 'x-filesapi-key': this.apiKey, accept: 'application/json', ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
      body: body === undefined ? null : JSON.stringify(body),
    });
    const text = await res.body.text();
    if (res.statusCode >= 300) throw new Error(`${method} ${route}: HTTP ${res.statusCode} ${text.slice(0, 200)}`);
    return { body: (text ? JSON.parse(text) : undefined) as T, headers: res.headers };
  }

  /** Uploads `size` bytes of a local file as `remote` in parallel parts. */
  async uploadFile(local: string, remote: string, size: number, partSize = RAW_PART_SIZE, concurrency = RAW_PART_CONCURRENCY): Promise<void> {
    const parts = Math.max(1, Math.ceil(size / partSize));
    const { body: slots } = await this.api<PartSlot[]>('POST', `/file_actions/begin_upload/${encodePath(remote)}`, { size, part: 1, parts, mkdir_parents: true });
    if (!Array.isArray(slots) || slots.length < parts) throw new Error(`begin_upload ${remote}: ${Array.isArray(slots) ? slots.length : 'no'} part slots for ${parts} parts`);
    const fh = await open(local, 'r');
    const etags: Array<{ part: number; etag: string }> = [];
    try {
      await eachLimit(slots.slice(0, parts), concurrency, async (slot, i) => {
        const offset = i * partSize;
        const length = Math.min(partSize, size - offset);
        const buffer = Buffer.allocUnsafe(length);
        const { bytesRead } = await fh.read(buffer, 0, length, offset);
        if (bytesRead !== length) throw new Error(`${local}: short read at ${offset}`);
        etags.push({ part: slot.part_number, etag: await this.putPart(slot.upload_uri, buffer) });
      });
    } finally {
      await fh.close();
    }
    await this.api('POST', `/files/${encodePath(remote)}`, { action: 'end', ref: slots[0]!.ref, etags, size });
  }

  /** Uploads a small buffer: begin_upload, one part, end (three requests). */
  async uploadBuffer(remote: string, data: Buffer): Promise<void> {
    const { body: slots } = await this.api<PartSlot[]>('POST', `/file_actions/begin_upload/${encodePath(remote)}`, { size: data.length, part: 1, parts: 1, mkdir_parents: true });
    const slot = slots[0];
    if (!slot) throw new Error(`begin_upload ${remote}: no part slot`);
    const etag = await this.putPart(slot.upload_uri, data);
    await this.api('POST', `/files/${encodePath(remote)}`, { action: 'end', ref: slot.ref, etags: [{ part: 1, etag }], size: data.length });
  }

  private async putPart(uri: string, data: Buffer): Promise<string> {
    const res = await request(uri, { method: 'PUT', dispatcher: this.agent, body: data, headers: { 'content-length': String(data.length) } });
    await res.body.dump();
    if (res.statusCode !== 200) throw new Error(`part PUT: HTTP ${res.statusCode}`);
    const etag = res.headers.etag;
    return (Array.isArray(etag) ? etag[0] : etag ?? '').replace(/"/g, '');
  }

  /** GET /files/{path}: the presigned download URI. */
  async downloadUri(remote: string): Promise<string> {
    const { body } = await this.api<{ download_uri?: string }>('GET', `/files/${encodePath(remote)}`);
    if (!body.download_uri) throw new Error(`GET /files/${remote}: no download_uri`);
    return body.download_uri;
  }

  /** Bytes of one range request (or the whole object), counted and dropped. */
  async fetchRange(uri: string, start: number, length: number, sink?: Buffer[]): Promise<number> {
    const res = await request(uri, { dispatcher: this.agent, headers: { range: `bytes=${start}-${start + length - 1}` } });
    if (res.statusCode !== 206 && res.statusCode !== 200) {
      await res.body.dump();
      throw new Error(`range GET: HTTP ${res.statusCode}`);
    }
    // Events rather than async iteration: no promise per chunk (the fastest way to drain an undici body).
    return new Promise<number>((resolve, reject) => {
      let bytes = 0;
      res.body.on('data', (chunk: Buffer) => {
        bytes += chunk.length;
        sink?.push(chunk);
      });
      res.body.once('end', () => resolve(bytes));
      res.body.once('error', reject);
    });
  }

  /** Downloads `size` bytes as parallel range requests; returns the bytes received. */
  async download(remote: string, size: number, rangeSize = RAW_RANGE_SIZE, inFlight = RAW_RANGES_IN_FLIGHT): Promise<number> {
    const uri = await this.downloadUri(remote);
    const ranges: number[] = [];
    for (let at = 0; at < size; at += rangeSize) ranges.push(at);
    let total = 0;
    await eachLimit(ranges, inFlight, async (start) => {
      const got = await this.fetchRange(uri, start, Math.min(rangeSize, size - start));
      total += got;
    });
    if (total !== size) throw new Error(`download ${remote}: ${total} bytes of ${size}`);
    return total;
  }

  /** 4 KiB-aligned random reads of `block` bytes, one at a time, until `seconds` have passed; returns how many. */
  async randomReads(remote: string, size: number, block: number, seconds: number): Promise<number> {
    const uri = await this.downloadUri(remote);
    const blocks = Math.floor(size / block);
    const deadline = performance.now() + seconds * 1000;
    let ops = 0;
    while (performance.now() < deadline) {
      const offset = Math.floor(Math.random() * blocks) * block;
      if ((await this.fetchRange(uri, offset, block)) !== block) throw new Error('random read: short answer');
      ops++;
    }
    return ops;
  }

  /** Downloads each remote file into `localDir` (same base name), `concurrency` at a time. */
  async downloadFiles(remotes: readonly string[], localDir: string, concurrency: number): Promise<void> {
    await eachLimit(remotes, concurrency, async (remote) => {
      const uri = await this.downloadUri(remote);
      const res = await request(uri, { dispatcher: this.agent });
      const data = Buffer.from(await res.body.arrayBuffer());
      if (res.statusCode !== 200) throw new Error(`GET ${remote}: HTTP ${res.statusCode}`);
      await writeFile(join(localDir, remote.slice(remote.lastIndexOf('/') + 1)), data);
    });
  }

  /** Lists a folder page by page; returns the number of entries and of pages. */
  async list(remote: string, perPage: number): Promise<{ entries: number; pages: number }> {
    let cursor: string | undefined;
    let entries = 0;
    let pages = 0;
    do {
      const query: Record<string, string> = { per_page: String(perPage), ...(cursor ? { cursor } : {}) };
      const { body, headers } = await this.api<unknown[]>('GET', `/folders/${encodePath(remote)}`, undefined, query);
      pages++;
      entries += body.length;
      const next = headers['x-files-cursor'];
      cursor = Array.isArray(next) ? next[0] : next;
    } while (cursor);
    return { entries, pages };
  }

  async copy(from: string, to: string): Promise<void> {
    await this.api('POST', `/file_actions/copy/${encodePath(from)}`, { destination: to });
  }

  async mkdir(remote: string): Promise<void> {
    await this.api('POST', `/folders/${encodePath(remote)}`, { mkdir_parents: true });
  }

  async remove(remote: string): Promise<void> {
    await this.api('DELETE', `/files/${encodePath(remote)}`, undefined, { recursive: 'true' });
  }

  /** Size of a file on the server, or undefined when it is not there. */
  async size(remote: string): Promise<number | undefined> {
    try {
      const { body } = await this.api<{ size?: number; type?: string }>('GET', `/file_actions/metadata/${encodePath(remote)}`);
      return body.type === 'file' ? Number(body.size) : undefined;
    } catch (err) {
      if (err instanceof Error && /HTTP 404/.test(err.message)) return undefined;
      throw err;
    }
  }
}
