// The journal side of write-back: what the journal says about each pending
// file, kept in step with it. It builds the records (journal.ts stores them)
// and writes them at the moments durability needs:
//   - commit: on close(2) of a changed file (and before fsync and a drain),
//     the working version becomes the closed one: its staging data is fsync'd
//     (and, for a new staging file, its directory), then the record naming
//     that staging file and size is written atomically and durably; only then
//     does close return. A commit that fails leaves the previous closed
//     version (and its record) as they were, and marks the working version
//     damaged so it is never published;
//   - rewrite: after a rename, the record names the new path before the
//     rename returns, so a crash cannot resurrect the old name;
//   - refused: a refusal is recorded (state failed, with the server's reason),
//     so the next mount shows it and tries again;
//   - landed: the record goes once the server confirmed the generation it
//     describes (the staging file is deleted after it, by the registry's
//     owner);
//   - discard: an unlinked or replaced file's record goes at once.
// One file's journal writes are serialized by its `records` mutex, so the
// newest record always wins. A pending folder's record is written before
// mkdir returns, rewritten when it is renamed, retimed or refused, and
// removed once the server has the folder (or it was removed here).
import { crashPoint } from './crash-points.js';
import type { FolderRecord, Journal, JournalRecord } from './journal.js';
import type { ClosedVersion, PendingFile, StagingFile } from './pending-file.js';
import type { PendingFolder } from './pending-folder.js';
import type { StagingArea } from './staging.js';

export class Records {
  constructor(private readonly journal: Journal, private readonly staging: StagingArea) {}

  /**
   * Closes the working version (no-op when it has no change a commit lacks).
   * Returns the staging file of the closed version it replaced when nothing
   * uses that file any more (the caller deletes it once no upload reads it).
   * Rejects with the reason when the working version is damaged, or when
   * making it durable fails (it is damaged then).
   */
  commit(file: PendingFile): Promise<StagingFile | null> {
    return file.mutations.run(() => file.records.run(async () => {
      if (!file.needsCommit) return null;
      if (file.damage) throw file.damage;
      const version = file.snapshot();
      const record = this.record(file, version);
      crashPoint('commit-start');
      try {
        // Crash-safe order: the data and the staging file's name are durable
        // before the record that points to them is (the rename). The record's
        // temp file is written meanwhile: three fsyncs at once, not in a row.
        await Promise.all([
          version.staging.fd.with((fd) => fd.datasync()),
          file.stagingDurable ? undefined : this.staging.dirSync.sync(),
          this.journal.prepare(record),
        ]);
        crashPoint('commit-prepared');
        await this.journal.commit(record.id);
        crashPoint('commit-done');
      } catch (err) {
        file.damaged(err as Error);
        throw err;
      }
      return file.committed(version);
    }));
  }

  /** After a retarget: the record names the new path (if there is a record). */
  rewrite(file: PendingFile): Promise<void> {
    return file.records.run(async () => {
      const closed = file.closedVersion;
      if (file.journaled !== -1 && closed && !file.removed) await this.journal.write(this.record(file, closed));
    });
  }

  /** The server refused the file: the record says so (written if there was none). */
  refused(file: PendingFile): Promise<void> {
    return file.records.run(async () => {
      if (file.removed) return;
      const closed = file.closedVersion;
      if (!closed) return;
      await this.journal.write(this.record(file, closed));
      if (file.journaled === -1) file.journaledAgain();
    });
  }

  /**
   * The server has `generation`: the record goes if it describes that
   * generation or an older one. A record of a newer version (closed while
   * this one uploaded) is written again: the version it replaces on the
   * server is now the one that landed, and a recovery that read the old base
   * would take the mount's own upload for someone else's change (a conflict
   * copy). Written before the newer version's upload can start.
   */
  landed(file: PendingFile, generation: number): Promise<void> {
    return file.records.run(async () => {
      if (file.journaled === -1) return;
      if (file.journaled <= generation) {
        await this.journal.remove(file.id);
        crashPoint('record-removed');
        file.unjournaled();
        return;
      }
      const closed = file.closedVersion;
      if (closed && !file.removed) await this.journal.write(this.record(file, closed));
    });
  }

  /** The file is cancelled for good: its record goes. */
  discard(file: PendingFile): Promise<void> {
    return file.records.run(async () => {
      if (file.journaled !== -1) {
        await this.journal.remove(file.id);
        file.unjournaled();
      }
    });
  }

  // ---- pending folders ----------------------------------------------------------------

  /** The folder's record says what it is now (made, renamed, retimed, refused): written durably. */
  folder(folder: PendingFolder): Promise<void> {
    return folder.records.run(async () => {
      if (!folder.blocks) return;
      const failed = folder.failure?.permanent === true;
      const record: FolderRecord = {
        kind: 'folder',
        id: folder.id,
        path: folder.path,
        mtime: folder.mtime,
        timeSet: folder.timeSet,
        metadata: folder.metadata,
        state: failed ? 'failed' : 'pending',
        ...(failed ? { reason: folder.failure!.message } : {}),
        updatedAt: new Date(),
      };
      await this.journal.write(record);
      folder.recorded(true);
    });
  }

  /** The folder is on the server, or removed here: its record goes. */
  folderGone(folder: PendingFolder): Promise<void> {
    return folder.records.run(async () => {
      if (!folder.journaled) return;
      await this.journal.remove(folder.id);
      folder.recorded(false);
    });
  }

  private record(file: PendingFile, version: ClosedVersion): JournalRecord {
    const failed = file.failure?.permanent === true;
    return {
      id: file.id,
      path: file.path,
      staging: version.staging.name,
      size: version.size,
      mtime: version.mtime,
      ...(version.metadata ? { metadata: version.metadata } : {}),
      generation: version.generation,
      remote: file.onServer,
      state: failed ? 'failed' : 'pending',
      ...(failed ? { reason: file.failure!.message } : {}),
      base: file.base,
      updatedAt: new Date(),
    };
  }
}
