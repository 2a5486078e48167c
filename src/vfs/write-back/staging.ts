// The staging area: <cacheDir>/staging (0700), private files (0600) holding
// pending files' local content until the server has it: `<id>.data` for a
// file's first version, `<id>.<n>.data` for the copies a change of a closed
// version makes. Names are random, never derived from the remote path, so
// nothing about the site's names leaks into the local disk and renames never
// touch staging.
// Files are sparse: truncate extends without writing zeros. Errors from the
// disk (ENOSPC on a full disk, EDQUOT, EIO) pass through unchanged, so the
// FUSE adapter answers the writer with that errno.
import { randomBytes } from 'node:crypto';
import { constants } from 'node:fs';
import { copyFile, open, readdir, rm, stat, type FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import { ensurePrivateDir } from '../../options/private-dir.js';
import { DirSync, unlinkIfPresent } from './durable.js';

export const STAGING_DIR = 'staging';
const SUFFIX = '.data';

export class StagingArea {
  /** fsync of the staging dir, shared by every new staging file (group commit). */
  readonly dirSync: DirSync;

  private constructor(readonly dir: string) {
    this.dirSync = new DirSync(dir);
  }

  /** Creates `<cacheDir>/staging` (0700) if needed. */
  static async open(cacheDir: string): Promise<StagingArea> {
    const dir = join(cacheDir, STAGING_DIR);
    await ensurePrivateDir(dir);
    return new StagingArea(dir);
  }

  /** A fresh random id for a pending file (its staging and journal names). */
  static newId(): string {
    return randomBytes(12).toString('hex');
  }

  /** The staging file name of a pending file's first version (copy 0) or of its n-th copy. */
  nameFor(id: string, copy = 0): string {
    return copy === 0 ? `${id}${SUFFIX}` : `${id}.${copy}${SUFFIX}`;
  }

  /**
   * A new staging file `name` holding the first `bytes` bytes of `from`
   * (a cheap clone where the filesystem can, a copy otherwise), opened for
   * reading and writing. ENOSPC and the like pass through; nothing is left
   * behind on failure.
   */
  async copy(from: string, name: string, bytes: number): Promise<FileHandle> {
    const to = this.pathOf(name);
    try {
      if (bytes === 0) return await this.create(name);
      await copyFile(from, to, constants.COPYFILE_EXCL | constants.COPYFILE_FICLONE);
      const handle = await open(to, constants.O_RDWR);
      try {
        await handle.truncate(bytes);
      } catch (err) {
        await handle.close();
        throw err;
      }
      return handle;
    } catch (err) {
      await unlinkIfPresent(to).catch(() => undefined);
      throw err;
    }
  }

  pathOf(name: string): string {
    return join(this.dir, name);
  }

  /** Creates an empty staging file (0600) and opens it for reading and writing. */
  create(name: string): Promise<FileHandle> {
    return open(this.pathOf(name), constants.O_CREAT | constants.O_EXCL | constants.O_RDWR, 0o600);
  }

  /** Opens an existing staging file for reading and writing. */
  openExisting(name: string): Promise<FileHandle> {
    return open(this.pathOf(name), constants.O_RDWR);
  }

  /** Size of a staging file, or null when it is missing. */
  async sizeOf(name: string): Promise<number | null> {
    try {
      return (await stat(this.pathOf(name))).size;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
      throw err;
    }
  }

  /** Cuts a staging file to `size` bytes, durably (recovery drops bytes nobody closed). */
  async truncate(name: string, size: number): Promise<void> {
    const handle = await open(this.pathOf(name), constants.O_RDWR);
    try {
      await handle.truncate(size);
      await handle.datasync();
    } finally {
      await handle.close();
    }
  }

  /** Deletes a staging file (or a stray folder); missing is fine. */
  async remove(name: string): Promise<void> {
    try {
      await unlinkIfPresent(this.pathOf(name));
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code !== 'EISDIR' && code !== 'EPERM') throw err;
      await rm(this.pathOf(name), { force: true, recursive: true });
    }
  }

  /** Releases the staging dir's descriptor. */
  close(): Promise<void> {
    return this.dirSync.close();
  }

  /** Names of every staging file (for recovery: files no journal record names are leftovers). */
  async list(): Promise<string[]> {
    return (await readdir(this.dir)).filter((n) => n.endsWith(SUFFIX));
  }

  /** Every entry of the staging dir that is not a staging file (temp files of a crashed fetch, strays). */
  async strays(): Promise<string[]> {
    return (await readdir(this.dir)).filter((n) => !n.endsWith(SUFFIX));
  }
}
