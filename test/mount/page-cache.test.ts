// The kernel's page cache across opens, on a real mount: kept while opens
// read the same version (a second cat costs no read request), dropped when
// another version came, even one of the same size and time (a client that
// keeps the time it sends): a new open reads the new bytes, whole, never the
// old pages or a mix.
import { join } from 'node:path';
import { afterEach, describe, expect, test } from 'vitest';
import { useEmulator, useEmulatorClients } from '../support/emulator.js';
import { q, sh, startMount, stopMounts } from '../support/mount.js';

const API_KEY = 'pageCacheKey31';
const emu = useEmulator({ apiKey: API_KEY });
const other = useEmulatorClients(emu, API_KEY);

afterEach(stopMounts);

const KEPT_TIME = new Date('2026-01-01T00:00:00Z');
const put = (path: string, fill: string, size: number): Promise<unknown> => other().upload(path, { buffer: Buffer.alloc(size, fill) }, { mtime: KEPT_TIME });

describe('the kernel page cache across opens', () => {
  test('another version of the same size and time: a new open reads it whole, not the old pages', async () => {
    await put('pc/small', 'A', 5000);
    await put('pc/big', 'A', 8 * 1024 * 1024);
    const m = await startMount({ url: emu().url, apiKey: API_KEY, args: ['--attr-ttl', '1', '--dir-ttl', '1'] });
    const small = join(m.mountpoint, 'pc/small');
    const big = join(m.mountpoint, 'pc/big');
    const first = await sh(`head -c 3 ${q(small)}; echo; head -c 4M ${q(big)} | tr -d A | wc -c`);
    expect(first.stdout).toBe('AAA\n0\n');
    // The next second on the server's clock: the server's own mtime is what tells the versions apart
    // (within one second, only the checksums it computes afterwards could).
    await new Promise((r) => setTimeout(r, 1_100));
    await put('pc/small', 'B', 5000);
    await put('pc/big', 'B', 8 * 1024 * 1024);
    await new Promise((r) => setTimeout(r, 2_500)); // past the TTLs (and the kernel's 1 s)
    const after = await sh(`stat -c %s.%Y ${q(small)}; head -c 3 ${q(small)}; echo; tr -d B < ${q(big)} | wc -c; wc -c < ${q(big)}`);
    expect(after.stderr).toBe('');
    expect(after.stdout).toBe(`5000.${KEPT_TIME.getTime() / 1000}\nBBB\n0\n8388608\n`);
  });

  test('the same version opened again reads from the page cache: no read reaches the mount', async () => {
    await put('pc2/f', 'C', 4 * 1024 * 1024);
    const m = await startMount({ url: emu().url, apiKey: API_KEY, args: ['--log-level', 'trace'] });
    const f = join(m.mountpoint, 'pc2/f');
    expect((await sh(`cat ${q(f)} | wc -c`)).stdout).toBe('4194304\n');
    const reads = (): number => m.stderr().split('\n').filter((l) => /TRACE \[mount:fuse\] read "\/pc2\/f"/.test(l)).length;
    /** The count once the mount's log lines (a pipe read asynchronously here) have all arrived. */
    const settledReads = async (): Promise<number> => {
      for (let last = -1; ; ) {
        await new Promise((r) => setTimeout(r, 300));
        const now = reads();
        if (now === last) return now;
        last = now;
      }
    };
    const before = await settledReads();
    expect(before).toBeGreaterThan(0);
    expect((await sh(`cat ${q(f)} | wc -c`)).stdout).toBe('4194304\n');
    expect(await settledReads()).toBe(before);
  });
});
