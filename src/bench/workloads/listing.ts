// `ls -l` of a folder of N entries, cold (kernel caches dropped, a folder the
// mount never listed) and warm (the same command right after), with the API
// requests each caused. The folder itself is looked up first, untimed (as
// after `cd` or an `ls` of its parent), so that the counts are those of
// listing it. raw fetches the same listing page by page (per_page = filesfs's
// listing page size); it keeps no cache, so it has no warm column.
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { countEmulatorRequests, dropCaches, type Bench } from '../context.js';
import { runOk } from '../procs.js';
import { unavailable, type Row } from '../report.js';
import { timed } from '../units.js';
import { measure, type PassResult, type WayOrReason } from './common.js';

/** filesfs's default listing page size (src/vfs/options.ts DEFAULTS.listPageSize). */
export const LIST_PAGE_SIZE = 1_000;
const FOLDER = 'ls';

async function lsLong(dir: string): Promise<number> {
  const result = await runOk('sh', ['-c', 'ls -l "$1" > /dev/null', 'sh', dir]);
  return result.seconds;
}

export async function listing(bench: Bench): Promise<Row[]> {
  const entries = bench.scale.listEntries;
  const fsMount = typeof bench.filesfs === 'string' ? undefined : bench.filesfs;
  const rcMount = typeof bench.rclone === 'string' ? undefined : bench.rclone.direct;
  const warmResults: { filesfs?: PassResult; rclone?: PassResult } = {};

  const filesfs: WayOrReason = typeof bench.filesfs === 'string' ? bench.filesfs : async () => {
    const dir = join(fsMount!.mountpoint, FOLDER);
    await runOk('stat', [dir]);
    await dropCaches(bench);
    const cold = await countEmulatorRequests(bench, () => lsLong(dir));
    const warm = await countEmulatorRequests(bench, () => lsLong(dir));
    const seen = (await readdir(dir)).length;
    if (seen !== entries) throw new Error(`${dir}: ${seen} entries instead of ${entries}`);
    warmResults.filesfs = { seconds: warm.value, files: entries, requests: warm.requests };
    return { seconds: cold.value, files: entries, requests: cold.requests };
  };

  const raw: WayOrReason = async () => {
    const { value, requests } = await countEmulatorRequests(bench, () => timed(() => bench.raw.list(FOLDER, LIST_PAGE_SIZE)));
    if (value.value.entries !== entries) throw new Error(`raw listing: ${value.value.entries} entries instead of ${entries}`);
    return { seconds: value.seconds, files: entries, requests };
  };

  const rclone: WayOrReason = typeof bench.rclone === 'string' ? bench.rclone : async () => {
    const dir = join(rcMount!.mountpoint, FOLDER);
    await runOk('stat', [dir]);
    await dropCaches(bench);
    const cold = await lsLong(dir);
    const warm = await lsLong(dir);
    const seen = (await readdir(dir)).length;
    if (seen !== entries) throw new Error(`${dir}: ${seen} entries instead of ${entries}`);
    warmResults.rclone = { seconds: warm, files: entries };
    return { seconds: cold, files: entries };
  };

  const cold = await measure(bench, `ls -l of ${entries} entries`, 1, { filesfs, raw, rclone });
  const warmCell = (column: 'filesfs' | 'rclone'): Row['filesfs'] => {
    const r = warmResults[column];
    if (r) return { seconds: r.seconds, files_per_s: Math.round((entries / r.seconds) * 10) / 10, ...(r.requests ? { requests: r.requests } : {}) };
    return cold[column];
  };
  const label = entries.toLocaleString('en-US');
  return [
    { workload: 'ls_cold', title: `ls -l ${label} entries, cold`, files: entries, latency_ms: 0, ...cold },
    {
      workload: 'ls_warm', title: `ls -l ${label} entries, warm`, files: entries, latency_ms: 0,
      filesfs: warmCell('filesfs'), raw: unavailable('raw keeps no cache: each listing is the cold one'), rclone: warmCell('rclone'),
    },
  ];
}
