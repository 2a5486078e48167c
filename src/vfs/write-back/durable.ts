// Making things survive a crash or power loss, cheaply. A file's new name is
// durable only once its directory is fsync'd; many files closed at once (cp -r)
// would each pay one directory fsync, so DirSync batches them: callers that
// arrive while a directory fsync runs share the next one (group commit), and
// each caller returns only after an fsync that started after its call.
// writeFileDurably is the atomic replace: temp file, fsync, rename, directory
// fsync. A crash leaves either the old or the new content, never a torn file.
//
// A DirSync keeps its directory open (one descriptor per directory, closed by
// close()), so each fsync is one call, not open + fsync + close: `cp -r` of
// small files syncs a directory two or three times per file.
import { close as closeFd, fsync, open as openFd } from 'node:fs';
import { open, rename, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';

const openDir = promisify(openFd);
const fsyncFd = promisify(fsync);
const closeDir = promisify(closeFd);

export class DirSync {
  private running: Promise<void> | null = null;
  private next: Promise<void> | null = null;
  /** The directory's descriptor (a plain fd: one per directory for the mount's life, never GC-closed). */
  private fd: Promise<number> | null = null;

  constructor(readonly dir: string) {}

  /** Closes the directory's descriptor (a later sync opens it again). */
  async close(): Promise<void> {
    const fd = this.fd;
    this.fd = null;
    if (fd) await closeDir(await fd).catch(() => undefined);
  }

  /** Resolves after an fsync of the directory that began after this call. */
  sync(): Promise<void> {
    if (!this.running) return this.start();
    // One is running: it may have begun before our change; share the next one.
    this.next ??= this.running.then(
      () => this.start(),
      () => this.start(),
    );
    return this.next;
  }

  private start(): Promise<void> {
    this.next = null;
    const run = this.fsyncOnce().finally(() => {
      if (this.running === run) this.running = null;
    });
    this.running = run;
    return run;
  }

  private async fsyncOnce(): Promise<void> {
    const opening = (this.fd ??= openDir(this.dir, 'r'));
    let fd: number;
    try {
      fd = await opening;
    } catch (err) {
      if (this.fd === opening) this.fd = null;
      throw err;
    }
    await fsyncFd(fd);
  }
}

/**
 * Replaces `dir/name` with `data` atomically and durably (mode 0600). The temp
 * file is `name.tmp`: callers never write one name concurrently.
 */
export async function writeFileDurably(dirSync: DirSync, name: string, data: string | Buffer): Promise<void> {
  await writeTemp(dirSync, name, data);
  await commitTemp(dirSync, name);
}

/** First half of writeFileDurably: `name.tmp` written and fsync'd (invisible under `name` yet). */
export async function writeTemp(dirSync: DirSync, name: string, data: string | Buffer): Promise<void> {
  const temp = join(dirSync.dir, `${name}.tmp`);
  const handle = await open(temp, 'w', 0o600);
  try {
    await handle.writeFile(data);
    await handle.datasync();
  } catch (err) {
    await handle.close().catch(() => undefined);
    await unlinkIfPresent(temp).catch(() => undefined);
    throw err;
  }
  await handle.close();
}

/** Second half: `name.tmp` becomes `name`, durably. */
export async function commitTemp(dirSync: DirSync, name: string): Promise<void> {
  const target = join(dirSync.dir, name);
  await rename(`${target}.tmp`, target);
  await dirSync.sync();
}

/** Removes `dir/name` durably (missing is fine). */
export async function removeDurably(dirSync: DirSync, name: string): Promise<void> {
  await unlinkIfPresent(join(dirSync.dir, name));
  await dirSync.sync();
}

/** unlink(2) of a file, a missing one being fine (one call: rm({ force }) also stats first). */
export async function unlinkIfPresent(path: string): Promise<void> {
  try {
    await unlink(path);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
}
