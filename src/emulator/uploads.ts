// Uploads in progress (docs/files-api.md §5): an upload is opened by begin_upload
// (or the JS SDK's `POST /files/{path}` action "put"), receives parts on
// presigned URLs in any order and concurrently, and ends with action "end".
// Until then nothing is visible in the tree: the parts wait in
//   <data>/uploads/<ref>/upload.json     what the upload is for
//   <data>/uploads/<ref>/<part>-<md5>    each received part (last PUT wins)
//   <data>/uploads/.tmp/                 bodies still arriving
// A part body streams to a temp file while its MD5 (and CRC32, kept in
// memory for the hasher) is computed, and is renamed into the upload
// directory only when complete, so a dropped connection never leaves a
// partial part. Uploads survive a restart; ones idle for longer than
// UPLOAD_RETENTION_MS are discarded.
//
// Cost per small upload matters (a `cp -r` of thousands of small files is
// three requests each): upload.json is written in place (no temp + rename:
// begin_upload answers only after the write, and a torn file from a crash
// before that is discarded at start), and a body is written with one open,
// a few large writes and a close, not through a WriteStream. The small
// metadata operations (the upload's folder and upload.json, a part's rename,
// a body that arrived whole in one batch) are synchronous: no fsync, a few
// microseconds in the page cache, far cheaper than a thread-pool round trip
// each; large bodies are still written asynchronously as they arrive.
import { createHash, randomInt } from 'node:crypto';
import { mkdirSync, renameSync, writeFileSync } from 'node:fs';
import { mkdir, open, readdir, readFile, rm, stat, unlink, writeFile, type FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import type { IncomingMessage } from 'node:http';
import { ApiError, uploadNotFound } from './errors.js';
import { crc32 } from './hasher.js';
import type { Throttle } from './throttle.js';

/** S3 limits: part numbers 1…10,000; every part but the last at least 5 MiB. */
export const MAX_PARTS = 10_000;
export const MIN_PART_SIZE = 5 * 1024 * 1024;
/** The `partsize` we suggest, like the recordings (5 MiB). */
export const PART_SIZE = 5 * 1024 * 1024;
/** S3's largest part. */
export const MAX_PART_SIZE = 5 * 1024 * 1024 * 1024;
/** An upload nobody touched for this long is discarded. */
export const UPLOAD_RETENTION_MS = 24 * 60 * 60 * 1000;
/**
 * Body bytes gathered before they are written to the part's temp file: a
 * small part is one write, a 5 MiB part a handful (not one per 64 KiB chunk).
 */
const WRITE_BATCH_BYTES = 1 << 20;

export interface Part {
  number: number;
  file: string;
  size: number;
  md5: string;
  /** CRC32 of the part, when it was received by this process (not known after a restart). */
  crc32?: number;
}

export interface Upload {
  ref: string;
  /** Target path as the client gave it (normalized). */
  path: string;
  mkdirParents: boolean;
  created: number;
  touched: number;
  parts: Map<number, Part>;
  state: 'open' | 'completing';
  /** Part renames, one at a time per upload; `end` waits for them. */
  chain: Promise<void>;
}

interface UploadFile {
  ref: string;
  path: string;
  mkdirParents: boolean;
  created: number;
}

/** Appends `chunks` (`length` bytes) at the handle's position, however many writes that takes. */
async function writeAll(out: FileHandle, chunks: Buffer[], length: number): Promise<void> {
  const { bytesWritten } = await out.writev(chunks);
  if (bytesWritten === length) return;
  // A short write (rare on a regular file): the rest, one write at a time.
  const rest = Buffer.concat(chunks, length).subarray(bytesWritten);
  for (let done = 0; done < rest.length; ) done += (await out.write(rest, done)).bytesWritten;
}

export class PartError extends Error {
  constructor(readonly status: number, readonly code: string, message: string) {
    super(message);
  }
}

export class Uploads {
  private readonly uploads = new Map<string, Upload>();
  private tmpCounter = 0;

  private constructor(private readonly root: string) {}

  static async open(dataDir: string): Promise<Uploads> {
    const root = join(dataDir, 'uploads');
    await rm(join(root, '.tmp'), { recursive: true, force: true });
    await mkdir(join(root, '.tmp'), { recursive: true });
    const uploads = new Uploads(root);
    for (const ref of await readdir(root)) {
      if (ref === '.tmp') continue;
      const dir = join(root, ref);
      try {
        const meta = JSON.parse(await readFile(join(dir, 'upload.json'), 'utf8')) as UploadFile;
        const touched = (await stat(dir)).mtimeMs;
        if (Date.now() - touched > UPLOAD_RETENTION_MS) throw new Error('expired');
        const upload: Upload = { ...meta, touched, parts: new Map(), state: 'open', chain: Promise.resolve() };
        for (const name of await readdir(dir)) {
          const m = /^(\d+)-([0-9a-f]{32})$/.exec(name);
          if (!m) continue;
          const size = (await stat(join(dir, name))).size;
          upload.parts.set(Number(m[1]), { number: Number(m[1]), file: name, size, md5: m[2]! });
        }
        uploads.uploads.set(ref, upload);
      } catch {
        await rm(dir, { recursive: true, force: true });
      }
    }
    return uploads;
  }

  dirOf(ref: string): string {
    return join(this.root, ref);
  }

  async create(path: string, mkdirParents: boolean): Promise<Upload> {
    let ref: string;
    do ref = `put-${randomInt(1_000_000_000, 9_999_999_999)}`;
    while (this.uploads.has(ref));
    const now = Date.now();
    const upload: Upload = { ref, path, mkdirParents, created: now, touched: now, parts: new Map(), state: 'open', chain: Promise.resolve() };
    mkdirSync(this.dirOf(ref));
    const meta: UploadFile = { ref, path, mkdirParents, created: now };
    // In place: nobody knows the ref before this returns, and a torn file is discarded at start.
    writeFileSync(join(this.dirOf(ref), 'upload.json'), JSON.stringify(meta));
    this.uploads.set(ref, upload);
    return upload;
  }

  /** The open upload `ref`; 404 file-upload-not-found otherwise. */
  get(ref: string | undefined): Upload {
    const upload = ref ? this.uploads.get(ref) : undefined;
    if (!upload || Date.now() - upload.touched > UPLOAD_RETENTION_MS) throw uploadNotFound();
    return upload;
  }

  /** Whether `ref` names an upload that can take parts (for the transfer URL). */
  isOpen(ref: string): boolean {
    return this.uploads.get(ref)?.state === 'open';
  }

  /**
   * Streams one part body to disk. `onBytes` runs for every chunk before it is
   * written (throttling, fault injection). Returns the part's MD5.
   */
  async receivePart(ref: string, number: number, req: IncomingMessage, throttle: Throttle, onBytes: (received: number) => void): Promise<Part> {
    if (!this.isOpen(ref)) throw new PartError(404, 'NoSuchUpload', 'The specified upload does not exist.');
    const tmp = join(this.root, '.tmp', `${ref}-${number}-${process.pid}-${++this.tmpCounter}`);
    const hash = createHash('md5');
    let crc = 0;
    let size = 0;
    let out: FileHandle | null = null;
    let batch: Buffer[] = [];
    let batched = 0;
    const flush = async (): Promise<void> => {
      out ??= await open(tmp, 'w');
      const chunks = batch;
      const length = batched;
      batch = [];
      batched = 0;
      if (length > 0) await writeAll(out, chunks, length);
    };
    try {
      for await (const chunk of req as AsyncIterable<Buffer>) {
        size += chunk.length;
        onBytes(size);
        if (throttle.bytesPerSecond) await throttle.take(chunk.length);
        hash.update(chunk);
        crc = crc32(chunk, crc);
        batch.push(chunk);
        batched += chunk.length;
        if (batched >= WRITE_BATCH_BYTES) await flush();
      }
      if (out) await flush();
      else writeFileSync(tmp, batch.length === 1 ? batch[0]! : Buffer.concat(batch, batched));
    } catch (err) {
      // The client went away mid-body: nothing of it is kept.
      await (out as FileHandle | null)?.close().catch(() => undefined);
      await unlink(tmp).catch(() => undefined);
      throw err;
    }
    await (out as FileHandle | null)?.close();
    const md5 = hash.digest('hex');
    const declared = Number(req.headers['content-length']);
    if (Number.isFinite(declared) && declared !== size) {
      await unlink(tmp).catch(() => undefined);
      throw new PartError(400, 'IncompleteBody', 'You did not provide the number of bytes specified by the Content-Length HTTP header.');
    }
    return this.finalizePart(ref, { number, file: `${number}-${md5}`, size, md5, crc32: crc }, tmp);
  }

  /** Stores a part from memory (the demo seed and test fixtures). */
  async writePart(ref: string, number: number, data: Buffer): Promise<Part> {
    const tmp = join(this.root, '.tmp', `${ref}-${number}-${process.pid}-${++this.tmpCounter}`);
    await writeFile(tmp, data);
    const md5 = createHash('md5').update(data).digest('hex');
    return this.finalizePart(ref, { number, file: `${number}-${md5}`, size: data.length, md5, crc32: crc32(data) }, tmp);
  }

  private finalizePart(ref: string, part: Part, tmp: string): Promise<Part> {
    const upload = this.uploads.get(ref);
    if (!upload) return unlink(tmp).then(() => Promise.reject(new PartError(404, 'NoSuchUpload', 'The specified upload does not exist.')));
    const step = upload.chain.then(async () => {
      if (upload.state !== 'open') {
        await unlink(tmp).catch(() => undefined);
        throw new PartError(404, 'NoSuchUpload', 'The specified upload does not exist.');
      }
      renameSync(tmp, join(this.dirOf(ref), part.file));
      const previous = upload.parts.get(part.number);
      upload.parts.set(part.number, part);
      upload.touched = Date.now();
      if (previous && previous.file !== part.file) await unlink(join(this.dirOf(ref), previous.file)).catch(() => undefined);
      return part;
    });
    upload.chain = step.then(() => undefined, () => undefined);
    return step;
  }

  /**
   * Locks the upload for completion and picks its parts: the ones `etags`
   * lists (checked against what arrived), or every part received. Parts must
   * run 1…N without a gap, and each but the last be at least 5 MiB (S3).
   * On a validation error the upload stays open.
   */
  async beginCompletion(upload: Upload, etags: Array<{ part: number; etag: string }> | null, size: number | undefined): Promise<Part[]> {
    if (upload.state !== 'open') throw uploadNotFound();
    upload.state = 'completing';
    await upload.chain;
    try {
      let parts: Part[];
      if (etags && etags.length > 0) {
        parts = etags.map(({ part, etag }) => {
          const got = upload.parts.get(part);
          if (!got) throw new ApiError('bad-request/invalid-etags', `Part ${part} was never uploaded.`);
          if (etag !== '' && etag !== 'null' && etag !== got.md5) {
            throw new ApiError('bad-request/invalid-etags', `The etag given for part ${part} does not match the uploaded part.`);
          }
          return got;
        });
        parts.sort((a, b) => a.number - b.number);
        for (let i = 1; i < parts.length; i++) {
          if (parts[i]!.number === parts[i - 1]!.number) throw new ApiError('bad-request/invalid-etags', `Part ${parts[i]!.number} is listed twice.`);
        }
      } else {
        parts = [...upload.parts.values()].sort((a, b) => a.number - b.number);
      }
      parts.forEach((p, i) => {
        if (p.number !== i + 1) throw new ApiError('bad-request/invalid-upload-part-gap', `Part ${i + 1} is missing (parts must be numbered 1 to N without gaps).`);
      });
      parts.forEach((p, i) => {
        if (i < parts.length - 1 && p.size < MIN_PART_SIZE) {
          throw new ApiError('bad-request/invalid-upload-part-size', `Part ${p.number} has ${p.size} bytes; every part but the last must have at least ${MIN_PART_SIZE}.`);
        }
      });
      const total = parts.reduce((s, p) => s + p.size, 0);
      if (size !== undefined && size !== total) {
        throw new ApiError('bad-request/invalid-upload-part-size', `The parts hold ${total} bytes, but size says ${size}.`);
      }
      return parts;
    } catch (err) {
      upload.state = 'open';
      throw err;
    }
  }

  /** The upload was committed: forget it (its directory became a blob). */
  finish(upload: Upload): void {
    this.uploads.delete(upload.ref);
  }

  /** Completion failed after validation: accept parts again. */
  reopen(upload: Upload): void {
    upload.state = 'open';
  }
}
