// Shared setup for write-back tests on the filesystem layer: a filesystem
// (mock client or any FilesClient) with the write-back layer on a fresh cache
// dir, and the small steps a kernel would send (create + write + close).
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type { FilesClient } from '../../../src/client/files-client.js';
import { createLogger, type Logger } from '../../../src/log/logger.js';
import { FilesFilesystem } from '../../../src/vfs/filesystem.js';
import type { FilesystemOptions } from '../../../src/vfs/options.js';
import type { WriteBackOptions } from '../../../src/vfs/write-back/options.js';
import { WriteBack } from '../../../src/vfs/write-back/write-back.js';
import { MockFilesClient, type MockOptions } from '../../support/mock-files-client.js';
import { KiB, O_CREAT, O_TRUNC, O_WRONLY } from './flags.js';

export { KiB, MiB, O_APPEND_FLAG as O_APPEND, O_CREAT, O_EXCL, O_RDONLY, O_RDWR, O_TRUNC, O_WRONLY } from './flags.js';

export function cacheDirFor(prefix = 'wb'): string {
  return join(mkdtempSync(join(process.env.FILESFS_TEST_ROOT ?? tmpdir(), `${prefix}-`)), 'cache');
}

export interface WbSetup<C extends FilesClient = MockFilesClient> {
  fs: FilesFilesystem;
  client: C;
  writeBack: WriteBack;
  cacheDir: string;
  logs: string[];
}

/** Default test timing: short delays so tests run fast, real timers. */
export const FAST: Partial<WriteBackOptions> = { uploadDelayMs: 20, retryBaseDelayMs: 20, retryMaxDelayMs: 200, failedRetryDelayMs: 60_000, fsyncTimeoutMs: 10_000 };

export async function writeBackFs<C extends FilesClient>(
  client: C,
  options: { cacheDir?: string; writeBack?: Partial<WriteBackOptions>; fs?: FilesystemOptions } = {},
): Promise<WbSetup<C>> {
  const cacheDir = options.cacheDir ?? cacheDirFor();
  const logs: string[] = [];
  const logger: Logger = createLogger({ level: 'debug', sink: (line) => logs.push(line) });
  const writeBack = await WriteBack.open({ cacheDir, ...FAST, ...options.writeBack }, logger);
  const fs = new FilesFilesystem(client, { logger, uid: 1000, gid: 1000, ...options.fs }, { writeLayer: writeBack.factory });
  writeBack.resume();
  return { fs, client, writeBack, cacheDir, logs };
}

export function mockSetup(options: { cacheDir?: string; writeBack?: Partial<WriteBackOptions>; fs?: FilesystemOptions; mock?: MockOptions; client?: MockFilesClient } = {}): Promise<WbSetup> {
  return writeBackFs(options.client ?? new MockFilesClient(options.mock), options);
}

/** create + writes of `chunk` bytes + flush + release, as the kernel sends them for `cp`. */
export async function writeFile(fs: FilesFilesystem, path: string, data: Buffer | string, options: { chunk?: number; flags?: number } = {}): Promise<void> {
  const bytes = typeof data === 'string' ? Buffer.from(data) : data;
  const fh = await fs.create(path, 0o644, options.flags ?? O_CREAT | O_WRONLY | O_TRUNC);
  const chunk = options.chunk ?? 128 * KiB;
  for (let pos = 0; pos < bytes.length; pos += chunk) {
    // A fresh buffer per request, as the adapter hands over (valid only during the call).
    const part = Buffer.from(bytes.subarray(pos, pos + chunk));
    await fs.write(path, fh, part, pos);
  }
  await fs.flush(path, fh);
  await fs.release(path, fh);
}

/** Polls until `condition` holds (or throws after `timeoutMs`). */
export async function until(condition: () => boolean | Promise<boolean>, timeoutMs = 10_000, what = 'condition'): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(5);
  }
}
