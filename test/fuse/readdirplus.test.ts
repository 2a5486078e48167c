// READDIRPLUS on a real mount of the in-memory filesystem: readdir's stats go
// to the kernel with the listing (native/fuse-native.c hands them to libfuse
// with FUSE_FILL_DIR_PLUS), so `ls -l` of a folder nobody has looked at costs
// the listing and no LOOKUP per entry (each would be a getattr through the
// event loop; libfuse 2.9 had no READDIRPLUS). What the kernel learnt that
// way is trusted for attr_timeout (1 s) only, as any other answer.
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, test } from 'vitest';
import type { Mount } from '../../src/fuse/mount.js';
import { lazyUnmount, mountFilesystem } from '../../src/fuse/mount.js';
import { MemoryFilesystem } from './support/memory-filesystem.js';
import { scratchDir, sh } from './support/shell.js';

const ENTRIES = 500;
let fs: MemoryFilesystem;
let mount: Mount | undefined;
let mnt: string;

const name = (dir: string, i: number): string => `${dir}/f-${String(i).padStart(3, '0')}.txt`;
/** getattr calls for entries of `dir`: the kernel's LOOKUPs of them (libfuse answers a LOOKUP with a getattr). */
const lookupsUnder = (dir: string): string[] => fs.callsOf('getattr').map((c) => c.path).filter((p) => p.startsWith(`${dir}/`));

function addFolder(dir: string): void {
  fs.addDir(dir);
  for (let i = 0; i < ENTRIES; i++) fs.addFile(name(dir, i), `file ${i}\n`);
}

beforeAll(async () => {
  fs = new MemoryFilesystem();
  mnt = join(await scratchDir('readdirplus'), 'mnt');
  await mkdir(mnt);
  mount = await mountFilesystem(fs, mnt);
});

afterAll(async () => {
  await mount?.unmount().catch(() => undefined);
  await lazyUnmount(mnt);
});

beforeEach(() => {
  fs.calls.length = 0;
});

describe('attributes sent with the listing (READDIRPLUS)', () => {
  test('a cold ls -l of a folder sends no LOOKUP per entry, and shows every size', async () => {
    addFolder('/many');
    const result = await sh(`LC_ALL=C ls -l ${mnt}/many | tail -n +2`);
    const lines = result.stdout.trim().split('\n');
    expect(lines).toHaveLength(ENTRIES);
    expect(lines[7]).toMatch(/ 7 .* f-007\.txt$/); // "file 7\n"
    expect(lines[123]).toMatch(/ 9 .* f-123\.txt$/); // "file 123\n"
    expect(fs.callsOf('readdir').map((c) => c.path)).toContain('/many');
    expect(lookupsUnder('/many')).toEqual([]);
  });

  test('stat of a listed entry right after ls is answered by the kernel', async () => {
    addFolder('/listed');
    expect((await sh(`ls ${mnt}/listed > /dev/null`)).code).toBe(0);
    const result = await sh(`stat -c %s ${mnt}/listed/f-042.txt`);
    expect(result.stdout.trim()).toBe(String('file 42\n'.length));
    expect(lookupsUnder('/listed')).toEqual([]);
  });

  test('a change behind the mount shows once attr_timeout has passed', async () => {
    addFolder('/server');
    expect((await sh(`ls -l ${mnt}/server > /dev/null`)).code).toBe(0);
    fs.addFile(name('/server', 2), 'changed on the server, longer\n');
    await new Promise((resolve) => setTimeout(resolve, 1_300));
    const result = await sh(`stat -c %s ${mnt}/server/f-002.txt`);
    expect(result.stdout.trim()).toBe(String('changed on the server, longer\n'.length));
  });
});
