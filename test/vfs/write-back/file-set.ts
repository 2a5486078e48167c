// The file set of the write-back acceptance tests: 500
// files in 10 folders, sizes 0, 1 B and 4 KiB for most, plus the part-size
// edges (5 MiB − 1, 5 MiB, 5 MiB + 1) and one 64 MiB file. Contents are
// deterministic and distinct per file and position (a random block read at
// an offset per file), generated chunk by chunk so nothing big is held.
import { createHash, randomBytes } from 'node:crypto';
import { mkdir, open } from 'node:fs/promises';
import { dirname, join } from 'node:path';

const MiB = 1024 * 1024;
const BLOCK = randomBytes(MiB + 7);

export interface SetFile {
  /** Relative path, e.g. "dir03/f0042.bin". */
  path: string;
  size: number;
  seed: number;
}

export const EDGE_SIZES = [5 * MiB - 1, 5 * MiB, 5 * MiB + 1];

export function fileSet(options: { count?: number; big?: number[] } = {}): SetFile[] {
  const count = options.count ?? 500;
  const big = options.big ?? [...EDGE_SIZES, ...EDGE_SIZES, 64 * MiB];
  const small = [0, 1, 4096];
  const files: SetFile[] = [];
  for (let i = 0; i < count; i++) {
    const size = i < big.length ? big[i]! : small[i % small.length]!;
    files.push({ path: `dir${String(i % 10).padStart(2, '0')}/f${String(i).padStart(4, '0')}.bin`, size, seed: i + 1 });
  }
  return files;
}

export const folders = (files: SetFile[]): string[] => [...new Set(files.map((f) => dirname(f.path)))].sort();

export const totalBytes = (files: SetFile[]): number => files.reduce((n, f) => n + f.size, 0);

/** Bytes [offset, offset + length) of a file of the set. */
export function chunkOf(file: SetFile, offset: number, length: number): Buffer {
  const out = Buffer.allocUnsafe(length);
  const shift = (file.seed * 7919) % BLOCK.length;
  for (let done = 0; done < length; ) {
    const at = (offset + done + shift) % BLOCK.length;
    const n = Math.min(length - done, BLOCK.length - at);
    BLOCK.copy(out, done, at, at + n);
    done += n;
  }
  return out;
}

export function sha256Of(file: SetFile, chunk = MiB): string {
  const hash = createHash('sha256');
  for (let pos = 0; pos < file.size; pos += chunk) hash.update(chunkOf(file, pos, Math.min(chunk, file.size - pos)));
  return hash.digest('hex');
}

/** Writes the set under `root` on the local disk (the source of `cp -r`). */
export async function writeSet(root: string, files: SetFile[]): Promise<void> {
  for (const dir of folders(files)) await mkdir(join(root, dir), { recursive: true });
  for (const file of files) {
    const handle = await open(join(root, file.path), 'w');
    try {
      for (let pos = 0; pos < file.size; pos += MiB) await handle.write(chunkOf(file, pos, Math.min(MiB, file.size - pos)), 0, undefined, pos);
    } finally {
      await handle.close();
    }
  }
}
