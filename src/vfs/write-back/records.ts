// The journal side of write-back: what the journal says about each pending
// file, kept in step with it. It builds the records (journal.ts stores them)
// and writes them at the moments durability needs:
//   - persist: on close(2) of a changed file (and before fsync and a drain),
//     the staging data is fsync'd (and, for a new staging file, its
//     directory), then the record is written atomically and durably; only
//     then does close return;
//   - rewrite: after a rename, the record names the new path before the
//     rename returns, so a crash cannot resurrect the old name;
//   - refused: a refusal is recorded (state failed, with the server's reason),
//     so the next mount shows it and tries again;
//   - landed: the record goes once the server confirmed the generation it
//     describes (the staging file is deleted after it, by the registry's
//     owner);
//   - discard: an unlinked or replaced file's record goes at once.
// One file's journal writes are serialized by its `records` mutex, so the
// newest record always wins.
import type { Journal, JournalRecord } from './journal.js';
import type { PendingFile } from './pending-file.js';
import type { StagingArea } from './staging.js';

export class Records {
  constructor(private readonly journal: Journal, private readonly staging: StagingArea) {}

  /** Makes the file's current content durable in the journal (no-op when nothing changed). */
  persist(file: PendingFile): Promise<void> {
    return file.records.run(async () => {
      if (!file.needsRecord) return;
      const generation = file.generation;
      // Crash-safe order: the data and the staging file's name are durable
      // before the record that points to them is (the rename). The record's
      // temp file is written meanwhile: three fsyncs at once, not in a row.
      const record = this.record(file, generation);
      await Promise.all([
        file.file.with((fd) => fd.datasync()),
        file.stagingDurable ? undefined : this.staging.dirSync.sync(),
        this.journal.prepare(record),
      ]);
      file.stagingSynced();
      await this.journal.commit(record.id);
      file.journaledAt(generation);
    });
  }

  /** After a retarget: the record names the new path (if there is a record). */
  rewrite(file: PendingFile): Promise<void> {
    return file.records.run(async () => {
      if (file.journaled !== -1 && !file.removed) await this.journal.write(this.record(file, file.journaled));
    });
  }

  /** The server refused the file: the record says so (written if there was none). */
  refused(file: PendingFile): Promise<void> {
    return file.records.run(async () => {
      if (file.removed) return;
      const generation = file.journaled === -1 ? file.generation : file.journaled;
      await this.journal.write(this.record(file, generation));
      if (file.journaled === -1) file.journaledAt(generation);
    });
  }

  /** The server has `generation`: the record goes if it describes that generation or an older one. */
  landed(file: PendingFile, generation: number): Promise<void> {
    return file.records.run(async () => {
      if (file.journaled !== -1 && file.journaled <= generation) {
        await this.journal.remove(file.id);
        file.unjournaled();
      }
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

  private record(file: PendingFile, generation: number): JournalRecord {
    const failed = file.failure?.permanent === true;
    return {
      id: file.id,
      path: file.path,
      staging: file.stagingName,
      size: file.size,
      mtime: file.mtime,
      generation,
      remote: file.onServer,
      state: failed ? 'failed' : 'pending',
      ...(failed ? { reason: file.failure!.message } : {}),
      updatedAt: new Date(),
    };
  }
}
