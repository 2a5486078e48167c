// How large the write requests reaching the filesystem layer are. With the
// big_writes mount option the kernel sends up to 128 KiB per request (dd
// bs=1M arrives as 131072-byte writes); without it, 4 KiB, and every write
// costs a round trip through FUSE. Counting sizes in power-of-two buckets
// (labelled by their upper bound: a 131072-byte write counts under 131072, a
// 100-byte one under 128) shows which one a mount got, in `filesfs status`
// and in debug logs.
export type WriteSizeCounts = Record<string, number>;

export class WriteHistogram {
  private readonly counts = new Map<number, number>();
  private writes = 0;
  private bytes = 0;

  record(size: number): void {
    const bucket = size <= 1 ? 1 : 2 ** Math.ceil(Math.log2(size));
    this.counts.set(bucket, (this.counts.get(bucket) ?? 0) + 1);
    this.writes++;
    this.bytes += size;
  }

  get totalWrites(): number {
    return this.writes;
  }

  get totalBytes(): number {
    return this.bytes;
  }

  /** Bucket upper bound (bytes, as a decimal string) → number of writes, smallest first. */
  toJSON(): WriteSizeCounts {
    const out: WriteSizeCounts = {};
    for (const bucket of [...this.counts.keys()].sort((a, b) => a - b)) out[String(bucket)] = this.counts.get(bucket)!;
    return out;
  }

  /** "≤131072×8192, ≤4096×1" (largest first), for log lines. */
  describe(): string {
    if (this.writes === 0) return 'no writes';
    return [...this.counts.entries()].sort((a, b) => b[0] - a[0]).map(([size, n]) => `≤${size}×${n}`).join(', ');
  }

  /** Adds another histogram's counts (a file's into the mount's). */
  merge(other: WriteHistogram): void {
    for (const [bucket, n] of other.counts) this.counts.set(bucket, (this.counts.get(bucket) ?? 0) + n);
    this.writes += other.writes;
    this.bytes += other.bytes;
  }
}
