// The native attribute cache (native/fuse-native.patch item 9) on a real
// mount of the in-memory filesystem: after a readdir, the kernel's lookups of
// the listed names are answered without a getattr reaching the filesystem;
// anything that may change attributes empties the cache; and what changes
// behind the mount's back shows once attr_timeout (1 s) has passed.
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, test } from 'vitest';
import { attrTimeoutMs } from '../../src/fuse/filesfs-fuse.js';
import type { Mount } from '../../src/fuse/mount.js';
import { lazyUnmount, mountFilesystem } from '../../src/fuse/mount.js';
import { MemoryFilesystem } from './support/memory-filesystem.js';
import { scratchDir, sh } from './support/shell.js';

const ENTRIES = 200;
let fs: MemoryFilesystem;
let mount: Mount | undefined;
let mnt: string;

const name = (dir: string, i: number): string => `${dir}/f-${String(i).padStart(3, '0')}.txt`;
const getattrsUnder = (dir: string): string[] => fs.callsOf('getattr').map((c) => c.path).filter((p) => p.startsWith(`${dir}/`));

function addFolder(dir: string): void {
  fs.addDir(dir);
  for (let i = 0; i < ENTRIES; i++) fs.addFile(name(dir, i), `file ${i}\n`);
}

beforeAll(async () => {
  fs = new MemoryFilesystem();
  mnt = join(await scratchDir('attr-cache'), 'mnt');
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

describe('attribute cache filled by readdir', () => {
  test('ls -l of a listed folder sends no getattr per entry', async () => {
    addFolder('/many');
    const result = await sh(`ls -l ${mnt}/many | tail -n +2 | wc -l`);
    expect(result.stdout.trim()).toBe(String(ENTRIES));
    expect(fs.callsOf('readdir').length).toBeGreaterThan(0);
    expect(getattrsUnder('/many')).toEqual([]);
  });

  test('an operation that may change attributes empties it: the next lookup reaches the filesystem', async () => {
    addFolder('/changed');
    // `ls -f` lists without looking entries up: the cache is full, the kernel knows no entry yet.
    expect((await sh(`ls -f ${mnt}/changed > /dev/null`)).code).toBe(0);
    expect((await sh(`chmod 600 ${mnt}/changed/f-000.txt`)).code).toBe(0);
    fs.calls.length = 0;
    const result = await sh(`stat -c %s ${mnt}/changed/f-001.txt`);
    expect(result.stdout.trim()).toBe(String('file 1\n'.length));
    expect(getattrsUnder('/changed')).toContain('/changed/f-001.txt');
  });

  test('a change behind the mount shows once attr_timeout has passed', async () => {
    addFolder('/server');
    expect((await sh(`ls -f ${mnt}/server > /dev/null`)).code).toBe(0);
    fs.addFile(name('/server', 2), 'changed on the server, longer\n');
    await new Promise((resolve) => setTimeout(resolve, 1_300));
    const result = await sh(`stat -c %s ${mnt}/server/f-002.txt`);
    expect(result.stdout.trim()).toBe(String('changed on the server, longer\n'.length));
  });
});

test('attrTimeoutMs reads attr_timeout from the option argument', () => {
  expect(attrTimeoutMs('-ofsname=x,attr_timeout=1,entry_timeout=2')).toBe(1000);
  expect(attrTimeoutMs('-oattr_timeout=0.25')).toBe(250);
  expect(attrTimeoutMs('-oac_attr_timeout=3,entry_timeout=2')).toBe(0);
  expect(attrTimeoutMs('')).toBe(0);
});
