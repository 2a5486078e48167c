// DirSync (src/vfs/write-back/durable.ts): a directory fsync'd again and again
// (the staging and journal dirs, two or three times per small file closed)
// is opened once and kept open until close(), not opened per fsync.
import { mkdirSync, mkdtempSync, readdirSync, readlinkSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { DirSync } from '../../../src/vfs/write-back/durable.js';

const dir = mkdtempSync(join(tmpdir(), 'dirsync-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Descriptors of this process open on `path`. */
function fdsOn(path: string): number {
  return readdirSync('/proc/self/fd').filter((fd) => {
    try {
      return readlinkSync(`/proc/self/fd/${fd}`) === path;
    } catch {
      return false;
    }
  }).length;
}

describe('DirSync', () => {
  it('keeps one descriptor of its directory across fsyncs, and close() releases it', async () => {
    const sync = new DirSync(dir);
    expect(fdsOn(dir)).toBe(0);
    await sync.sync();
    expect(fdsOn(dir)).toBe(1);
    await Promise.all(Array.from({ length: 20 }, () => sync.sync()));
    await sync.sync();
    expect(fdsOn(dir)).toBe(1);
    await sync.close();
    expect(fdsOn(dir)).toBe(0);
    // Usable again after close (opened anew).
    await sync.sync();
    expect(fdsOn(dir)).toBe(1);
    await sync.close();
  });

  it('a missing directory fails the fsync, and a later one opens it again', async () => {
    const missing = join(dir, 'not-yet');
    const sync = new DirSync(missing);
    await expect(sync.sync()).rejects.toMatchObject({ code: 'ENOENT' });
    mkdirSync(missing);
    await sync.sync();
    expect(fdsOn(missing)).toBe(1);
    await sync.close();
  });
});
