// Free space on the cache dir's disk, as the content cache sees it: the last
// statfs, corrected by what the cache itself wrote and deleted since, and
// asked again at most every CHECK_MS (statfs is cheap, but a block is
// written every few hundred microseconds while a file streams in).
import { statfs } from 'node:fs/promises';

export interface DiskSpace {
  freeBytes: number;
  totalBytes: number;
}

export type StatFs = (dir: string) => Promise<DiskSpace>;

/** How old the last statfs may be before a decision asks again. */
export const CHECK_MS = 1_000;

export const systemStatFs: StatFs = async (dir) => {
  const s = await statfs(dir);
  // bavail: what an unprivileged writer may use (root's reserve is not ours to fill).
  return { freeBytes: s.bavail * s.bsize, totalBytes: s.blocks * s.bsize };
};

export class FreeSpace {
  private last: DiskSpace | null = null;
  private checkedAt = -Infinity;
  /** Bytes the cache wrote (+) and deleted (−) since the last statfs. */
  private delta = 0;
  private checking: Promise<void> | undefined;

  constructor(private readonly dir: string, private readonly stat: StatFs, private readonly now: () => number) {}

  /** The last statfs (null before the first). */
  get disk(): DiskSpace | null {
    return this.last;
  }

  /** Free bytes now, as best known (asks statfs when the last answer is old). */
  async free(): Promise<number> {
    if (this.now() - this.checkedAt >= CHECK_MS) await this.refresh();
    return this.estimate();
  }

  /** Free bytes by the last statfs and the cache's own writes since, without asking. */
  estimate(): number {
    return this.last === null ? Infinity : this.last.freeBytes - this.delta;
  }

  wrote(bytes: number): void {
    this.delta += bytes;
  }

  deleted(bytes: number): void {
    this.delta -= bytes;
  }

  /** The disk said it is full: believe it until the next statfs. */
  full(): void {
    if (this.last) this.delta = this.last.freeBytes;
  }

  async refresh(): Promise<void> {
    if (!this.checking) {
      this.checking = this.stat(this.dir)
        .then((space) => {
          this.last = space;
          this.delta = 0;
        }, () => undefined)
        .finally(() => {
          this.checkedAt = this.now();
          this.checking = undefined;
        });
    }
    await this.checking;
  }
}
