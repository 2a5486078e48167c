// Whole-file MD5 and CRC32, computed in the background after an upload ends,
// as on the real service where both are null in the `end` answer and appear
// a little later (docs/files-api.md §2, §5). One file at a time, streamed from its
// parts, so hashing a large upload never holds up requests for long. CRC32 is
// lowercase hex without zero padding, like the recordings ("0" when empty).
// A one-part upload's hashes are known from its PUT (uploads.ts): they are
// recorded the same way, a little later, without reading the bytes again.
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { join } from 'node:path';
import * as zlib from 'node:zlib';
import type { Logger } from '../log/logger.js';
import type { Blobs } from './blobs.js';
import type { Store } from './store.js';

type Crc32 = (data: Buffer, value?: number) => number;

/** zlib.crc32 exists from Node 20.15; older 20.x use the table below. */
const nativeCrc32 = (zlib as unknown as { crc32?: Crc32 }).crc32;

let table: Uint32Array | null = null;
function tableCrc32(data: Buffer, value = 0): number {
  if (!table) {
    table = new Uint32Array(256);
    for (let n = 0; n < 256; n++) {
      let c = n;
      for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
      table[n] = c >>> 0;
    }
  }
  let crc = ~value >>> 0;
  for (let i = 0; i < data.length; i++) crc = table[(crc ^ data[i]!) & 0xff]! ^ (crc >>> 8);
  return ~crc >>> 0;
}

export const crc32: Crc32 = nativeCrc32 ?? tableCrc32;

/** A file's whole-content hashes computed on the way in. */
export interface KnownHashes {
  md5: string;
  crc32: number;
}

export class Hasher {
  private queue: Array<{ id: number; blob: string; known?: KnownHashes | undefined }> = [];
  private running = false;
  private stopped = false;
  private idleWaiters: Array<() => void> = [];

  constructor(private readonly store: Store, private readonly blobs: Blobs, private readonly logger: Logger) {}

  /** Hashes the file `id` (content `blob`) soon; `known`: hashes already computed, recorded as they are. */
  enqueue(id: number, blob: string, known?: KnownHashes): void {
    if (this.stopped) return;
    this.queue.push({ id, blob, known });
    if (!this.running) {
      this.running = true;
      setImmediate(() => void this.run());
    }
  }

  /** Resolves when the queue is empty (tests, demo seeding, GET /__emulator/idle). */
  idle(): Promise<void> {
    if (!this.running) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  stop(): void {
    this.stopped = true;
    this.queue = [];
  }

  /** The job's file, while it still has the content the job hashes. */
  private current(job: { id: number; blob: string }): ReturnType<Store['byId']> {
    const node = this.store.byId(job.id);
    return node?.blob === job.blob ? node : undefined;
  }

  private async run(): Promise<void> {
    try {
      await this.drain();
    } finally {
      // Stopped or done: whoever waits for the queue to empty is answered either way.
      this.running = false;
      for (const w of this.idleWaiters.splice(0)) w();
    }
  }

  private async drain(): Promise<void> {
    while (this.queue.length && !this.stopped) {
      const job = this.queue.shift()!;
      const node = this.current(job);
      if (!node || (node.md5 && node.crc32)) continue;
      if (job.known) {
        this.store.setHashes(job.id, job.blob, job.known.md5, (job.known.crc32 >>> 0).toString(16));
        continue;
      }
      try {
        const manifest = await this.blobs.manifest(job.blob);
        if (!manifest) continue;
        const md5 = createHash('md5');
        let crc = 0;
        for (const part of manifest.parts) {
          if (part.size === 0) continue;
          const stream = createReadStream(join(this.blobs.dirOf(job.blob), part.file), { highWaterMark: 1 << 20 });
          for await (const chunk of stream as AsyncIterable<Buffer>) {
            // Leaving the loop (return, throw) destroys the stream.
            if (this.stopped) return;
            // Deleted or replaced meanwhile: its hashes would never be shown; stop reading it.
            if (!this.current(job)) throw new Error('the file was deleted or replaced');
            md5.update(chunk);
            crc = crc32(chunk, crc);
          }
        }
        if (!this.stopped) this.store.setHashes(job.id, job.blob, md5.digest('hex'), crc.toString(16));
      } catch (err) {
        // The file was replaced or deleted while we read it: nothing to record.
        this.logger.debug('hashing %s skipped: %s', job.blob, (err as Error).message);
      }
    }
  }
}
