// fuse-native answers ETIMEDOUT to the kernel after 15 s unless told
// otherwise, while the operation goes on in JavaScript. fsync waits for an
// upload and may take far longer; this mounts a filesystem whose fsync takes
// 17 s and checks that the caller still gets success, after the full wait.
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, test } from 'vitest';
import type { Mount } from '../../src/fuse/mount.js';
import { lazyUnmount, mountFilesystem } from '../../src/fuse/mount.js';
import { MemoryFilesystem } from './support/memory-filesystem.js';
import { scratchDir, sh } from './support/shell.js';

const FSYNC_DELAY_MS = 17_000;

let fs: MemoryFilesystem;
let mount: Mount | undefined;
let mnt: string;

beforeAll(async () => {
  fs = new MemoryFilesystem();
  fs.fsyncDelayMs = FSYNC_DELAY_MS;
  mnt = join(await scratchDir('long-op'), 'mnt');
  await mkdir(mnt);
  mount = await mountFilesystem(fs, mnt);
});

afterAll(async () => {
  await mount?.unmount().catch(() => undefined);
  await lazyUnmount(mnt);
});

test('an fsync that takes 17 s is not cut off at fuse-native\'s 15 s default', async () => {
  const started = Date.now();
  const r = await sh(`LC_ALL=C dd if=/dev/zero of='${mnt}/slow' bs=4096 count=1 conv=fsync status=none`, { timeoutMs: 40_000 });
  const elapsed = Date.now() - started;
  expect(r.stderr).toBe('');
  expect(r.code).toBe(0);
  expect(elapsed).toBeGreaterThanOrEqual(FSYNC_DELAY_MS - 100);
  expect(fs.callsOf('fsync-done').map((c) => c.path)).toEqual(['/slow']);
}, 30_000);
