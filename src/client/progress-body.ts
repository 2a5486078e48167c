// Request bodies that report their progress: each chunk is counted when the
// connection takes it (undici pulls a stream body chunk by chunk and pauses
// it while the socket's buffer is full), so a stall watch sees bytes move.
//
// A Buffer larger than SMALL_BODY_BYTES is sent as a stream of views of it
// (no copy), CHUNK_BYTES each. It costs some CPU: 0.7 instead of 0.45 ms of
// client CPU per MiB uploaded to the emulator (measured, 512 MiB; 64 KiB
// chunks cost 0.8 ms); a chunk adds at most 4 s to a silence at 512 kbit/s. Given as one Buffer, undici writes it to the
// socket at once and its headers timer runs from that moment, not from the
// last byte sent: a 10 MiB part over a 1 Mbit/s link (84 s) would be
// destroyed by the 60 s timeout while its bytes were still flowing. A small
// body goes as it is (fewer objects for the many-small-files case; it is
// counted as sent at once, and leaves within a second or two on any link).
import { Readable, Transform } from 'node:stream';

/** Bodies up to this size are sent as one Buffer. */
export const SMALL_BODY_BYTES = 256 * 1024;
/** Chunk size of a large Buffer body. */
export const CHUNK_BYTES = 256 * 1024;

class BufferChunks extends Readable {
  private pos = 0;
  constructor(private readonly data: Buffer, private readonly onSent: (bytes: number) => void) {
    super({ highWaterMark: CHUNK_BYTES });
  }

  override _read(): void {
    if (this.pos >= this.data.length) return void this.push(null);
    const end = Math.min(this.data.length, this.pos + CHUNK_BYTES);
    const chunk = this.data.subarray(this.pos, end);
    this.pos = end;
    this.onSent(chunk.length);
    this.push(chunk);
  }
}

/**
 * `body` as undici should send it, calling `onSent(bytes)` as the bytes are
 * taken. The returned stream (if any) ends or fails with `body`.
 */
export function progressBody(body: Buffer | Readable, onSent: (bytes: number) => void): Buffer | Readable {
  if (Buffer.isBuffer(body)) {
    if (body.length <= SMALL_BODY_BYTES) {
      onSent(body.length);
      return body;
    }
    return new BufferChunks(body, onSent);
  }
  const counter = new Transform({
    transform(chunk: Buffer, _encoding, callback) {
      onSent(chunk.length);
      callback(null, chunk);
    },
  });
  body.once('error', (err) => counter.destroy(err));
  counter.once('close', () => {
    if (!body.destroyed) body.destroy();
  });
  return body.pipe(counter);
}
