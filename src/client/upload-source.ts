// Where upload bytes come from, part by part, without holding a whole file in
// memory: a buffer (parts are views of it), a local file (each part attempt
// reads its byte range through a positioned stream on one open handle, so a
// retry reads the range again and the file is never buffered whole), or a
// stream (read strictly in order, one part-sized buffer at a time; the
// uploader holds at most ~partConcurrency of them, since a stream cannot be
// read twice and a failed part must be re-sent from memory). A small file is
// read whole at once and sent as a buffer: one read and no stream per
// attempt, for the many-small-files case where that overhead is the cost.
import { open, type FileHandle } from 'node:fs/promises';
import { Readable } from 'node:stream';
import type { UploadSource } from './files-client.js';

/** Bytes of one part: a body factory, called once per attempt. */
export type PartBody = () => Buffer | Readable;

/** A source whose parts can be read in any order, any number of times. */
export interface RandomAccessSource {
  readonly kind: 'random';
  readonly size: number;
  part(start: number, end: number): PartBody;
  close(): Promise<void>;
}

/** A source read once, front to back. */
export interface SequentialSource {
  readonly kind: 'sequential';
  /** The size the caller declared, if any (checked at the end). */
  readonly declaredSize: number | undefined;
  /** Up to `n` bytes; fewer only at the end of the stream (then `ended`). */
  read(n: number): Promise<Buffer>;
  readonly ended: boolean;
  close(): Promise<void>;
}

export type PartSource = RandomAccessSource | SequentialSource;

/**
 * Read size for file parts. Each read is a new buffer that lives while the
 * socket sends it, and up to partConcurrency parts are sent at once: 256 KiB
 * holds a quarter of what 1 MiB did in flight. Measured writing 1 GiB
 * through the mount (peak resident of the mount process, two runs each):
 * 1 MiB 145/165 MiB, 256 KiB 134/144, 128 KiB 138/134, at the same CPU.
 */
const FILE_READ_CHUNK = 256 * 1024;
/**
 * Files up to this size are read into memory when the upload opens them (one
 * read, then the handle is closed). Small enough that many uploads in flight
 * hold little memory; 256 KiB covers the files that are many.
 */
export const SMALL_FILE_BYTES = 256 * 1024;
const EMPTY = Buffer.alloc(0);

class BufferSource implements RandomAccessSource {
  readonly kind = 'random' as const;
  readonly size: number;
  private readonly data: Buffer;
  constructor(data: Uint8Array) {
    this.data = Buffer.isBuffer(data) ? data : Buffer.from(data.buffer, data.byteOffset, data.byteLength);
    this.size = data.byteLength;
  }
  part(start: number, end: number): PartBody {
    const view = this.data.subarray(start, end);
    return () => view;
  }
  async close(): Promise<void> {}
}

/**
 * Bytes [start, end) of an open file, read with positioned reads on the
 * shared handle each time the body is asked for (a retry reads them again).
 * (A FileHandle's createReadStream would close the handle when a failed
 * attempt destroys the stream, even with autoClose: false, breaking the
 * parts still running.)
 */
export function filePart(handle: FileHandle, start: number, end: number): PartBody {
  if (end <= start) return () => EMPTY;
  return () =>
    Readable.from(
      (async function* () {
        for (let pos = start; pos < end; ) {
          const buf = Buffer.allocUnsafe(Math.min(FILE_READ_CHUNK, end - pos));
          const { bytesRead } = await handle.read(buf, 0, buf.length, pos);
          if (bytesRead === 0) throw Object.assign(new Error(`the file shrank while uploading (no data at byte ${pos})`), { code: 'ESHRUNK' });
          pos += bytesRead;
          yield bytesRead === buf.length ? buf : buf.subarray(0, bytesRead);
        }
      })(),
      { objectMode: false },
    );
}

class FileSource implements RandomAccessSource {
  readonly kind = 'random' as const;
  constructor(private readonly handle: FileHandle, readonly size: number) {}
  part(start: number, end: number): PartBody {
    return filePart(this.handle, start, end);
  }
  async close(): Promise<void> {
    await this.handle.close();
  }
}

class StreamSource implements SequentialSource {
  readonly kind = 'sequential' as const;
  private readonly iterator: AsyncIterator<unknown>;
  private leftover: Buffer = EMPTY;
  private done = false;

  constructor(private readonly stream: Readable, readonly declaredSize: number | undefined) {
    this.iterator = stream[Symbol.asyncIterator]();
  }

  get ended(): boolean {
    return this.done && this.leftover.length === 0;
  }

  async read(n: number): Promise<Buffer> {
    const chunks: Buffer[] = [];
    let have = 0;
    if (this.leftover.length > 0) {
      const take = this.leftover.subarray(0, n);
      chunks.push(take);
      have = take.length;
      this.leftover = this.leftover.subarray(take.length);
    }
    while (have < n && !this.done) {
      const r = await this.iterator.next();
      if (r.done) {
        this.done = true;
        break;
      }
      const v = r.value;
      const chunk = Buffer.isBuffer(v) ? v : typeof v === 'string' ? Buffer.from(v) : Buffer.from(v as Uint8Array);
      const take = chunk.subarray(0, n - have);
      chunks.push(take);
      have += take.length;
      if (take.length < chunk.length) this.leftover = chunk.subarray(take.length);
    }
    return chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, have);
  }

  async close(): Promise<void> {
    if (!this.done) this.stream.destroy();
  }
}

/** The first `size` bytes of a file (fewer if it is shorter now). */
async function readWhole(handle: FileHandle, size: number): Promise<Buffer> {
  const data = Buffer.allocUnsafe(size);
  let have = 0;
  while (have < size) {
    const { bytesRead } = await handle.read(data, have, size - have, have);
    if (bytesRead === 0) break;
    have += bytesRead;
  }
  return have === size ? data : data.subarray(0, have);
}

/** Opens `source` for uploading. */
export async function openSource(source: UploadSource): Promise<PartSource> {
  if ('buffer' in source) return new BufferSource(source.buffer);
  if ('file' in source) {
    const handle = await open(source.file, 'r');
    try {
      const st = await handle.stat();
      if (!st.isFile()) throw Object.assign(new Error(`${source.file}: not a regular file`), { code: 'EISDIR' });
      // A fixed size: the file may hold more (bytes written after the version to send).
      const size = source.size ?? st.size;
      if (st.size < size) throw Object.assign(new Error(`${source.file}: ${st.size} bytes, shorter than the ${size} to upload`), { code: 'ESHRUNK' });
      if (size > SMALL_FILE_BYTES) return new FileSource(handle, size);
      const data = await readWhole(handle, size);
      await handle.close();
      if (data.length < size) throw Object.assign(new Error(`${source.file}: shrank while read for upload`), { code: 'ESHRUNK' });
      return new BufferSource(data);
    } catch (err) {
      await handle.close().catch(() => undefined);
      throw err;
    }
  }
  return new StreamSource(source.stream, source.size);
}
