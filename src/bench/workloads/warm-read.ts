// Reading a file again after a remount: what a disk cache that survives
// unmounts is for (a program reading the same big file every morning).
// filesfs with its default content cache, and rclone with
// `--vfs-cache-mode full` (which keeps what it read in its cache dir across
// restarts), each on a mount of its own with a cache dir of its own:
//   first   page cache dropped, `dd` of a file neither read before (the
//           cache fills as it goes): the cold read with the cache on;
//   again   unmounted, mounted again on the same cache dir, page cache
//           dropped, `dd` of the same file (median of the passes, a
//           remount before each).
// raw is the cold download of the same bytes in both rows: what reading
// again would cost without a cache. filesfs's request counts show what the
// second read asked of the server (no download).
import { join } from 'node:path';
import { countEmulatorRequests, dropCaches, type Bench } from '../context.js';
import { FilesfsMount } from '../filesfs.js';
import type { Janitor } from '../procs.js';
import { runOk } from '../procs.js';
import { RcloneMount, type RcloneMountSettings } from '../rclone.js';
import type { Row } from '../report.js';
import { WARM_FILE } from '../seed.js';
import { formatSize, timed } from '../units.js';
import { measure, type WayOrReason } from './common.js';

async function ddRead(path: string, size: number): Promise<number> {
  const result = await runOk('dd', [`if=${path}`, 'of=/dev/null', 'bs=1M'], { timeoutMs: 30 * 60_000 });
  const m = /^(\d+) bytes/m.exec(result.stderr);
  if (!m || Number(m[1]) !== size) throw new Error(`dd ${path}: read ${m?.[1] ?? '?'} bytes, expected ${size}`);
  return result.seconds;
}

export async function warmRead(bench: Bench, janitor: Janitor, rcloneSettings: RcloneMountSettings): Promise<Row[]> {
  const size = bench.scale.bigBytes;
  const filesfsDir = { mountpoint: join(bench.paths.mounts, 'filesfs-warm'), cacheDir: join(bench.paths.work, 'filesfs-warm-cache') };
  const rcloneDir = { mountpoint: join(bench.paths.mounts, 'rclone-warm'), cacheDir: join(bench.paths.rcloneCache, 'warm') };
  await runOk('mkdir', ['-p', '-m', '700', filesfsDir.mountpoint, filesfsDir.cacheDir, rcloneDir.mountpoint, rcloneDir.cacheDir]);

  const mountFilesfs = (): Promise<FilesfsMount> => FilesfsMount.start(janitor, { ...filesfsDir, baseUrl: bench.emulator.url, apiKey: bench.emulator.apiKey });
  const side = typeof bench.rclone === 'string' ? undefined : bench.rclone;
  const mountRclone = (): Promise<RcloneMount> => RcloneMount.start(janitor, bench.tools.rclone.path!, bench.paths.rcloneConfig, side!.server.url, rcloneDir.mountpoint, rcloneDir.cacheDir, { ...rcloneSettings, cacheMode: 'full' });

  let fs: FilesfsMount | undefined;
  let rc: RcloneMount | undefined;
  try {
    // First read, the cache filling as it goes.
    const first = await measure(bench, 'sequential read, first (cache on)', 1, {
      filesfs: typeof bench.filesfs === 'string' ? bench.filesfs : async () => {
        fs = await mountFilesfs();
        await dropCaches(bench);
        const { value: seconds, requests } = await countEmulatorRequests(bench, () => ddRead(join(fs!.mountpoint, WARM_FILE), size));
        return { seconds, bytes: size, requests };
      },
      raw: async () => {
        await dropCaches(bench);
        const { value, requests } = await countEmulatorRequests(bench, () => timed(() => bench.raw.download(WARM_FILE, size)));
        return { seconds: value.seconds, bytes: size, requests };
      },
      rclone: side ? async () => {
        rc = await mountRclone();
        await dropCaches(bench);
        return { seconds: await ddRead(join(rc.mountpoint, WARM_FILE), size), bytes: size };
      } : (bench.rclone as string),
    });

    // Again, after a remount each time.
    const again = await measure(bench, 'sequential read again after a remount', bench.scale.passes, {
      filesfs: fs ? async () => {
        await fs!.unmount();
        fs = await mountFilesfs();
        await dropCaches(bench);
        const { value: seconds, requests } = await countEmulatorRequests(bench, () => ddRead(join(fs!.mountpoint, WARM_FILE), size));
        return { seconds, bytes: size, requests };
      } : (typeof bench.filesfs === 'string' ? bench.filesfs : 'the first read failed'),
      raw: async () => {
        await dropCaches(bench);
        const { value, requests } = await countEmulatorRequests(bench, () => timed(() => bench.raw.download(WARM_FILE, size)));
        return { seconds: value.seconds, bytes: size, requests };
      },
      rclone: rc ? async () => {
        await rc!.unmount();
        rc = await mountRclone();
        await dropCaches(bench);
        return { seconds: await ddRead(join(rc.mountpoint, WARM_FILE), size), bytes: size };
      } : (typeof bench.rclone === 'string' ? bench.rclone : 'the first read failed') as WayOrReason,
    });
    return [
      { workload: 'seq_read_first', title: `seq read ${formatSize(size)}, first (cache on; rclone full)`, bytes: size, latency_ms: 0, ...first },
      { workload: 'seq_read_warm', title: `seq read ${formatSize(size)} after remount (warm; raw cold)`, bytes: size, latency_ms: 0, ...again },
    ];
  } finally {
    await fs?.unmount().catch(() => undefined);
    await rc?.unmount().catch(() => undefined);
  }
}
