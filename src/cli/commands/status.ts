// `filesfs status <mountpoint> [--json]`: what a running mount has not
// uploaded yet, and what it has cached of file contents. Finds the filesfs
// process serving the mountpoint (registry, src/control), asks it "status"
// and "cache" over its private control socket and prints the answers:
// totals, then each file (uploading with progress, failed with the server's
// reason and where its content is kept, retrying, pending, still open), then
// the write-size histogram, then the content cache (size, hit rate,
// evictions, why it stopped growing) and memory. --json prints the mount's
// answer as is (WriteBackStatus, src/vfs/write-back/status.ts: pendingUploads,
// pendingBytes, uploading, failedUploads, files[] with path, size, state,
// uploadedBytes, error, stagingFile, …), with the cache under `contentCache`
// (ContentCacheStatus, src/vfs/content-cache/status.ts). A read-only mount
// uploads nothing: it answers the cache only. Exit status: 0 with an answer,
// 1 when no running filesfs mount is there (or it cannot answer), 2 for usage.
import { ConfigError } from '../../options/config-error.js';
import { controlRequest, ControlRequestError, ControlUnavailableError, findMount } from '../../control/index.js';
import { canonicalMountpoint, findMount as findKernelMount } from '../../fuse/index.js';
import { formatBytes, type ContentCacheStatus, type UploadStatusEntry, type WriteBackStatus } from '../../vfs/index.js';
import { parseCommandLine } from '../args.js';
import type { Command } from '../command.js';

const usage = `Usage: filesfs status <mountpoint> [--json]

Shows what a running filesfs mount has not uploaded yet: files pending (closed,
waiting for the upload delay or a free slot), uploading (with progress),
retrying after a network or server failure, failed (refused by the server:
the reason, and where the content is kept in the cache dir), and files still
open for writing; then totals since the mount started and the sizes of the
write requests the mount received; then the content cache on disk (its size
and limit, hit rate, evictions, and why it stopped growing if it did) and the
memory the mount uses.

Options:
  --json                print the mount's answer as JSON (pendingUploads,
                        pendingBytes, uploading, failedUploads, files[] with
                        path, size, state, uploadedBytes, error, stagingFile;
                        contentCache with disk, memory, process)
  --timeout S           give up after S seconds without an answer (default 10)
  -h, --help            show this help`;

const DEFAULT_TIMEOUT_S = 10;
/** Below this much free space in the cache dir, status warns (a large copy would not fit). */
const LOW_DISK_BYTES = 64 * 1024 * 1024;

const fail = (line: string): number => {
  process.stderr.write(`filesfs: ${line}\n`);
  return 1;
};

export const command: Command = {
  summary: 'show pending, uploading and failed uploads of a mount, and its content cache',
  usage,
  async run(args) {
    const { values, positionals } = parseCommandLine(args, { json: { type: 'boolean' }, timeout: { type: 'string' } });
    if (positionals.length !== 1) throw new ConfigError('status: expected one mountpoint (usage: filesfs status <mountpoint> [--json])');
    const timeoutS = values.timeout === undefined ? DEFAULT_TIMEOUT_S : Number(values.timeout);
    if (!(timeoutS > 0)) throw new ConfigError(`--timeout: expected a number of seconds > 0, got ${JSON.stringify(values.timeout)}`);
    const target = await canonicalMountpoint(positionals[0]!);

    const record = await findMount(target);
    if (!record) {
      const kernel = await findKernelMount(target);
      if (!kernel) return fail(`${target} is not mounted`);
      return fail(`${target} is not served by a running filesfs mount (${kernel.fstype} from ${kernel.source}${kernel.fstype === 'fuse.filesfs' ? ': its process is gone; run filesfs unmount ' + target : ''})`);
    }
    const timeoutMs = Math.round(timeoutS * 1000);
    const unknown = (err: unknown): boolean => err instanceof ControlRequestError && /unknown control request/.test(err.message);
    let status: WriteBackStatus | null;
    let cache: ContentCacheStatus | null;
    try {
      // A read-only mount uploads nothing ("status" is unknown to it); one older than the content cache has no "cache".
      status = await controlRequest<WriteBackStatus>(record.socket, 'status', { timeoutMs }).catch((err: unknown) => { if (unknown(err)) return null; throw err; });
      cache = await controlRequest<ContentCacheStatus>(record.socket, 'cache', { timeoutMs }).catch((err: unknown) => { if (unknown(err)) return null; throw err; });
    } catch (err) {
      if (err instanceof ControlUnavailableError) return fail(`the filesfs mount at ${target} (pid ${record.pid}) does not answer on ${record.socket}: ${err.message}`);
      return fail(`status of ${target}: ${err instanceof Error ? err.message : String(err)}`);
    }
    if (!status && !cache) return fail(`the filesfs mount at ${target} uploads nothing (it is mounted read-only)`);
    if (values.json) {
      process.stdout.write(JSON.stringify({ ...(status ?? {}), ...(cache ? { contentCache: cache } : {}) }, null, 2) + '\n');
      return 0;
    }
    const lines = status ? formatStatus(target, status) : `${target}: mounted read-only; nothing is uploaded\n`;
    process.stdout.write(cache ? formatContentCache(cache, lines) : lines);
    return 0;
  },
};

/** The human-readable report. */
export function formatStatus(mountpoint: string, s: WriteBackStatus, now = Date.now()): string {
  const lines: string[] = [];
  // Loud first: changes that could not be kept, and a cache disk that is (nearly) full.
  if (s.writeProblems > 0) {
    lines.push(`WARNING: ${s.writeProblems} change${s.writeProblems === 1 ? '' : 's'} could not be kept (writing or recording ${s.writeProblems === 1 ? 'it' : 'them'} failed); the programs got the error:`);
    for (const p of s.problems.slice(-10)) lines.push(`  ${p.at}  ${p.path}: ${p.error}; ${p.outcome}`);
  }
  if (s.conflictCount > 0) {
    lines.push(`${s.conflictCount} conflict${s.conflictCount === 1 ? '' : 's'}: changed on the server while this mount changed ${s.conflictCount === 1 ? 'it' : 'them'}:`);
    for (const c of s.conflicts.slice(-10)) lines.push(`  ${c.at}  ${c.path}: ${c.copy ? `this mount's version is ${c.copy}` : "this mount's change was dropped"} (${c.reason})`);
  }
  if (s.cacheDisk && s.cacheDisk.freeBytes < LOW_DISK_BYTES) {
    lines.push(`WARNING: the cache dir ${s.cacheDir} has ${formatBytes(s.cacheDisk.freeBytes)} free of ${formatBytes(s.cacheDisk.totalBytes)}: new writes fail with "No space left on device" until space is freed`);
  }
  const since = `${s.uploadedFiles} file${s.uploadedFiles === 1 ? '' : 's'} (${formatBytes(s.uploadedBytes)}) uploaded since the mount started`;
  if (s.pendingUploads === 0) {
    lines.push(`${mountpoint}: nothing pending; ${since}`);
  } else {
    const parts = [`${s.pendingUploads} pending upload${s.pendingUploads === 1 ? '' : 's'} (${formatBytes(s.pendingBytes)})`];
    if (s.uploading) parts.push(`${s.uploading} uploading`);
    if (s.retryingUploads) parts.push(`${s.retryingUploads} retrying`);
    if (s.failedUploads) parts.push(`${s.failedUploads} failed`);
    lines.push(`${mountpoint}: ${parts.join(', ')}; ${since}`);
    const width = Math.max(...s.files.map((f) => formatBytes(f.size).length));
    for (const f of s.files) lines.push(`  ${formatEntry(f, width, now)}`);
    if (s.filesNotListed > 0) lines.push(`  … and ${s.filesNotListed} more (--json lists at most ${s.files.length})`);
    if (s.failedUploads) lines.push(`Failed uploads are kept in ${s.cacheDir} and retried every few minutes and at the next mount.`);
  }
  if (s.writes > 0) {
    const buckets = Object.entries(s.writeSizes).sort((a, b) => Number(b[0]) - Number(a[0])).map(([size, n]) => `≤${bucketLabel(Number(size))}: ${n}`);
    lines.push(`write requests: ${s.writes} (${formatBytes(s.writtenBytes)}); by size ${buckets.join(', ')}`);
  }
  return lines.join('\n') + '\n';
}

/**
 * The content cache's lines under the rest (`rest`): a cache that stopped
 * growing comes first, as a warning, like a full cache disk.
 */
export function formatContentCache(c: ContentCacheStatus, rest: string): string {
  const lines: string[] = [];
  const d = c.disk;
  if (d?.state === 'stopped') lines.push(`WARNING: the content cache stopped growing at ${formatBytes(d.usedBytes)}: ${d.stoppedReason}; reads go on from the network`);
  lines.push(rest.replace(/\n$/, ''));
  if (!d) {
    lines.push('content cache: off (--cache-size 0); file contents are cached in memory only');
  } else {
    const asked = d.hits + d.misses;
    const rate = asked === 0 ? 'no reads yet' : `hit rate ${Math.round((100 * d.hits) / asked)}% (${d.hits} of ${asked} blocks read from disk)`;
    const state = d.state === 'full' ? 'full: the least recently used make room' : d.state === 'stopped' ? 'stopped' : 'growing';
    lines.push(`content cache: ${formatBytes(d.usedBytes)} of ${formatBytes(d.maxBytes)} in ${d.files} file${d.files === 1 ? '' : 's'} (${d.dir}); ${rate}; ${d.evictedBlocks} block${d.evictedBlocks === 1 ? '' : 's'} (${formatBytes(d.evictedBytes)}) evicted; ${state}`);
    if (d.disk) lines.push(`  its disk: ${formatBytes(d.disk.freeBytes)} free of ${formatBytes(d.disk.totalBytes)} (the cache leaves --cache-min-free ${formatBytes(d.minFreeBytes)})`);
  }
  lines.push(`memory: ${formatBytes(c.memory.usedBytes)} of ${formatBytes(c.memory.budgetBytes)} (--read-cache) held for file contents; the mount process uses ${formatBytes(c.process.rssBytes)}`);
  return lines.join('\n') + '\n';
}

/** Buckets are powers of two: 131072 → "128 KiB". */
function bucketLabel(bytes: number): string {
  if (bytes >= 1024 * 1024) return `${bytes / (1024 * 1024)} MiB`;
  return bytes >= 1024 ? `${bytes / 1024} KiB` : `${bytes} B`;
}

function formatEntry(f: UploadStatusEntry, width: number, now: number): string {
  const size = formatBytes(f.size).padStart(width);
  switch (f.state) {
    case 'uploading': {
      const pct = f.size > 0 ? Math.floor((100 * f.uploadedBytes) / f.size) : 0;
      return `uploading ${String(pct).padStart(3)}%  ${size}  ${f.path}`;
    }
    case 'failed':
      return `failed          ${size}  ${f.path}: refused by the server: ${f.error}; content kept at ${f.stagingFile}${next(f, now)}`;
    case 'retrying':
      return `retrying        ${size}  ${f.path}: ${f.error} (attempt ${f.attempts})${next(f, now)}`;
    case 'open':
      return `open            ${size}  ${f.path} (uploads after it is closed)`;
    default:
      return `pending         ${size}  ${f.path}`;
  }
}

function next(f: UploadStatusEntry, now: number): string {
  if (!f.nextAttemptAt) return '';
  const s = Math.max(0, Math.round((Date.parse(f.nextAttemptAt) - now) / 1000));
  return `; next attempt in ${s >= 120 ? `${Math.round(s / 60)} min` : `${s} s`}`;
}
