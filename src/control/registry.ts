// Where commands find the filesfs process serving a mountpoint. Each running
// mount writes one small record,
//   <registry>/<sha256 of the canonical mountpoint>.json   (dir 0700, file 0600)
//   = {pid, mountpoint, cacheDir, socket, baseUrl, root, startedAt, version}
// with <registry> = $XDG_RUNTIME_DIR/filesfs/mounts; without XDG_RUNTIME_DIR
// (mount(8), systemd units, cron) /run/filesfs/mounts for root, whose system
// mounts run for months (a folder under /tmp would be aged out by
// systemd-tmpfiles), else /tmp/filesfs-<uid>/mounts. Lookups try the
// session's folder, then that one, so `filesfs unmount` and `filesfs status`
// in a login shell find a mount started by /etc/fstab. The mount removes its
// record at exit; a record whose pid is gone (kill -9) is ignored and removed
// by the next reader.
//
// The mountpoint is canonicalised without touching the mountpoint itself
// (src/fuse canonicalMountpoint: realpath of the parent + the name), so a
// stale mount, or our own mount seen from the process that serves it, never
// hangs or fails the lookup.
import { createHash, randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { readFile, readdir, rename, unlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { canonicalMountpoint } from '../fuse/mountinfo.js';
import { ensurePrivateDir } from '../options/private-dir.js';
import type { MountInfo } from './protocol.js';

export interface MountRecord extends MountInfo {
  /** The control socket's path. */
  socket: string;
}

export function registryDir(env: NodeJS.ProcessEnv = process.env): string {
  const runtime = env.XDG_RUNTIME_DIR;
  if (runtime && runtime.startsWith('/')) return join(runtime, 'filesfs', 'mounts');
  return sessionlessRegistryDir();
}

/** The registry of mounts started without XDG_RUNTIME_DIR (see the top of this file). */
function sessionlessRegistryDir(): string {
  const uid = process.getuid?.();
  if (uid === 0 && existsSync('/run')) return '/run/filesfs/mounts';
  return join('/tmp', `filesfs-${uid ?? 'user'}`, 'mounts');
}

/** Where to look for a mount's record, in order. */
function lookupDirs(env: NodeJS.ProcessEnv): string[] {
  return [...new Set([registryDir(env), sessionlessRegistryDir()])];
}

function recordFile(dir: string, canonical: string): string {
  return join(dir, `${createHash('sha256').update(canonical).digest('hex')}.json`);
}

/**
 * Creates the registry dir (0700). Under a shared /tmp another user could have
 * made the path first: a folder not owned by us, or a symlink, is refused.
 */
async function privateDir(dir: string): Promise<string> {
  for (const d of [join(dir, '..'), dir]) {
    try {
      await ensurePrivateDir(d, { symlinks: 'refuse' });
    } catch (err) {
      throw new Error(`${(err as Error).message}; remove it or set XDG_RUNTIME_DIR`);
    }
  }
  return dir;
}

/** True while a process with this pid exists (ours or not: EPERM means it exists). */
export function processAlive(pid: number): boolean {
  if (!Number.isInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Writes the record of a running mount; returns the function that removes it. */
export async function registerMount(record: MountRecord, env: NodeJS.ProcessEnv = process.env): Promise<() => Promise<void>> {
  const dir = await privateDir(registryDir(env));
  const canonical = await canonicalMountpoint(record.mountpoint);
  const file = recordFile(dir, canonical);
  const temp = `${file}.${randomBytes(6).toString('hex')}.tmp`;
  await writeFile(temp, JSON.stringify({ ...record, mountpoint: canonical }, null, 2) + '\n', { mode: 0o600 });
  await rename(temp, file);
  return async () => {
    // Only our own record: a later mount at the same place may have replaced it.
    const current = await readRecord(file);
    if (current?.pid === record.pid) await unlink(file).catch(() => undefined);
  };
}

async function readRecord(file: string): Promise<MountRecord | undefined> {
  try {
    const value = JSON.parse(await readFile(file, 'utf8')) as MountRecord;
    return typeof value?.pid === 'number' && typeof value.socket === 'string' ? value : undefined;
  } catch {
    return undefined;
  }
}

/** The live filesfs mount serving `mountpoint`, if any. */
export async function findMount(mountpoint: string, env: NodeJS.ProcessEnv = process.env): Promise<MountRecord | undefined> {
  const { live } = await findMountRecords(mountpoint, env);
  return live;
}

/**
 * The live mount serving `mountpoint`, and the record of one that died
 * there without removing it (kill -9, a crash: its cache dir may hold
 * uploads it left in the journal). Stale records are removed on the way.
 */
export async function findMountRecords(mountpoint: string, env: NodeJS.ProcessEnv = process.env): Promise<{ live?: MountRecord; dead?: MountRecord }> {
  const canonical = await canonicalMountpoint(mountpoint);
  let dead: MountRecord | undefined;
  for (const dir of lookupDirs(env)) {
    const file = recordFile(dir, canonical);
    const record = await readRecord(file);
    if (!record) continue;
    if (processAlive(record.pid)) return { live: record };
    dead ??= record;
    await unlink(file).catch(() => undefined);
  }
  return dead ? { dead } : {};
}

/** Every live filesfs mount of this user (stale records are removed on the way). */
export async function listMounts(env: NodeJS.ProcessEnv = process.env): Promise<MountRecord[]> {
  const dir = registryDir(env);
  const names = await readdir(dir).catch(() => [] as string[]);
  const out: MountRecord[] = [];
  for (const name of names.filter((n) => n.endsWith('.json'))) {
    const record = await readRecord(join(dir, name));
    if (record && processAlive(record.pid)) out.push(record);
    else await unlink(join(dir, name)).catch(() => undefined);
  }
  return out;
}
