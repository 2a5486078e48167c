// What the kernel says is mounted, and the fusermount3 calls that unmount
// (fusermount3 is libfuse 3's, from the Debian package fuse3; it unmounts any
// FUSE mount, libfuse 2's too).
// Reads /proc/self/mountinfo (the mount namespace this process sees) rather
// than stat'ing the path: a stale FUSE mount answers stat with ENOTCONN, and
// a live one of ours would be asked by the kernel to answer it. Every call is
// asynchronous: the process that serves a mount must never block its event
// loop on something that may need that mount.
import { execFile } from 'node:child_process';
import { readFile, realpath } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';

export interface MountEntry {
  mountpoint: string;
  /** The mount's device, "major:minor" (e.g. "0:53"); a FUSE mount's names its backing device info in /sys/class/bdi. */
  device: string;
  /** e.g. "fuse.filesfs". */
  fstype: string;
  /** e.g. "filesfs" (the fsname). */
  source: string;
  /** Per-mount options, e.g. "rw,nosuid,nodev,relatime". */
  options: string;
  /** Filesystem options, e.g. "rw,user_id=0,group_id=0,default_permissions". */
  superOptions: string;
}

/** mountinfo escapes space, tab, newline and backslash as \ooo. */
function unescapeOctal(field: string): string {
  return field.replace(/\\([0-7]{3})/g, (_, oct: string) => String.fromCharCode(parseInt(oct, 8)));
}

export function parseMountinfo(text: string): MountEntry[] {
  const entries: MountEntry[] = [];
  for (const line of text.split('\n')) {
    if (!line) continue;
    // id parent major:minor root mountpoint options [optional...] - fstype source superoptions
    const fields = line.split(' ');
    const separator = fields.indexOf('-', 6);
    if (separator < 0 || fields.length < separator + 4) continue;
    entries.push({
      mountpoint: unescapeOctal(fields[4]!),
      device: fields[2]!,
      options: fields[5]!,
      fstype: fields[separator + 1]!,
      source: unescapeOctal(fields[separator + 2]!),
      superOptions: fields[separator + 3]!,
    });
  }
  return entries;
}

export async function readMounts(): Promise<MountEntry[]> {
  return parseMountinfo(await readFile('/proc/self/mountinfo', 'utf8'));
}

/**
 * The absolute path as mountinfo spells it: symlinks in the parent resolved
 * (the path itself is not stat'ed, since it may be a stale mount).
 */
export async function canonicalMountpoint(path: string): Promise<string> {
  const absolute = resolve(path);
  if (absolute === '/') return absolute;
  try {
    return join(await realpath(dirname(absolute)), basename(absolute));
  } catch {
    return absolute;
  }
}

/** The topmost mount at `path`, if any. */
export async function findMount(path: string): Promise<MountEntry | undefined> {
  const target = await canonicalMountpoint(path);
  const mounts = await readMounts();
  for (let i = mounts.length - 1; i >= 0; i--) if (mounts[i]!.mountpoint === target) return mounts[i];
  return undefined;
}

export async function isMountpoint(path: string): Promise<boolean> {
  return (await findMount(path)) !== undefined;
}

export interface CommandResult {
  ok: boolean;
  stderr: string;
}

function run(file: string, args: string[]): Promise<CommandResult> {
  return new Promise((resolvePromise) => {
    execFile(file, args, { encoding: 'utf8' }, (err, _stdout, stderr) => {
      resolvePromise({ ok: !err, stderr: (stderr || (err && 'code' in err && err.code === 'ENOENT' ? `${file}: not found` : err?.message) || '').trim() });
    });
  });
}

/** The unmount helper of libfuse 3. */
export const FUSERMOUNT = 'fusermount3';

/** `fusermount3 -u` (or `-uz`, lazy: detach now, release when no longer busy). */
export function fusermount(path: string, lazy: boolean): Promise<CommandResult> {
  return run(FUSERMOUNT, [lazy ? '-uz' : '-u', '--', path]);
}

/**
 * Detaches a (possibly stale) FUSE mount at `path` with `fusermount3 -uz`, or
 * as root `umount -l` when fusermount3 cannot. Resolves to true when something
 * was unmounted, false when nothing was mounted there.
 */
export async function lazyUnmount(path: string): Promise<boolean> {
  const target = await canonicalMountpoint(path);
  if (!(await isMountpoint(target))) return false;
  const result = await fusermount(target, true);
  if (!result.ok && (await isMountpoint(target)) && process.getuid?.() === 0) {
    const fallback = await run('umount', ['-l', target]);
    if (!fallback.ok) throw new Error(`cannot unmount ${target}: ${result.stderr}; umount -l: ${fallback.stderr}`);
  } else if (!result.ok && (await isMountpoint(target))) {
    throw new Error(`cannot unmount ${target}: ${result.stderr}`);
  }
  return true;
}

/** Polls mountinfo until `path` is (or is no longer) a mountpoint. */
export async function waitForMount(path: string, mounted: boolean, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if ((await isMountpoint(path)) === mounted) return true;
    if (Date.now() >= deadline) return false;
    await new Promise((r) => setTimeout(r, 25));
  }
}
