// Shared setup for filesystem-layer tests: a mock server, a fake clock both
// sides agree on, and a filesystem built on them.
import { createHash } from 'node:crypto';
import { expect } from 'vitest';
import { createLogger, type Logger } from '../../src/log/logger.js';
import { FilesFilesystem, type FilesFilesystemExtensions } from '../../src/vfs/filesystem.js';
import type { FilesystemOptions } from '../../src/vfs/options.js';
import { MockFilesClient, type MockOptions } from '../support/mock-files-client.js';

export class FakeClock {
  constructor(public ms = Date.UTC(2024, 0, 1)) {}
  readonly now = (): number => this.ms;
  advance(ms: number): void {
    this.ms += ms;
  }
}

export interface Setup {
  fs: FilesFilesystem;
  client: MockFilesClient;
  clock: FakeClock;
  logs: string[];
}

export function setup(options: FilesystemOptions = {}, mock: MockOptions = {}, extensions?: FilesFilesystemExtensions): Setup {
  const clock = new FakeClock();
  const client = new MockFilesClient({ now: clock.now, ...mock });
  const logs: string[] = [];
  const logger: Logger = createLogger({ level: 'debug', sink: (line) => logs.push(line) });
  const fs = new FilesFilesystem(client, { clock: clock.now, logger, uid: 1000, gid: 1000, ...options }, extensions);
  return { fs, client, clock, logs };
}

/** Expects a promise to reject with an FsError (or FilesError) whose code/kind is `code`. */
export async function expectErrno(promise: Promise<unknown>, code: string): Promise<void> {
  const err = await promise.then(() => undefined, (e: unknown) => e);
  expect(err, `expected ${code}`).toBeInstanceOf(Error);
  const got = (err as { code?: string; kind?: string }).code ?? (err as { kind?: string }).kind;
  expect(got, String(err)).toBe(code);
}

/** Deterministic bytes (xorshift32), so that any misplaced byte shows. */
export function pattern(size: number, seed = 1): Buffer {
  const out = Buffer.alloc(size);
  let x = seed >>> 0 || 1;
  const words = Math.floor(size / 4);
  for (let i = 0; i < words; i++) {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    out.writeUInt32LE(x, i * 4);
  }
  for (let i = words * 4; i < size; i++) out[i] = i & 0xff;
  return out;
}

export const O_RDONLY = 0;
export const O_WRONLY = 1;
export const O_RDWR = 2;
export const O_CREAT = 0o100;
export const O_EXCL = 0o200;
export const O_TRUNC = 0o1000;

export const KiB = 1024;
export const MiB = 1024 * KiB;

/** Reads a whole file through the filesystem the way the kernel would: `chunk`-sized reads in order. */
export async function readAll(fs: FilesFilesystem, path: string, chunk = 128 * KiB): Promise<Buffer> {
  const fh = await fs.open(path, O_RDONLY);
  const parts: Buffer[] = [];
  for (let pos = 0; ; ) {
    const buf = Buffer.alloc(chunk);
    const n = await fs.read(path, fh, buf, pos);
    if (n === 0) break;
    parts.push(buf.subarray(0, n));
    pos += n;
  }
  await fs.release(path, fh);
  return Buffer.concat(parts);
}

/** Reads a whole file like readAll, hashing as it goes (no copy of the whole file kept). */
export async function readHash(fs: FilesFilesystem, path: string, chunk = 128 * KiB): Promise<{ sha256: string; size: number }> {
  const fh = await fs.open(path, O_RDONLY);
  const hash = createHash('sha256');
  const buf = Buffer.alloc(chunk);
  let pos = 0;
  for (;;) {
    const n = await fs.read(path, fh, buf, pos);
    if (n === 0) break;
    hash.update(buf.subarray(0, n));
    pos += n;
  }
  await fs.release(path, fh);
  return { sha256: hash.digest('hex'), size: pos };
}

/** One read through a handle, as the kernel sends it: the bytes it returned. */
export async function readAt(fs: Pick<FilesFilesystem, 'read'>, path: string, fh: number, position: number, length: number): Promise<Buffer> {
  const buf = Buffer.alloc(length);
  const n = await fs.read(path, fh, buf, position);
  return buf.subarray(0, n);
}
