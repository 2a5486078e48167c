// Where local-only files live: <cacheDir>/local-only (0700), one content file
// (0600, `<id>.data`, a random id: nothing of the name on disk) per file and
// an index naming each one's path in the mount. The index is replaced
// atomically on every create, rename and delete, so the files survive an
// unmount, a crash or a reboot and come back at the next mount of the same
// cache dir. Sizes and times are kept in memory for getattr and readdir
// (which must answer without I/O), read from the content files at load.
import { randomBytes } from 'node:crypto';
import { constants, statSync } from 'node:fs';
import { open, readFile, readdir, utimes, type FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import type { RemoteEntry } from '../../client/index.js';
import { ensurePrivateDir } from '../../options/private-dir.js';
import { baseName, parentPath } from '../../path/index.js';
import { keyOf } from '../path-mapper.js';
import { DirSync, unlinkIfPresent, writeFileDurably } from '../write-back/durable.js';

export const LOCAL_ONLY_DIR = 'local-only';
const INDEX = 'index.json';
const FORMAT = 1;

export class LocalFile {
  /** Open handles (a deleted file's content goes with the last one). */
  handles = 0;
  constructor(readonly id: string, public path: string, public size: number, public mtime: Date, readonly contentPath: string) {}

  entry(): RemoteEntry {
    return {
      path: this.path,
      name: baseName(this.path),
      type: 'file',
      size: this.size,
      mtime: this.mtime,
      serverMtime: null,
      providedMtime: null,
      createdAt: null,
      md5: null,
      crc32: null,
      permissions: null,
    };
  }
}

interface WireIndex {
  format: number;
  files: Array<{ id: string; path: string }>;
}

export class LocalOnlyStore {
  private readonly byKey = new Map<string, LocalFile>();
  private readonly dirSync: DirSync;
  /** Index writes, one at a time (the newest always wins). */
  private saving: Promise<void> = Promise.resolve();

  private constructor(readonly dir: string) {
    this.dirSync = new DirSync(dir);
  }

  static async open(cacheDir: string): Promise<LocalOnlyStore> {
    const store = new LocalOnlyStore(await ensurePrivateDir(join(cacheDir, LOCAL_ONLY_DIR)));
    await store.load();
    return store;
  }

  get(path: string): LocalFile | undefined {
    return this.byKey.get(keyOf(path));
  }

  childrenOf(dirPath: string): LocalFile[] {
    const parent = keyOf(dirPath);
    return [...this.byKey.values()].filter((f) => keyOf(parentPath(f.path)) === parent);
  }

  /** Local-only files at `path` or below it (a folder being renamed or removed). */
  atOrBelow(path: string): LocalFile[] {
    const key = keyOf(path);
    return [...this.byKey.values()].filter((f) => { const k = keyOf(f.path); return key === '' || k === key || k.startsWith(key + '/'); });
  }

  /** A new, empty local-only file at `path`. */
  async create(path: string, now: Date): Promise<LocalFile> {
    const id = randomBytes(12).toString('hex');
    const contentPath = join(this.dir, `${id}.data`);
    const handle = await open(contentPath, constants.O_CREAT | constants.O_EXCL | constants.O_RDWR, 0o600);
    await handle.close();
    const file = new LocalFile(id, path, 0, now, contentPath);
    this.byKey.set(keyOf(path), file);
    await this.save();
    return file;
  }

  /** Opens a local-only file's content for reading and writing. */
  openContent(file: LocalFile): Promise<FileHandle> {
    return open(file.contentPath, constants.O_RDWR);
  }

  async setMtime(file: LocalFile, mtime: Date): Promise<void> {
    await utimes(file.contentPath, mtime, mtime);
    file.mtime = mtime;
  }

  /** Renames a local-only file (replacing one at the target). */
  async move(file: LocalFile, to: string): Promise<void> {
    const replaced = this.get(to);
    this.byKey.delete(keyOf(file.path));
    if (replaced && replaced !== file) this.byKey.delete(keyOf(replaced.path));
    file.path = to;
    this.byKey.set(keyOf(to), file);
    await this.save();
    if (replaced && replaced !== file) await this.dropContent(replaced);
  }

  /** Deletes a local-only file (open handles keep its content until they close). */
  async remove(file: LocalFile): Promise<void> {
    if (this.byKey.get(keyOf(file.path)) !== file) return;
    this.byKey.delete(keyOf(file.path));
    await this.save();
    await this.dropContent(file);
  }

  async close(): Promise<void> {
    await this.saving;
    await this.dirSync.close();
  }

  private async dropContent(file: LocalFile): Promise<void> {
    await unlinkIfPresent(file.contentPath);
  }

  private save(): Promise<void> {
    const wire: WireIndex = { format: FORMAT, files: [...this.byKey.values()].map((f) => ({ id: f.id, path: f.path })) };
    const text = JSON.stringify(wire) + '\n';
    this.saving = this.saving.catch(() => undefined).then(() => writeFileDurably(this.dirSync, INDEX, text));
    return this.saving;
  }

  private async load(): Promise<void> {
    let wire: WireIndex | undefined;
    try {
      wire = JSON.parse(await readFile(join(this.dir, INDEX), 'utf8')) as WireIndex;
    } catch {
      wire = undefined; // none yet (or unreadable: the files it named are tidied below)
    }
    const known = new Set<string>();
    for (const item of wire?.format === FORMAT && Array.isArray(wire.files) ? wire.files : []) {
      if (typeof item?.id !== 'string' || !/^[0-9a-f]{24}$/.test(item.id) || typeof item.path !== 'string') continue;
      const contentPath = join(this.dir, `${item.id}.data`);
      try {
        const st = statSync(contentPath);
        this.byKey.set(keyOf(item.path), new LocalFile(item.id, item.path, st.size, new Date(Math.floor(st.mtimeMs / 1000) * 1000), contentPath));
        known.add(`${item.id}.data`);
      } catch {
        // Its content is gone: forget it.
      }
    }
    for (const name of await readdir(this.dir)) {
      if (name.endsWith('.data') && !known.has(name)) await unlinkIfPresent(join(this.dir, name));
    }
  }
}
