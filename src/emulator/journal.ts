// The metadata journal: how the emulator's file tree survives a restart without
// rewriting a whole metadata file on every change. Each mutation appends one
// JSON line per changed node; lines are written and fsync'ed in batches (group
// commit: every request waiting at the same moment shares one write and one
// fdatasync), and a request answers only after its lines are durable.
//
// On disk (under <data>/meta):
//   snapshot.jsonl  a header line {"seq","nextId"}, one line per node, then
//                   one line per table row (locks, behaviors: {"tb","k","v"}),
//                   written to a temp file, fsync'ed and renamed into place
//   journal.jsonl   records with a sequence number above the snapshot's
// At start: read the snapshot, replay the journal (a torn last line from a
// crash is ignored), then fold everything into a fresh snapshot and start an
// empty journal, so replay time stays proportional to the tree, not history.
import { createReadStream } from 'node:fs';
import { mkdir, open, rename, stat, type FileHandle } from 'node:fs/promises';
import { createInterface } from 'node:readline';
import { join } from 'node:path';
import type { Logger } from '../log/logger.js';

/** One node as persisted (short keys: a 25,000-entry folder is 25,000 lines). */
export interface NodeRecord {
  id: number;
  /** Parent id; -1 for the root. */
  p: number;
  nm: string;
  t: 'd' | 'f';
  sz: number;
  b: string | null;
  et: string | null;
  md5: string | null;
  crc: string | null;
  c: number;
  m: number;
  pm: number | null;
  /** custom_metadata, absent when empty. */
  cm?: Record<string, string>;
}

/** A row of a side table (locks, behaviors): table name, key, value (JSON). */
export interface TableRow {
  tb: string;
  k: string;
  v: unknown;
}

export type JournalEntry =
  | { o: 'put'; n: NodeRecord }
  | { o: 'del'; id: number }
  | { o: 'row'; r: TableRow }
  | { o: 'unrow'; tb: string; k: string };
export type JournalRecord = JournalEntry & { q: number };

export interface Snapshot {
  seq: number;
  nextId: number;
  nodes: NodeRecord[];
  rows: TableRow[];
}

/** What a snapshot is written from. */
export interface SnapshotSource {
  nextId: number;
  nodes: Iterable<NodeRecord>;
  rows: Iterable<TableRow>;
}

async function readLines(file: string, onLine: (line: string) => void): Promise<void> {
  try {
    await stat(file);
  } catch {
    return;
  }
  const rl = createInterface({ input: createReadStream(file, { encoding: 'utf8' }), crlfDelay: Infinity });
  for await (const line of rl) if (line.trim() !== '') onLine(line);
}

export class Journal {
  private buffer: string[] = [];
  private appended = 0;
  private durable = 0;
  private writing = false;
  private failure: Error | null = null;
  private closed = false;
  private waiters: Array<{ target: number; resolve: () => void; reject: (e: Error) => void }> = [];
  private seq: number;

  private constructor(private readonly fh: FileHandle, seq: number, private readonly logger: Logger) {
    this.seq = seq;
  }

  /**
   * Loads the snapshot and the journal, hands every record to `apply` in
   * order, then compacts: `snapshotOf()` must return the resulting state.
   */
  static async open(
    dir: string,
    logger: Logger,
    load: (snapshot: Snapshot | null, records: Iterable<JournalRecord>) => void,
    snapshotOf: () => SnapshotSource,
  ): Promise<Journal> {
    await mkdir(dir, { recursive: true });
    const snapFile = join(dir, 'snapshot.jsonl');
    const journalFile = join(dir, 'journal.jsonl');
    let snapshot: Snapshot | null = null;
    await readLines(snapFile, (line) => {
      const value = JSON.parse(line) as Snapshot | NodeRecord | TableRow;
      if (!snapshot) snapshot = { ...(value as Snapshot), nodes: [], rows: [] };
      else if ('tb' in value) snapshot.rows.push(value);
      else snapshot.nodes.push(value as NodeRecord);
    });
    const records: JournalRecord[] = [];
    let torn = 0;
    await readLines(journalFile, (line) => {
      try {
        const r = JSON.parse(line) as JournalRecord;
        if (torn === 0) records.push(r);
      } catch {
        torn++;
      }
    });
    if (torn > 0) logger.warn('metadata journal: ignored %d torn line(s) at the end (an interrupted write)', torn);
    const base: Snapshot | null = snapshot;
    const baseSeq = base ? (base as Snapshot).seq : 0;
    const fresh = records.filter((r) => r.q > baseSeq);
    load(base, fresh);
    const seq = fresh.length ? fresh[fresh.length - 1]!.q : baseSeq;
    if (fresh.length > 0 || torn > 0 || !base) await Journal.writeSnapshot(dir, seq, snapshotOf());
    const fh = await open(journalFile, fresh.length > 0 || torn > 0 ? 'w' : 'a');
    if (fresh.length > 0 || torn > 0) await fh.datasync();
    return new Journal(fh, seq, logger);
  }

  private static async writeSnapshot(dir: string, seq: number, state: SnapshotSource): Promise<void> {
    const tmp = join(dir, `snapshot.jsonl.${process.pid}.tmp`);
    const fh = await open(tmp, 'w');
    try {
      let chunk = JSON.stringify({ seq, nextId: state.nextId }) + '\n';
      for (const records of [state.nodes, state.rows]) {
        for (const n of records) {
          chunk += JSON.stringify(n) + '\n';
          if (chunk.length > 1 << 20) {
            await fh.write(chunk);
            chunk = '';
          }
        }
      }
      await fh.write(chunk);
      await fh.datasync();
    } finally {
      await fh.close();
    }
    await rename(tmp, join(dir, 'snapshot.jsonl'));
    // The rename is durable once the directory is synced.
    const d = await open(dir, 'r');
    try {
      await d.sync();
    } finally {
      await d.close();
    }
  }

  /** Queues records; they reach the disk with the next batch. */
  append(entries: JournalEntry[]): void {
    if (this.closed) throw new Error('metadata journal is closed');
    for (const e of entries) this.buffer.push(JSON.stringify({ q: ++this.seq, ...e }) + '\n');
    this.appended += entries.length;
    if (!this.writing) {
      this.writing = true;
      setImmediate(() => void this.drain());
    }
  }

  /** Resolves once everything appended so far is on disk. */
  sync(): Promise<void> {
    if (this.failure) return Promise.reject(this.failure);
    const target = this.appended;
    if (this.durable >= target) return Promise.resolve();
    return new Promise((resolve, reject) => this.waiters.push({ target, resolve, reject }));
  }

  private async drain(): Promise<void> {
    try {
      while (this.buffer.length > 0) {
        const chunk = this.buffer.join('');
        const upto = this.appended;
        this.buffer = [];
        await this.fh.write(chunk);
        await this.fh.datasync();
        this.durable = upto;
        this.waiters = this.waiters.filter((w) => (w.target <= upto ? (w.resolve(), false) : true));
      }
    } catch (err) {
      this.failure = err instanceof Error ? err : new Error(String(err));
      this.logger.error('metadata journal write failed: %s', this.failure.message);
      for (const w of this.waiters) w.reject(this.failure);
      this.waiters = [];
    } finally {
      this.writing = false;
    }
  }

  async close(): Promise<void> {
    if (this.closed) return;
    await this.sync().catch(() => undefined);
    this.closed = true;
    await this.fh.close();
  }
}
