// Replaying the journal at mount: every record becomes a pending file again,
// as the version it records, the last one somebody closed (shown with its
// size and mtime at once, uploaded in the background once the mount runs).
// Leftovers of a crash are tidied: staging files no record names (a file
// written but never closed, a copy a reopened file was being written in, or
// one uploaded and not yet deleted), bytes appended after the recorded size
// (written to a reopened file and never closed), temp files, and — when a
// crash came between the two steps of a rename onto a pending file — an older
// record for the same path (the newest record wins; the older one had been
// replaced). A record whose staging file is gone, or shorter than the version
// it records, cannot be uploaded; that is logged as an error and the record
// removed, so it is not reported on every mount. Pending folders (mkdir
// written back) come back from their own records, and are created on the
// server before what is inside them uploads.
import type { Logger } from '../../log/logger.js';
import { keyOf } from '../path-mapper.js';
import type { FolderRecord, Journal, JournalRecord } from './journal.js';
import { PendingFile } from './pending-file.js';
import { PendingFolder } from './pending-folder.js';
import { SharedFd } from './shared-fd.js';
import type { StagingArea } from './staging.js';

export interface Recovery {
  files: PendingFile[];
  folders: PendingFolder[];
  /** Records that were unreadable or had lost their staging file. */
  problems: string[];
  /** Staging files deleted because no record named them. */
  leftovers: number;
}

export async function recover(staging: StagingArea, journal: Journal, log: Logger): Promise<Recovery> {
  const { records, folders: folderRecords, unreadable } = await journal.load();
  const problems = unreadable.map((u) => `journal record ${u.name} is unreadable (${u.reason}); kept as ${u.name}.bad`);
  for (const p of problems) log.error('%s', p);

  // Newest first, so the first record seen for a path is the one that counts.
  const ordered = [...records, ...folderRecords].sort((a, b) => b.updatedAt.getTime() - a.updatedAt.getTime() || generationOf(b) - generationOf(a));
  const byPath = new Map<string, JournalRecord | FolderRecord>();
  const files: PendingFile[] = [];
  const folders: PendingFolder[] = [];
  const named = new Set<string>();
  for (const record of ordered) {
    const key = keyOf(record.path);
    const newer = byPath.get(key);
    if (newer) {
      log.info('journal: %s was replaced by a newer pending %s for the same path; dropping the older one', record.path, 'kind' in newer ? 'folder' : 'file');
      await journal.remove(record.id);
      continue;
    }
    if ('kind' in record) {
      byPath.set(key, record);
      folders.push(new PendingFolder({
        id: record.id,
        path: record.path,
        mtime: record.mtime,
        timeSet: record.timeSet,
        ...(record.metadata ? { metadata: record.metadata } : {}),
        journaled: true,
        ...(record.state === 'failed'
          ? { phase: 'failed' as const, failure: { message: record.reason ?? 'refused by the server', permanent: true, attempts: 1, at: record.updatedAt } }
          : { phase: 'delayed' as const }),
      }));
      continue;
    }
    const size = await staging.sizeOf(record.staging);
    if (size === null || size < record.size) {
      const problem = size === null
        ? `the staging file ${staging.pathOf(record.staging)} of pending upload ${record.path} is missing; that upload cannot be resumed`
        : `the staging file ${staging.pathOf(record.staging)} of pending upload ${record.path} holds ${size} bytes, fewer than the ${record.size} closed; that upload cannot be resumed`;
      problems.push(problem);
      log.error('%s', problem);
      await journal.remove(record.id);
      continue;
    }
    // Bytes appended after the recorded version were never closed.
    if (size > record.size) await staging.truncate(record.staging, record.size);
    byPath.set(key, record);
    named.add(record.staging);
    const stagingFile = { name: record.staging, path: staging.pathOf(record.staging), fd: new SharedFd(() => staging.openExisting(record.staging)) };
    const file = new PendingFile({
      id: record.id,
      path: record.path,
      staging: stagingFile,
      closed: { staging: stagingFile, size: record.size, mtime: record.mtime, metadata: record.metadata ?? null, generation: record.generation, contentGeneration: record.generation },
      size: record.size,
      mtime: record.mtime,
      metadata: record.metadata ?? null,
      createdAt: null,
      generation: record.generation,
      landed: -1,
      journaled: record.generation,
      onServer: record.remote,
      base: record.base,
      stagingDurable: true,
      // Waits for resume(), which starts every recovered upload at once.
      ...(record.state === 'failed'
        ? { phase: 'failed' as const, failure: { message: record.reason ?? 'refused by the server', permanent: true, attempts: 1, at: record.updatedAt } }
        : { phase: 'delayed' as const }),
    });
    files.push(file);
  }

  let leftovers = 0;
  for (const name of await staging.list()) {
    if (named.has(name)) continue;
    await staging.remove(name);
    leftovers++;
  }
  for (const name of await staging.strays()) await staging.remove(name);
  if (leftovers > 0) log.debug('journal: deleted %d staging files no record names (never closed, or already uploaded)', leftovers);
  return { files, folders, problems, leftovers };
}

function generationOf(record: JournalRecord | FolderRecord): number {
  return 'kind' in record ? 0 : record.generation;
}
