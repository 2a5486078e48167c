// The write-back feature of a mount: plugs src/vfs/write-back into the
// mount lifecycle (lifecycle.ts).
//   setup          opens staging and journal in the cache dir (already locked
//                  by this mount), replays the journal, sets the write layer
//   afterMount     resumes the recovered uploads in the background
//   beforeUnmount  drains: every pending upload now, progress (files and
//                  bytes left, rate) about once a second to stderr and to a
//                  waiting `filesfs unmount`; forced (second SIGINT,
//                  `unmount --force`): stops at once and says what stays in
//                  the journal for the next mount
//   afterUnmount   stops the queue (uploads in flight are aborted; their
//                  records stay)
//   "status"       answers `filesfs status` (WriteBackStatus, with the
//                  server's health and the client's counters); the same
//                  status feeds the metrics' upload gauges
//   "retry"        `filesfs retry`: failed and retrying uploads now
//   "discard"      `filesfs discard`: drops one pending upload, its content
//                  moved aside in the cache dir
// What a drain leaves in the journal is reported to the shutdown as work left
// undone (`filesfs unmount` exits 3 and says so).
// A read-only mount has no write layer; pending uploads of an earlier mount
// stay in the journal for the next read-write one (said at start).
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { formatBytes, keepLocal, LocalOnlyPatterns, LocalOnlyStore, WriteBack, type DrainProgress } from '../vfs/index.js';
import type { MountFeature } from './lifecycle.js';
import { serverStatus } from './server-status.js';

export const writeBackFeature: MountFeature = {
  name: 'write-back',
  async setup(ctx) {
    const log = ctx.logger;
    if (ctx.config.mount.readOnly) {
      const waiting = await pendingRecords(ctx.cacheDir);
      if (waiting > 0) log.warn('%d upload%s of an earlier mount wait%s in the journal in %s; a read-only mount does not upload: mount without --read-only to finish %s', waiting, waiting === 1 ? '' : 's', waiting === 1 ? 's' : '', ctx.cacheDir, waiting === 1 ? 'it' : 'them');
      return;
    }
    const writeBack = await WriteBack.open({ cacheDir: ctx.cacheDir, ...ctx.config.writeBack }, log);
    // OS junk (.DS_Store, ~$ owner files, swap files, ...) stays in the cache dir.
    const patterns = new LocalOnlyPatterns(ctx.config.localOnly);
    const localOnly = patterns.empty ? null : await LocalOnlyStore.open(ctx.cacheDir);
    ctx.setWriteLayer(localOnly ? keepLocal(writeBack.factory, localOnly, patterns) : writeBack.factory);

    ctx.afterMount('resume uploads', async () => {
      writeBack.resume();
    });

    ctx.beforeUnmount('upload pending files', async ({ force, signal, progress, leftUndone }) => {
      if (!force) {
        const first = writeBack.status();
        if (first.pendingUploads > 0) {
          progress(`uploading ${describeLeft(first.pendingUploads, first.pendingBytes)} before unmounting`, {
            filesLeft: first.pendingUploads,
            bytesLeft: first.pendingBytes,
          });
        }
        const result = await writeBack.drain({
          signal,
          onProgress: (p) => {
            if (p.filesLeft > 0) progress(describeProgress(p), { ...p });
          },
        });
        if (result.complete) {
          if (result.filesDone > 0) progress(`uploaded ${result.filesDone} file${result.filesDone === 1 ? '' : 's'} (${formatBytes(result.bytesDone)}) in ${(result.elapsedMs / 1000).toFixed(1)} s`);
          return;
        }
        for (const refused of result.refused) {
          progress(`not uploaded (refused by the server): ${refused.path}: ${refused.error}${refused.stagingFile ? `; the content is kept at ${refused.stagingFile}` : ''}`, { ...refused });
        }
      }
      await writeBack.stopUploads();
      const left = writeBack.describeLeftovers();
      if (left) {
        progress(`unmounting without waiting: ${left}`);
        leftUndone(left);
      }
    });

    ctx.afterUnmount('stop uploads', async () => {
      await writeBack.close();
      await localOnly?.close();
    });

    ctx.handle('status', async () => ({ ...writeBack.status(), server: serverStatus(ctx.client) }));
    ctx.handle('retry', async (args) => {
      const path = typeof args.path === 'string' ? args.path : undefined;
      const timeoutMs = typeof args.timeoutMs === 'number' && args.timeoutMs > 0 ? args.timeoutMs : 60_000;
      return { outcomes: await writeBack.retry(path, timeoutMs) };
    });
    ctx.handle('discard', async (args) => {
      if (typeof args.path !== 'string') throw new Error('discard: which file? (a path inside the mount)');
      return writeBack.discard(args.path);
    });
    ctx.setUploadStatus(() => writeBack.status());
  },
};

function describeLeft(files: number, bytes: number): string {
  return `${files} file${files === 1 ? '' : 's'} (${formatBytes(bytes)})`;
}

function describeProgress(p: DrainProgress): string {
  const rate = p.bytesDone > 0 ? `, ${formatBytes(p.bytesPerSecond)}/s` : '';
  const retrying = p.retrying > 0 ? `; ${p.retrying} waiting to retry after: ${p.lastError}` : '';
  return `uploading: ${describeLeft(p.filesLeft, p.bytesLeft)} left, ${p.filesDone} done (${formatBytes(p.bytesDone)}${rate})${retrying}`;
}

/** Journal records in a cache dir (without replaying them). */
async function pendingRecords(cacheDir: string): Promise<number> {
  const names = await readdir(join(cacheDir, 'journal')).catch(() => [] as string[]);
  return names.filter((n) => n.endsWith('.json')).length;
}
