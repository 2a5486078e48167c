// Shared pieces of the client contract tests: a client for a running
// emulator (closed after the file), streaming hashes, and deterministic data.
import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import { afterAll } from 'vitest';
import type { ClientOptions } from '../../src/client/options.js';
import type { LogLevel } from '../../src/log/logger.js';
import { HttpFilesClient } from '../../src/client/http-files-client.js';
import type { RunningEmulator } from '../../src/emulator/index.js';

export const API_KEY = 'clientContractKey42';
export const MiB = 1024 * 1024;

const open: HttpFilesClient[] = [];
afterAll(async () => {
  await Promise.all(open.splice(0).map((c) => c.close().catch(() => undefined)));
});

/** A client for `emu`, closed after the test file. */
export function clientFor(emu: RunningEmulator, extra: Partial<ClientOptions> = {}): HttpFilesClient {
  const c = new HttpFilesClient({
    baseUrl: emu.url,
    credentials: { apiKey: API_KEY },
    // FILESFS_TEST_CLIENT_LOG=debug shows every request of these tests on stderr.
    logLevel: (process.env.FILESFS_TEST_CLIENT_LOG as LogLevel | undefined) ?? 'silent',
    ...(emu.caCertFile ? { caFile: emu.caCertFile } : {}),
    ...extra,
  });
  open.push(c);
  return c;
}

/** `size` bytes of a cheap, position-dependent pattern (seeded), as a stream of 1 MiB chunks. */
export function patternStream(size: number, seed = 1): Readable {
  let pos = 0;
  return new Readable({
    read() {
      if (pos >= size) return void this.push(null);
      const n = Math.min(MiB, size - pos);
      this.push(patternChunk(pos, n, seed));
      pos += n;
    },
  });
}

export function patternChunk(offset: number, length: number, seed = 1): Buffer {
  const b = Buffer.allocUnsafe(length);
  for (let i = 0; i < length; i++) {
    const p = offset + i;
    b[i] = (p * 31 + seed * 7 + (p >>> 11)) & 0xff;
  }
  return b;
}

export async function sha256(stream: AsyncIterable<Buffer | string> | Iterable<Buffer | string>): Promise<string> {
  const h = createHash('sha256');
  for await (const chunk of stream) h.update(chunk);
  return h.digest('hex');
}

export async function collect(iterable: AsyncIterable<{ path: string }[]>): Promise<string[]> {
  const out: string[] = [];
  for await (const page of iterable) out.push(...page.map((e) => e.path));
  return out;
}
