// How an upload is cut into parts. The storage behind Files.com is S3-like
// (docs/files-api.md §5): parts 1 … 10,000, every part but the last ≥ 5 MiB, at most
// 5 GiB each. With 5 MiB parts alone a file could not exceed ~48.8 GiB, so:
//
// - Known size: constant parts of max(5 MiB, ceil(size / 10,000) rounded up to
//   a whole MiB); the fewest parts that fit, each as small as allowed, which
//   keeps per-part memory and retry cost low. Up to 10,000 × 5 GiB ≈ 48.8 TiB.
// - Unknown size (a stream): the Go SDK's growing schedule, doubling the part
//   size while the number of parts at each size follows Fibonacci × 100:
//   100 × 5 MiB, 200 × 10 MiB, 300 × 20 MiB, 500 × 40 MiB, 800 × 80 MiB, …,
//   10,000 parts in all (about 4.6 TiB). Small streams stay in 5 MiB parts.

export const MIB = 1024 * 1024;
export const MIN_PART_SIZE = 5 * MIB;
export const MAX_PART_SIZE = 5 * 1024 * MIB;
export const MAX_PARTS = 10_000;

/** The largest upload the constant-part policy can describe. */
export const MAX_UPLOAD_SIZE = MAX_PARTS * MAX_PART_SIZE;

/** Part size for an upload of `size` bytes. RangeError past MAX_UPLOAD_SIZE. */
export function partSizeFor(size: number): number {
  if (!Number.isSafeInteger(size) || size < 0) throw new RangeError(`upload size must be a whole number of bytes, got ${size}`);
  if (size > MAX_UPLOAD_SIZE) throw new RangeError(`upload of ${size} bytes exceeds the ${MAX_UPLOAD_SIZE}-byte limit (10,000 parts of 5 GiB)`);
  const needed = Math.ceil(Math.ceil(size / MAX_PARTS) / MIB) * MIB;
  return Math.max(MIN_PART_SIZE, needed);
}

/** Number of parts for `size` bytes in parts of `partSize`; a 0-byte upload is one empty part. */
export function partCountFor(size: number, partSize: number): number {
  return Math.max(1, Math.ceil(size / partSize));
}

/** Byte range [start, end) of part `n` (1-based) for a known size. */
export function partRange(n: number, partSize: number, size: number): { start: number; end: number } {
  const start = (n - 1) * partSize;
  return { start, end: Math.min(size, start + partSize) };
}

/** Size of part `n` (1-based) of a stream of unknown length (Go SDK schedule). */
export function streamPartSize(n: number): number {
  if (!Number.isInteger(n) || n < 1 || n > MAX_PARTS) throw new RangeError(`part number must be 1 … ${MAX_PARTS}, got ${n}`);
  let first = 1; // Fibonacci: 1, 2, 3, 5, 8, … (× 100 parts per step)
  let second = 2;
  let size = MIN_PART_SIZE;
  let end = 100;
  while (n > end) {
    [first, second] = [second, first + second];
    size = Math.min(MAX_PART_SIZE, size * 2);
    end += first * 100;
  }
  return size;
}

/** Total bytes the stream schedule can carry in MAX_PARTS parts. */
export function streamCapacity(): number {
  let total = 0;
  for (let n = 1; n <= MAX_PARTS; n++) total += streamPartSize(n);
  return total;
}
