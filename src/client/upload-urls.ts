// Part URLs of one upload, from POST /file_actions/begin_upload/{path}
// (docs/files-api.md §5). The first call opens the upload (no `ref`) and asks for
// the first batch of part slots at once (`part` 1, `parts` N, as the Ruby SDK
// does); later batches continue it with `ref` + `part` + `parts`; a part whose
// URL expired or was refused gets a fresh one alone (`ref` + `part` + parts 1).
// Concurrent requests for parts of a batch already being fetched wait for it.
//
// Retrying begin_upload is harmless: an upload that is opened and then
// abandoned never appears as a file, and a continued one only re-issues URLs;
// so a begin_upload without an answer is also resent early (api.ts `resend`).
import { routeFor } from './api-path.js';
import type { ApiClient } from './api.js';
import { hasType, ServerError } from './errors.js';
import type { WireUploadPart } from './wire-types.js';

export interface PartSlot {
  partNumber: number;
  url: URL;
  method: 'PUT' | 'POST';
  headers: Record<string, string>;
}

export interface UploadSettings {
  ref: string;
  /** false → one part at a time, in order. */
  parallelParts: boolean;
  /** false → a failed part restarts the whole upload. */
  retryParts: boolean;
  /** The server said something exists at the target (`ask_about_overwrites`, docs/files-api.md §5). */
  targetExists: boolean;
  /** When that answer came (Date.now()): how old the "exists" is by the time the upload publishes. */
  checkedAt: number;
}

/** The upload the server no longer knows (`ref` gone): it must start over. */
export function isUploadGone(err: unknown): boolean {
  return hasType(err, 'not-found/file-upload-not-found');
}

function parseSlot(raw: WireUploadPart, label: string): PartSlot & { ref?: string; parallel?: boolean; retry?: boolean; exists?: boolean } {
  const bad = (what: string) => new ServerError({ message: `${label}: begin_upload answer ${what}`, operation: label });
  if (!raw || typeof raw !== 'object') throw bad('has a part that is not an object');
  if (typeof raw.upload_uri !== 'string' || raw.upload_uri === '') throw bad('has no upload_uri');
  const n = typeof raw.part_number === 'number' ? raw.part_number : typeof raw.part_number === 'string' ? Number(raw.part_number) : NaN;
  if (!Number.isInteger(n) || n < 1) throw bad('has no part_number');
  let url: URL;
  try {
    url = new URL(raw.upload_uri);
  } catch {
    throw bad('has an upload_uri that is not a URL');
  }
  if (raw.parameters && typeof raw.parameters === 'object') {
    for (const [k, v] of Object.entries(raw.parameters as Record<string, unknown>)) if (v !== undefined && v !== null) url.searchParams.set(k, String(v));
  }
  const headers: Record<string, string> = {};
  if (raw.headers && typeof raw.headers === 'object') {
    for (const [k, v] of Object.entries(raw.headers as Record<string, unknown>)) if (typeof v === 'string') headers[k.toLowerCase()] = v;
  }
  const method = typeof raw.http_method === 'string' && raw.http_method.toUpperCase() === 'POST' ? 'POST' : 'PUT';
  return {
    partNumber: n,
    url,
    method,
    headers,
    ...(typeof raw.ref === 'string' && raw.ref !== '' ? { ref: raw.ref } : {}),
    ...(typeof raw.parallel_parts === 'boolean' ? { parallel: raw.parallel_parts } : {}),
    ...(typeof raw.retry_parts === 'boolean' ? { retry: raw.retry_parts } : {}),
    ...(raw.ask_about_overwrites === true ? { exists: true } : {}),
  };
}

interface Batch {
  first: number;
  last: number;
  done: Promise<void>;
}

export class PartUrls {
  private readonly slots = new Map<number, PartSlot>();
  private readonly batches = new Set<Batch>();
  private settings: UploadSettings | undefined;
  private readonly route: string;

  constructor(
    private readonly api: ApiClient,
    path: string,
    private readonly open: { size?: number | undefined; mkdirParents: boolean },
    /** Slots asked for per call. */
    private readonly batchSize: number,
    /** Total parts when known (never ask past it). */
    private readonly totalParts: number | undefined,
    private readonly signal: AbortSignal | undefined,
  ) {
    this.route = routeFor('/file_actions/begin_upload', path);
  }

  /** Opens the upload and fetches the first batch. */
  async begin(): Promise<UploadSettings> {
    await this.fetch(1, this.count(1));
    return this.settings!;
  }

  get ref(): string {
    return this.settings!.ref;
  }

  private count(first: number): number {
    return this.totalParts === undefined ? this.batchSize : Math.max(1, Math.min(this.batchSize, this.totalParts - first + 1));
  }

  /** The URL for part `n`, fetching its batch when needed. */
  async get(n: number): Promise<PartSlot> {
    for (;;) {
      const slot = this.slots.get(n);
      if (slot) return slot;
      const pending = [...this.batches].find((b) => n >= b.first && n <= b.last);
      if (pending) {
        await pending.done;
        if (this.slots.has(n)) continue;
      }
      await this.fetch(n, this.count(n));
      if (!this.slots.has(n)) throw new ServerError({ message: `POST ${this.route}: no URL for part ${n}`, operation: `POST ${this.route}` });
    }
  }

  /** Forgets part `n`'s URL (refused or expired) and fetches a new one. */
  async refresh(n: number): Promise<PartSlot> {
    this.slots.delete(n);
    await this.fetch(n, 1);
    return this.get(n);
  }

  /** Drops a finished part's URL. */
  release(n: number): void {
    this.slots.delete(n);
  }

  private fetch(first: number, parts: number): Promise<void> {
    const batch: Batch = { first, last: first + parts - 1, done: Promise.resolve() };
    batch.done = this.request(first, parts).finally(() => this.batches.delete(batch));
    this.batches.add(batch);
    return batch.done;
  }

  private async request(first: number, parts: number): Promise<void> {
    const label = `POST ${this.route}`;
    const body: Record<string, unknown> = { part: first, parts, mkdir_parents: this.open.mkdirParents };
    if (this.settings) body.ref = this.settings.ref;
    else if (this.open.size !== undefined) body.size = this.open.size;
    const res = await this.api.call<unknown>({ method: 'POST', route: this.route, body, signal: this.signal, resend: 'upload-begin' });
    const list = Array.isArray(res.body) ? res.body : [res.body];
    if (list.length === 0) throw new ServerError({ message: `${label}: begin_upload returned no parts`, operation: label });
    for (const raw of list) {
      const slot = parseSlot(raw as WireUploadPart, label);
      if (!this.settings) {
        if (!slot.ref) throw new ServerError({ message: `${label}: begin_upload answer has no ref`, operation: label });
        this.settings = { ref: slot.ref, parallelParts: slot.parallel !== false, retryParts: slot.retry !== false, targetExists: slot.exists === true, checkedAt: Date.now() };
      }
      this.slots.set(slot.partNumber, { partNumber: slot.partNumber, url: slot.url, method: slot.method, headers: slot.headers });
    }
  }
}
