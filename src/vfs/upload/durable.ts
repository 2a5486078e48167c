// Making things survive a crash or power loss, cheaply. A file's new name is
// durable only once its directory is fsync'd; many files closed at once (cp -r)
// would each pay one directory fsync, so DirSync batches them: callers that
// arrive while a directory fsync runs share the next one (group commit), and
// each caller returns only after an fsync that started after its call.
// writeFileDurably is the atomic replace: temp file, fsync, rename, directory
// fsync. A crash leaves either the old or the new content, never a torn file.
import { open, rename, rm } from 'node:fs/promises';
import { join } from 'node:path';

export class DirSync {
  private running: Promise<void> | null = null;
  private next: Promise<void> | null = null;

  constructor(readonly dir: string) {}

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
    const run = fsyncDir(this.dir).finally(() => {
      if (this.running === run) this.running = null;
    });
    this.running = run;
    return run;
  }
}

export async function fsyncDir(dir: string): Promise<void> {
  const handle = await open(dir, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
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
    await rm(temp, { force: true }).catch(() => undefined);
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
  await rm(join(dirSync.dir, name), { force: true });
  await dirSync.sync();
}
