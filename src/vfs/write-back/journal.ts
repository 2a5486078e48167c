// The crash journal: <cacheDir>/journal/<id>.json (dir 0700, files 0600), one
// small JSON record per pending upload, naming the remote path, the staging
// file that holds the content, its size, the mtime to send (provided_mtime),
// the custom_metadata to set (modes, owners, file types, user xattrs), the
// generation it describes, whether some version of the file already
// exists on the server, and the state (pending, or failed with the server's
// reason). Records are replaced atomically (temp + fsync + rename + fsync of
// the dir: durable.ts), so a crash leaves the old or the new record, never a
// torn one. The write-back layer writes a record before close(2) returns,
// after the staging data is fsync'd; it removes the record (durably) only once
// the server confirmed that generation, and only then deletes the staging
// file. At mount, load() returns every record; those are the uploads to resume.
// A pending folder (mkdir written back) has a record of its own kind
// ("kind": "folder": path, the time to give it, state); it goes once the
// server has the folder.
import { readdir, readFile, rename, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { ensurePrivateDir } from '../../options/private-dir.js';
import { commitTemp, DirSync, removeDurably, writeFileDurably, writeTemp } from './durable.js';
import type { MetadataMap } from '../posix/posix-metadata.js';
import type { BaseVersion } from './pending-file.js';

export const JOURNAL_DIR = 'journal';
const SUFFIX = '.json';
const FORMAT = 1;

export type RecordState = 'pending' | 'failed';

export interface JournalRecord {
  /** The pending file's id (also the record's file name). */
  id: string;
  /** Remote path, in the server's form. */
  path: string;
  /** Staging file name inside <cacheDir>/staging. */
  staging: string;
  size: number;
  /** Sent as provided_mtime. */
  mtime: Date;
  /** Set as custom_metadata after the upload (absent: whatever the server has; records of older filesfs versions). */
  metadata?: MetadataMap;
  generation: number;
  /** True when a version of the file exists on the server at `path` (unlink/rename must go to the server). */
  remote: boolean;
  state: RecordState;
  /** Why the server refused the upload (state failed). */
  reason?: string;
  /** The server version the change started from (null: not recorded, a record of an older filesfs). */
  base: BaseVersion | null;
  /** When the record was written (newest wins if two name one path after a crash). */
  updatedAt: Date;
}

/** A pending folder: made through the mount, not created on the server yet. */
export interface FolderRecord {
  kind: 'folder';
  id: string;
  path: string;
  /** The time it shows; sent as provided_mtime when `timeSet`. */
  mtime: Date;
  /** utimens set the time (cp -p, rsync -t). */
  timeSet: boolean;
  /** Set as custom_metadata right after the creation (absent: none). */
  metadata?: MetadataMap;
  state: RecordState;
  reason?: string;
  updatedAt: Date;
}

interface WireFolder {
  format: number;
  kind: 'folder';
  id: string;
  path: string;
  mtime: string;
  timeSet: boolean;
  metadata?: Record<string, string>;
  state: RecordState;
  reason?: string;
  updatedAt: string;
}

interface WireBase {
  exists: boolean;
  serverMtime?: string | null;
  size?: number;
  md5?: string | null;
  crc32?: string | null;
}

interface WireRecord {
  format: number;
  id: string;
  path: string;
  staging: string;
  size: number;
  mtime: string;
  metadata?: Record<string, string>;
  generation: number;
  remote: boolean;
  state: RecordState;
  reason?: string;
  base?: WireBase;
  updatedAt: string;
}

export interface LoadedJournal {
  records: JournalRecord[];
  folders: FolderRecord[];
  /** Files that could not be read as records, with why (kept, renamed to *.bad, for a person to look at). */
  unreadable: Array<{ name: string; reason: string }>;
}

export class Journal {
  private readonly dirSync: DirSync;

  private constructor(readonly dir: string) {
    this.dirSync = new DirSync(dir);
  }

  static async open(cacheDir: string): Promise<Journal> {
    const dir = join(cacheDir, JOURNAL_DIR);
    await ensurePrivateDir(dir);
    return new Journal(dir);
  }

  pathOf(id: string): string {
    return join(this.dir, id + SUFFIX);
  }

  /** Writes (or replaces) a record durably. One writer per id at a time. */
  write(record: JournalRecord | FolderRecord): Promise<void> {
    return writeFileDurably(this.dirSync, record.id + SUFFIX, 'kind' in record ? encodeFolder(record) : encode(record));
  }

  /**
   * write() in two steps, so that the first can run alongside other fsyncs:
   * prepare() writes and fsyncs the temp file (the old record, if any, still
   * counts), commit() makes it the record.
   */
  prepare(record: JournalRecord): Promise<void> {
    return writeTemp(this.dirSync, record.id + SUFFIX, encode(record));
  }

  commit(id: string): Promise<void> {
    return commitTemp(this.dirSync, id + SUFFIX);
  }

  /** Removes a record durably. */
  remove(id: string): Promise<void> {
    return removeDurably(this.dirSync, id + SUFFIX);
  }

  /** Releases the journal dir's descriptor. */
  close(): Promise<void> {
    return this.dirSync.close();
  }

  /** Every record; leftover temp files are deleted, unreadable records renamed to *.bad. */
  async load(): Promise<LoadedJournal> {
    const records: JournalRecord[] = [];
    const folders: FolderRecord[] = [];
    const unreadable: LoadedJournal['unreadable'] = [];
    for (const name of (await readdir(this.dir)).sort()) {
      const full = join(this.dir, name);
      if (name.endsWith(SUFFIX + '.tmp')) {
        // A record being replaced when the process died: the old one (if any) is intact.
        await rm(full, { force: true });
        continue;
      }
      if (!name.endsWith(SUFFIX)) continue;
      try {
        const record = decodeAny(await readFile(full, 'utf8'));
        if (record.id + SUFFIX !== name) throw new Error(`its id is ${JSON.stringify(record.id)}`);
        if ('kind' in record) folders.push(record);
        else records.push(record);
      } catch (err) {
        const reason = err instanceof Error ? err.message : String(err);
        unreadable.push({ name, reason });
        await rename(full, `${full}.bad`).catch(() => undefined);
      }
    }
    return { records, folders, unreadable };
  }
}

export function encode(record: JournalRecord): string {
  const wire: WireRecord = {
    format: FORMAT,
    id: record.id,
    path: record.path,
    staging: record.staging,
    size: record.size,
    mtime: record.mtime.toISOString(),
    ...(record.metadata ? { metadata: { ...record.metadata } } : {}),
    generation: record.generation,
    remote: record.remote,
    state: record.state,
    ...(record.reason !== undefined ? { reason: record.reason } : {}),
    ...(record.base ? { base: encodeBase(record.base) } : {}),
    updatedAt: record.updatedAt.toISOString(),
  };
  return JSON.stringify(wire) + '\n';
}

export function encodeFolder(record: FolderRecord): string {
  const wire: WireFolder = {
    format: FORMAT,
    kind: 'folder',
    id: record.id,
    path: record.path,
    mtime: record.mtime.toISOString(),
    timeSet: record.timeSet,
    ...(record.metadata && Object.keys(record.metadata).length > 0 ? { metadata: { ...record.metadata } } : {}),
    state: record.state,
    ...(record.reason !== undefined ? { reason: record.reason } : {}),
    updatedAt: record.updatedAt.toISOString(),
  };
  return JSON.stringify(wire) + '\n';
}

/** A file's or a folder's record. */
export function decodeAny(text: string): JournalRecord | FolderRecord {
  const w = JSON.parse(text) as { kind?: unknown } | null;
  if (w && typeof w === 'object' && w.kind === 'folder') return decodeFolder(w as Partial<WireFolder>);
  return decode(text);
}

function decodeFolder(w: Partial<WireFolder>): FolderRecord {
  if (w.format !== FORMAT) throw new Error(`unknown record format ${String(w.format)}`);
  const text = (v: unknown, k: string): string => {
    if (typeof v !== 'string') throw new Error(`field ${k} is missing or not a string`);
    return v;
  };
  const date = (v: unknown, k: string): Date => {
    const d = new Date(text(v, k));
    if (Number.isNaN(d.getTime())) throw new Error(`field ${k} is not a date`);
    return d;
  };
  const id = text(w.id, 'id');
  if (!/^[0-9a-f]{8,64}$/.test(id)) throw new Error('field id is not an id');
  if (typeof w.timeSet !== 'boolean') throw new Error('field timeSet is missing or not a boolean');
  if (w.state !== 'pending' && w.state !== 'failed') throw new Error(`unknown state ${String(w.state)}`);
  return {
    kind: 'folder',
    id,
    path: text(w.path, 'path'),
    mtime: date(w.mtime, 'mtime'),
    timeSet: w.timeSet,
    ...(w.metadata === undefined ? {} : { metadata: decodeMetadata(w.metadata) }),
    state: w.state,
    ...(typeof w.reason === 'string' ? { reason: w.reason } : {}),
    updatedAt: date(w.updatedAt, 'updatedAt'),
  };
}

export function decode(text: string): JournalRecord {
  const w = JSON.parse(text) as Partial<WireRecord>;
  if (!w || typeof w !== 'object') throw new Error('not a JSON object');
  if (w.format !== FORMAT) throw new Error(`unknown record format ${String(w.format)}`);
  const str = (k: keyof WireRecord): string => {
    const v = w[k];
    if (typeof v !== 'string') throw new Error(`field ${k} is missing or not a string`);
    return v;
  };
  const num = (k: keyof WireRecord): number => {
    const v = w[k];
    if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 0) throw new Error(`field ${k} is missing or not a whole number`);
    return v;
  };
  const date = (k: keyof WireRecord): Date => {
    const d = new Date(str(k));
    if (Number.isNaN(d.getTime())) throw new Error(`field ${k} is not a date`);
    return d;
  };
  const id = str('id');
  if (!/^[0-9a-f]{8,64}$/.test(id)) throw new Error('field id is not an id');
  const staging = str('staging');
  if (staging.includes('/') || staging.startsWith('.')) throw new Error('field staging is not a staging file name');
  if (typeof w.remote !== 'boolean') throw new Error('field remote is missing or not a boolean');
  if (w.state !== 'pending' && w.state !== 'failed') throw new Error(`unknown state ${String(w.state)}`);
  return {
    id,
    path: str('path'),
    staging,
    size: num('size'),
    mtime: date('mtime'),
    ...(w.metadata === undefined ? {} : { metadata: decodeMetadata(w.metadata) }),
    generation: num('generation'),
    remote: w.remote,
    state: w.state,
    ...(typeof w.reason === 'string' ? { reason: w.reason } : {}),
    base: w.base === undefined ? null : decodeBase(w.base),
    updatedAt: date('updatedAt'),
  };
}

function decodeMetadata(w: unknown): MetadataMap {
  if (!w || typeof w !== 'object' || Array.isArray(w)) throw new Error('field metadata is not an object');
  const out: Record<string, string> = {};
  for (const [key, value] of Object.entries(w as Record<string, unknown>)) {
    if (typeof value !== 'string') throw new Error(`field metadata.${key} is not text`);
    out[key] = value;
  }
  return out;
}

function encodeBase(base: BaseVersion): WireBase {
  if (!base.exists) return { exists: false };
  return { exists: true, serverMtime: base.serverMtime?.toISOString() ?? null, size: base.size, md5: base.md5, crc32: base.crc32 };
}

function decodeBase(w: WireBase): BaseVersion {
  if (!w || typeof w !== 'object' || typeof w.exists !== 'boolean') throw new Error('field base is not a base version');
  if (!w.exists) return { exists: false };
  const mtime = w.serverMtime === null || w.serverMtime === undefined ? null : new Date(w.serverMtime);
  if (mtime && Number.isNaN(mtime.getTime())) throw new Error('field base.serverMtime is not a date');
  if (typeof w.size !== 'number' || !Number.isSafeInteger(w.size) || w.size < 0) throw new Error('field base.size is not a size');
  const text = (v: unknown): string | null => (typeof v === 'string' ? v : null);
  return { exists: true, serverMtime: mtime, size: w.size, md5: text(w.md5), crc32: text(w.crc32) };
}
