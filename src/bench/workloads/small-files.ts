// Many small files: `cp -r` of N × 4 KiB files into a mount (timed until the
// uploads are durable, like the large write) and out of it (page cache
// dropped; a folder neither mount has listed), at the latency the caller
// has set (the emulator's for filesfs and raw, the delaying proxy's for
// rclone). raw does each file's API calls (begin_upload, PUT, end; or
// GET /files then GET of its URL) with as many files in flight as filesfs
// moves small files at once (its small-upload lane and its folder
// read-ahead are both as wide as the client's connection pool).
import { mkdir, readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { CLIENT_DEFAULTS } from '../../client/index.js';
import { countEmulatorRequests, dropCaches, type Bench } from '../context.js';
import { runOk } from '../procs.js';
import { eachLimit } from '../raw.js';
import type { RcloneMount } from '../rclone.js';
import type { Row } from '../report.js';
import { smallName, smallSource } from '../seed.js';
import { now, timed } from '../units.js';
import { measure, type WayOrReason } from './common.js';

const DURABLE_TIMEOUT_MS = 15 * 60_000;
/** Small files filesfs moves at once, in either direction (see the header). */
const SMALL_FILES_AT_ONCE = CLIENT_DEFAULTS.connections;

async function expectFiles(dir: string, count: number): Promise<void> {
  const names = await readdir(dir);
  if (names.length !== count) throw new Error(`${dir}: ${names.length} files instead of ${count}`);
}

/** The mount rclone uses at this latency, or why there is none. */
export type RcloneAt = RcloneMount | string;

export async function smallFilesIn(bench: Bench, latencyMs: number, rclone: RcloneAt): Promise<Row> {
  const { smallFiles: count, smallFileBytes: size } = bench.scale;
  const source = join(bench.paths.sources, 'small');
  const target = `small-in-${latencyMs}`;
  const names = Array.from({ length: count }, (_, i) => smallName(i));

  const filesfs: WayOrReason = typeof bench.filesfs === 'string' ? bench.filesfs : bench.filesfsWrites ?? (async () => {
    const mount = bench.filesfs as Exclude<Bench['filesfs'], string>;
    const { value, requests } = await countEmulatorRequests(bench, async () => {
      const started = now();
      const cp = await runOk('cp', ['-r', source, join(mount.mountpoint, target)]);
      return { seconds: (await mount.waitDurable(DURABLE_TIMEOUT_MS)) - started, copySeconds: cp.seconds };
    });
    const listed = await bench.raw.list(target, 1_000);
    if (listed.entries !== count) throw new Error(`${target}: ${listed.entries} files on the server instead of ${count}`);
    bench.filesfsBytesMoved += count * size;
    return { ...value, files: count, bytes: count * size, requests };
  });

  const raw: WayOrReason = async () => {
    const buffers = await Promise.all(names.map((n) => readFile(join(source, n))));
    const { value, requests } = await countEmulatorRequests(bench, () => timed(() =>
      eachLimit(names, SMALL_FILES_AT_ONCE, async (n, i) => bench.raw.uploadBuffer(`${target}-raw/${n}`, buffers[i]!))));
    return { seconds: value.seconds, files: count, bytes: count * size, requests };
  };

  const rcloneWay: WayOrReason = typeof rclone === 'string' ? rclone : async () => {
    const proxy = typeof bench.rclone === 'string' ? undefined : bench.rclone.proxy;
    proxy?.resetStats();
    const started = now();
    const cp = await runOk('cp', ['-r', source, join(rclone.mountpoint, target)]);
    const expected = names.map((n) => ({ path: `${target}/${n}`, size }));
    const durableAt = await rclone.waitDurable(bench.paths.rcloneBackend, expected, DURABLE_TIMEOUT_MS);
    const stats = latencyMs > 0 ? proxy?.stats() : undefined;
    return {
      seconds: durableAt - started, copySeconds: cp.seconds, files: count, bytes: count * size,
      ...(stats ? { requests: { total: stats.total, by_route: stats.requests } } : {}),
    };
  };

  const cells = await measure(bench, `small files in @${latencyMs} ms`, 1, { filesfs, raw, rclone: rcloneWay });
  return { workload: `small_files_in_${latencyMs}ms`, title: `cp -r ${count} × 4 KiB in @${latencyMs} ms (durable)`, files: count, bytes: count * size, latency_ms: latencyMs, ...cells };
}

export async function smallFilesOut(bench: Bench, latencyMs: number, rclone: RcloneAt): Promise<Row> {
  const { smallFiles: count, smallFileBytes: size } = bench.scale;
  const folder = smallSource(latencyMs);
  const out = (who: string): string => join(bench.paths.outputs, `${who}-${latencyMs}`);

  const filesfs: WayOrReason = typeof bench.filesfs === 'string' ? bench.filesfs : async () => {
    const mount = bench.filesfs as Exclude<Bench['filesfs'], string>;
    await dropCaches(bench);
    const { value: cp, requests } = await countEmulatorRequests(bench, () => runOk('cp', ['-r', join(mount.mountpoint, folder), out('filesfs')]));
    await expectFiles(out('filesfs'), count);
    bench.filesfsBytesMoved += count * size;
    return { seconds: cp.seconds, files: count, bytes: count * size, requests };
  };

  const raw: WayOrReason = async () => {
    await dropCaches(bench);
    await mkdir(out('raw'), { recursive: true });
    const remotes = Array.from({ length: count }, (_, i) => `${folder}/${smallName(i)}`);
    const { value, requests } = await countEmulatorRequests(bench, () => timed(() => bench.raw.downloadFiles(remotes, out('raw'), SMALL_FILES_AT_ONCE)));
    await expectFiles(out('raw'), count);
    return { seconds: value.seconds, files: count, bytes: count * size, requests };
  };

  const rcloneWay: WayOrReason = typeof rclone === 'string' ? rclone : async () => {
    const proxy = typeof bench.rclone === 'string' ? undefined : bench.rclone.proxy;
    await dropCaches(bench);
    proxy?.resetStats();
    const cp = await runOk('cp', ['-r', join(rclone.mountpoint, folder), out('rclone')]);
    const stats = latencyMs > 0 ? proxy?.stats() : undefined;
    await expectFiles(out('rclone'), count);
    return { seconds: cp.seconds, files: count, bytes: count * size, ...(stats ? { requests: { total: stats.total, by_route: stats.requests } } : {}) };
  };

  const cells = await measure(bench, `small files out @${latencyMs} ms`, 1, { filesfs, raw, rclone: rcloneWay });
  return { workload: `small_files_out_${latencyMs}ms`, title: `cp -r ${count} × 4 KiB out @${latencyMs} ms`, files: count, bytes: count * size, latency_ms: latencyMs, ...cells };
}
