// `filesfs status` as people read it: changes that could not be kept and a
// cache disk running out of space come first, as warnings.
import { describe, expect, it } from 'vitest';
import { formatContentCache, formatRemoteChanges, formatStatus } from '../../src/cli/commands/status.js';
import type { ContentCacheStatus, RemoteChangesStatus, WriteBackStatus } from '../../src/vfs/index.js';

const MiB = 1024 * 1024;
const base: WriteBackStatus = {
  pendingUploads: 0, pendingBytes: 0, uploading: 0, failedUploads: 0, retryingUploads: 0, uploadedFiles: 3, uploadedBytes: 30, createdFolders: 0,
  cacheDir: '/c', uploadDelayMs: 1000, uploadConcurrency: 8, writeSizes: {}, writes: 0, writtenBytes: 0, files: [], filesNotListed: 0,
  writeProblems: 0, problems: [], cacheDisk: { freeBytes: 10_000 * MiB, totalBytes: 20_000 * MiB }, conflictCount: 0, conflicts: [],
  byState: { pending: { files: 0, bytes: 0 }, open: { files: 0, bytes: 0 }, uploading: { files: 0, bytes: 0 }, retrying: { files: 0, bytes: 0 }, failed: { files: 0, bytes: 0 } },
};

describe('status output', () => {
  it('nothing to warn about: one line', () => {
    expect(formatStatus('/mnt', base)).toBe('/mnt: nothing pending; 3 files (30 B) uploaded since the mount started\n');
  });

  it('dropped changes and a nearly full cache disk are warnings at the top', () => {
    const out = formatStatus('/mnt', {
      ...base,
      writeProblems: 2,
      problems: [
        { path: '/big.bin', error: 'ENOSPC: no space left on device, write (ENOSPC)', outcome: 'it is not created', at: '2026-12-07T01:00:00.000Z' },
        { path: '/good.bin', error: 'ENOSPC: no space left on device, write (ENOSPC)', outcome: "the server's version stays", at: '2026-12-07T01:00:01.000Z' },
      ],
      cacheDisk: { freeBytes: 1 * MiB, totalBytes: 50 * MiB },
    }).split('\n');
    expect(out[0]).toBe('WARNING: 2 changes could not be kept (writing or recording them failed); the programs got the error:');
    expect(out[1]).toBe('  2026-12-07T01:00:00.000Z  /big.bin: ENOSPC: no space left on device, write (ENOSPC); it is not created');
    expect(out[2]).toMatch(/\/good.bin: .*; the server's version stays$/);
    expect(out[3]).toBe('WARNING: the cache dir /c has 1.0 MiB free of 50.0 MiB: new writes fail with "No space left on device" until space is freed');
    expect(out[4]).toMatch(/^\/mnt: nothing pending/);
  });

  it('says first whether the server answers, with the client\'s requests, retries and hedges', () => {
    const server = { state: 'reachable' as const, since: null, lastError: null, lastAnswer: null, consecutiveFailures: 0, requests: 1234, retries: 5, hedges: { sent: 2, won: 1 }, stalls: 0, bytes: { up: 0, down: 0 }, byKind: {} };
    expect(formatStatus('/mnt', { ...base, server }).split('\n')[0]).toBe('server: reachable; 1234 requests, 5 retried, 2 hedged (1 won)');
    const since = new Date(2026, 11, 7, 14, 2, 11);
    const down = formatStatus('/mnt', { ...base, server: { ...server, state: 'unreachable', since: since.toISOString(), lastError: 'connect ECONNREFUSED 127.0.0.1:443' } }).split('\n')[0]!;
    expect(down).toMatch(/^server unreachable since 14:02:11 \(last error: connect ECONNREFUSED 127\.0\.0\.1:443\): cached files and folders are served/);
  });

  it('a folder to create, a file waiting for it, and how to retry or drop failed ones', () => {
    const entry = { remotePath: '', size: 0, mtime: '2026-12-07T01:00:00.000Z', uploadedBytes: 0, attempts: 1, nextAttemptAt: null, stagingFile: '' };
    const out = formatStatus('/mnt', {
      ...base,
      pendingUploads: 2,
      failedUploads: 1,
      files: [
        { ...entry, kind: 'folder', path: '/box', state: 'failed', error: 'a file named box is where the folder should be', waitingFor: null },
        { ...entry, kind: 'file', path: '/box/a.txt', size: 4, state: 'pending', error: null, attempts: 0, stagingFile: '/c/staging/1.data', waitingFor: '/box' },
      ],
    }).split('\n');
    expect(out[0]).toBe('/mnt: 2 pending uploads (0 B), 1 failed; 3 files (30 B) uploaded since the mount started');
    expect(out[1]).toBe('  failed          0 B  /box/: the server refused to create the folder: a file named box is where the folder should be');
    expect(out[2]).toBe('  pending         4 B  /box/a.txt (waits for the folder /box)');
    expect(out[3]).toMatch(/`filesfs retry \/mnt` tries them now, `filesfs discard \/mnt PATH` drops one/);
  });

  it('conflicts are listed with where this mount\'s version went', () => {
    const out = formatStatus('/mnt', {
      ...base,
      conflictCount: 1,
      conflicts: [{ path: '/report.docx', copy: '/report (conflict 2026-12-07 010203 host).docx', reason: 'report.docx changed on the server meanwhile', at: '2026-12-07T01:02:03.000Z' }],
    }).split('\n');
    expect(out[0]).toBe('1 conflict: changed on the server while this mount changed it:');
    expect(out[1]).toBe("  2026-12-07T01:02:03.000Z  /report.docx: this mount's version is /report (conflict 2026-12-07 010203 host).docx (report.docx changed on the server meanwhile)");
  });
});

describe('status output: seeing remote changes', () => {
  const off: RemoteChangesStatus = {
    pollIntervalSeconds: null, pollRequests: 0, polledFolders: 0, lastPollAt: null, polls: 0, pollChanges: 0,
    pollErrors: 0, lastPollError: null, refreshes: 0, refreshRequests: 0,
  };
  const now = Date.parse('2026-12-07T01:00:10.000Z');

  it('nothing when neither polling nor refresh was used', () => {
    expect(formatRemoteChanges(off, now)).toBe('');
  });

  it('one line: the interval, the last poll, what it cost; then refreshes and failures', () => {
    expect(formatRemoteChanges({ ...off, pollIntervalSeconds: 10 }, now)).toBe('polling every 10 s for changes made elsewhere: no poll yet; 0 requests since the mount started\n');
    expect(formatRemoteChanges({ ...off, pollIntervalSeconds: 10, pollRequests: 1234, polledFolders: 2, lastPollAt: '2026-12-07T01:00:07.000Z', polls: 600 }, now))
      .toBe('polling every 10 s for changes made elsewhere: the last one (3 s ago) asked about 2 folders in use; 1,234 requests since the mount started\n');
    expect(formatRemoteChanges({ ...off, pollIntervalSeconds: 1, pollRequests: 1, polledFolders: 1, lastPollAt: '2026-12-07T01:00:10.000Z', pollErrors: 1, lastPollError: 'Reports: the server failed', refreshes: 1, refreshRequests: 3 }, now))
      .toBe('polling every 1 s for changes made elsewhere: the last one (0 s ago) asked about 1 folder in use; 1 request since the mount started; 1 failed look (last: Reports: the server failed); 1 refresh (3 requests)\n');
    expect(formatRemoteChanges({ ...off, refreshes: 2, refreshRequests: 2 }, now)).toBe('2 refreshes (2 requests)\n');
  });
});

describe('content cache in the status output', () => {
  const GiB = 1024 * MiB;
  const cache: ContentCacheStatus = {
    disk: {
      dir: '/c/content', maxBytes: 10 * GiB, minFreeBytes: 2 * GiB, usedBytes: 300 * MiB, blocks: 300, files: 2,
      hits: 90, misses: 10, writtenBlocks: 310, evictedBlocks: 10, evictedBytes: 10 * MiB, droppedBlocks: 0,
      state: 'growing', stoppedReason: null, disk: { freeBytes: 50 * GiB, totalBytes: 100 * GiB },
    },
    memory: { budgetBytes: 16 * MiB, usedBytes: 4 * MiB, cachedBytes: 4 * MiB, inflightBytes: 0 },
    blockHits: 100, blockMisses: 3,
    process: { rssBytes: 98 * MiB, heapUsedBytes: 20 * MiB, externalBytes: 5 * MiB, arrayBuffersBytes: 2 * MiB },
  };

  it('size, limit, hit rate, evictions, its disk and memory come after the uploads', () => {
    const out = formatContentCache(cache, formatStatus('/mnt', base)).split('\n');
    expect(out[0]).toMatch(/^\/mnt: nothing pending/);
    expect(out[1]).toBe('content cache: 300 MiB of 10.0 GiB in 2 files (/c/content); hit rate 90% (90 of 100 blocks read from disk); 10 blocks (10.0 MiB) evicted; growing');
    expect(out[2]).toBe('  its disk: 50.0 GiB free of 100 GiB (the cache leaves --cache-min-free 2.0 GiB)');
    expect(out[3]).toBe('memory: 4.0 MiB of 16.0 MiB (--read-cache) held for file contents; the mount process uses 98.0 MiB');
  });

  it('a cache that stopped growing is a warning at the top, with the reason', () => {
    const stopped = { ...cache, disk: { ...cache.disk!, state: 'stopped' as const, stoppedReason: "the cache dir's disk is full (ENOSPC while writing a block)" } };
    const out = formatContentCache(stopped, formatStatus('/mnt', base)).split('\n');
    expect(out[0]).toBe("WARNING: the content cache stopped growing at 300 MiB: the cache dir's disk is full (ENOSPC while writing a block); reads go on from the network");
  });

  it('a cache that is off says so', () => {
    expect(formatContentCache({ ...cache, disk: null }, '/mnt: mounted read-only; nothing is uploaded\n')).toContain('content cache: off (--cache-size 0)');
  });
});
