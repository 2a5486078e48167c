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
// uploadedBytes, error, stagingFile, …, and `server`: the server's health
// and the client's counters), with the cache under `contentCache`
// (ContentCacheStatus, src/vfs/content-cache/status.ts). The first line says
// whether the server answers ("server unreachable since 14:02:11 (last error
// ...)"). A read-only mount uploads nothing: it answers the cache only. Exit
// status: 0 with an answer, 1 when no running filesfs mount is there (or it
// cannot answer), 2 for usage.
import { ConfigError } from '../../options/config-error.js';
import { canonicalMountpoint } from '../../fuse/mountinfo.js';
import { formatBytes } from '../../vfs/format-bytes.js';
import type { ContentCacheStatus, HeldLock, RemoteChangesStatus, ServerStatus, UploadStatusEntry, WriteBackStatus } from '../../vfs/index.js';
import { parseCommandLine } from '../args.js';
import type { Command } from '../command.js';
import { askMount, MountRequestError } from '../mount-request.js';

const usage = `Usage: filesfs status <mountpoint> [--json]

Shows whether the server answers (or since when it does not, and why) and
what a running filesfs mount has not uploaded yet: files and folders pending
(closed, waiting for the upload delay, a free slot or the folder they are in),
uploading (with progress), retrying after a network or server failure, failed
(refused by the server: the reason, and where the content is kept in the
cache dir), and files still open for writing; then totals since the mount
started and the sizes of the write requests the mount received; then the
content cache on disk (its size and limit, hit rate, evictions, and why it
stopped growing if it did) and the memory the mount uses; the locks held on
the server for programs here (fcntl, lockf, flock), and what --poll-interval
and filesfs refresh cost (API requests).
filesfs retry tries failed uploads at once; filesfs discard drops one.

Options:
  --json                print the mount's answer as JSON (pendingUploads,
                        pendingBytes, uploading, failedUploads, files[] with
                        kind, path, size, state, uploadedBytes, error,
                        stagingFile, waitingFor; server with the health and
                        the client's requests, retries and hedges;
                        contentCache with disk, memory, process; locks[]
                        with path, exclusive, since, holders;
                        pollIntervalSeconds, pollRequests, polledFolders,
                        lastPollAt, refreshes, refreshRequests)
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
    const timeoutMs = Math.round(timeoutS * 1000);
    let status: WriteBackStatus | null;
    let cache: ContentCacheStatus | null;
    try {
      // A read-only mount uploads nothing ("status" is unknown to it); one older than the content cache has no "cache".
      status = await askMount<WriteBackStatus | null>(target, 'status', {}, timeoutMs, { unknownIsNull: true });
      cache = await askMount<ContentCacheStatus | null>(target, 'cache', {}, timeoutMs, { unknownIsNull: true });
    } catch (err) {
      if (err instanceof MountRequestError) return fail(err.message);
      throw err;
    }
    if (!status && !cache) return fail(`the filesfs mount at ${target} uploads nothing (it is mounted read-only)`);
    // The server locks held for programs here (none from a mount that predates them).
    const locks = await askMount<HeldLock[]>(target, 'locks', {}, timeoutMs).catch(() => [] as HeldLock[]);
    // What seeing remote changes cost (none from a mount that predates it).
    const remote = await askMount<RemoteChangesStatus | null>(target, 'poll', {}, timeoutMs).catch(() => null);
    if (values.json) {
      process.stdout.write(JSON.stringify({ ...(status ?? {}), ...(cache ? { contentCache: cache } : {}), locks, ...remote }, null, 2) + '\n');
      return 0;
    }
    const lines = status ? formatStatus(target, status) : `${target}: mounted read-only; nothing is uploaded\n`;
    process.stdout.write((cache ? formatContentCache(cache, lines) : lines) + formatLocks(locks) + (remote ? formatRemoteChanges(remote) : ''));
    return 0;
  },
};

/** The human-readable report. */
export function formatStatus(mountpoint: string, s: WriteBackStatus, now = Date.now()): string {
  const lines: string[] = [];
  if (s.server) lines.push(formatServer(s.server));
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
  const folders = s.createdFolders ? ` and ${s.createdFolders} folder${s.createdFolders === 1 ? '' : 's'} created` : '';
  const since = `${s.uploadedFiles} file${s.uploadedFiles === 1 ? '' : 's'} (${formatBytes(s.uploadedBytes)}) uploaded${folders} since the mount started`;
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
    if (s.failedUploads) lines.push(`Failed uploads are kept in ${s.cacheDir} and retried every 10 minutes and at the next mount; \`filesfs retry ${mountpoint}\` tries them now, \`filesfs discard ${mountpoint} PATH\` drops one (its content kept aside).`);
  }
  if (s.writes > 0) {
    const buckets = Object.entries(s.writeSizes).sort((a, b) => Number(b[0]) - Number(a[0])).map(([size, n]) => `≤${bucketLabel(Number(size))}: ${n}`);
    lines.push(`write requests: ${s.writes} (${formatBytes(s.writtenBytes)} written and kept); by size ${buckets.join(', ')}`);
  }
  return lines.join('\n') + '\n';
}

/** "server: reachable; 1234 requests, 5 retried, 2 hedged (1 won)" or "server unreachable since 14:02:11 (last error: ...)". */
export function formatServer(server: ServerStatus): string {
  const counts = `${server.requests} request${server.requests === 1 ? '' : 's'}, ${server.retries} retried, ${server.hedges.sent} hedged (${server.hedges.won} won)`;
  if (server.state === 'reachable') return `server: reachable; ${counts}`;
  const since = server.since ? ` since ${clockTime(new Date(server.since))}` : '';
  return `server unreachable${since} (last error: ${server.lastError ?? 'none'}): cached files and folders are served, new files wait in the cache dir and upload when it answers; ${counts}`;
}

/** HH:MM:SS in local time. */
function clockTime(d: Date): string {
  const two = (n: number): string => String(n).padStart(2, '0');
  return `${two(d.getHours())}:${two(d.getMinutes())}:${two(d.getSeconds())}`;
}

/** The server locks the mount holds for programs here. */
export function formatLocks(locks: HeldLock[]): string {
  if (locks.length === 0) return '';
  const lines = [`${locks.length} lock${locks.length === 1 ? '' : 's'} held on the server for programs here:`];
  for (const l of locks) lines.push(`  ${l.exclusive ? 'exclusive' : 'shared   '}  since ${l.since}  ${l.path} (${l.holders} holder${l.holders === 1 ? '' : 's'})`);
  return lines.join('\n') + '\n';
}

/** One line on --poll-interval and refresh, when either was used: what they cost in API requests. */
export function formatRemoteChanges(r: RemoteChangesStatus, now = Date.now()): string {
  const parts: string[] = [];
  if (r.pollIntervalSeconds !== null) {
    const last = r.lastPollAt === null ? 'no poll yet' : `the last one (${Math.max(0, Math.round((now - Date.parse(r.lastPollAt)) / 1000))} s ago) asked about ${count(r.polledFolders, 'folder')} in use`;
    parts.push(`polling every ${r.pollIntervalSeconds} s for changes made elsewhere: ${last}; ${count(r.pollRequests, 'request')} since the mount started`);
    if (r.pollErrors > 0) parts.push(`${count(r.pollErrors, 'failed look')} (last: ${r.lastPollError})`);
  }
  if (r.refreshes > 0) parts.push(`${count(r.refreshes, 'refresh', 'refreshes')} (${count(r.refreshRequests, 'request')})`);
  return parts.length === 0 ? '' : parts.join('; ') + '\n';
}

function count(n: number, one: string, many = `${one}s`): string {
  return `${n.toLocaleString('en-US')} ${n === 1 ? one : many}`;
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
      return f.kind === 'folder'
        ? `failed          ${size}  ${f.path}/: the server refused to create the folder: ${f.error}${next(f, now)}`
        : `failed          ${size}  ${f.path}: refused by the server: ${f.error}; content kept at ${f.stagingFile}${next(f, now)}`;
    case 'retrying':
      return `retrying        ${size}  ${f.path}: ${f.error} (attempt ${f.attempts})${next(f, now)}`;
    case 'open':
      return `open            ${size}  ${f.path} (uploads after it is closed)`;
    default:
      return `pending         ${size}  ${f.path}${f.kind === 'folder' ? '/ (folder to create)' : ''}${f.waitingFor ? ` (waits for the folder ${f.waitingFor})` : ''}`;
  }
}

function next(f: UploadStatusEntry, now: number): string {
  if (!f.nextAttemptAt) return '';
  const s = Math.max(0, Math.round((Date.parse(f.nextAttemptAt) - now) / 1000));
  return `; next attempt in ${s >= 120 ? `${Math.round(s / 60)} min` : `${s} s`}`;
}
