// `filesfs refresh <path> [--recursive]`: makes the running mount that serves
// <path> forget what it holds about it and ask the server again, now (rclone's
// vfs/refresh is the model). The path is a mountpoint or anything inside a
// mount, existing or not (a name someone else just created may still be
// cached here as "no such file"). The mount is found through the kernel's
// mount table (the deepest mount above the path) and the registry
// (src/control); the request goes over its control socket with the path
// relative to the mountpoint; the mount answers a RefreshReport
// (src/vfs/remote-changes/refresh.ts), printed as one line. Exit status: 0
// refreshed, 1 when no running filesfs mount serves the path (or it cannot
// answer, or the server failed), 2 for usage.
import { realpath } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { ConfigError } from '../../options/config-error.js';
import { readMounts, type MountEntry } from '../../fuse/mountinfo.js';
import { describeRefresh } from '../../vfs/remote-changes/describe-refresh.js';
import type { RefreshReport } from '../../vfs/index.js';
import { parseCommandLine } from '../args.js';
import type { Command } from '../command.js';
import { askMount, MountRequestError } from '../mount-request.js';

const usage = `Usage: filesfs refresh <path> [--recursive] [--json] [--timeout S]

Makes the running filesfs mount that serves <path> (its mountpoint, or a file
or folder inside it, which need not exist there yet) forget what it holds
about it, and ask the server again, now: changes made elsewhere then show at
once, whatever --attr-ttl and --dir-ttl say (the kernel's own caches may
still answer for up to 1 s).

Dropped: the path's attributes, its "no such file" entry and its listing,
its parent folder's listing, and the attributes and "no such file" entries
of the folder's entries. Then a folder is listed again (one request per
--per-page entries, so the next ls is warm) and a file is stat'ed (one
request). Cached content of a file whose version changed, or that is gone,
is dropped; a program that has it open keeps reading the version it opened.

Options:
  --recursive           also everything cached below the folder; folders
                        below whose listing was cached are listed again (at
                        most 64, the others are only dropped)
  --json                print the mount's answer as JSON (found, entries,
                        relistedFolders, changedContents,
                        readersKeepingVersion, requests, ...)
  --timeout S           give up after S seconds without an answer (default 60)
  -h, --help            show this help`;

const DEFAULT_TIMEOUT_S = 60;
/** What the kernel's mount table calls a filesfs mount (type fuse, subtype filesfs). */
const FSTYPE = 'fuse.filesfs';

const fail = (line: string): number => {
  process.stderr.write(`filesfs: ${line}\n`);
  return 1;
};

export const command: Command = {
  summary: 'make a mount forget what it holds about a path and ask the server again',
  usage,
  async run(args) {
    const { values, positionals } = parseCommandLine(args, { recursive: { type: 'boolean', short: 'r' }, json: { type: 'boolean' }, timeout: { type: 'string' } });
    if (positionals.length !== 1) throw new ConfigError('refresh: expected one path (usage: filesfs refresh <path> [--recursive])');
    const timeoutS = values.timeout === undefined ? DEFAULT_TIMEOUT_S : Number(values.timeout);
    if (!(timeoutS > 0)) throw new ConfigError(`--timeout: expected a number of seconds > 0, got ${JSON.stringify(values.timeout)}`);
    const mounts = await readMounts();
    const { target, mount } = await locate(resolve(positionals[0]!), mounts);
    if (!mount) {
      const on = mountAbove(target, mounts);
      return fail(`${target} is not inside a filesfs mount${on && on.mountpoint !== '/' ? ` (it is on ${on.mountpoint}, ${on.fstype} from ${on.source})` : ''}`);
    }
    const inside = target === mount.mountpoint ? '/' : target.slice(mount.mountpoint === '/' ? 0 : mount.mountpoint.length);
    let report: RefreshReport;
    try {
      report = await askMount<RefreshReport>(mount.mountpoint, 'refresh', { path: inside, recursive: values.recursive === true }, Math.round(timeoutS * 1000), {
        unknownMeans: 'is older than filesfs refresh; remount it to use refresh',
      });
    } catch (err) {
      if (err instanceof MountRequestError) return fail(err.message);
      throw err;
    }
    process.stdout.write(values.json ? JSON.stringify(report, null, 2) + '\n' : describeRefresh(report, target) + '\n');
    return 0;
  },
};

/**
 * The path the user means, and the filesfs mount it is in: symlinks are
 * resolved one segment at a time up to a filesfs mountpoint (the kernel's
 * mount table spells mountpoints that way), and never below it: a lookup
 * there of a name not cached yet would leave the kernel a "no such file"
 * answer (for up to 1 s) for the very name about to be refreshed.
 */
async function locate(absolute: string, mounts: readonly MountEntry[]): Promise<{ target: string; mount: MountEntry | undefined }> {
  // At one mountpoint, the last line is on top.
  const filesfs = new Map<string, MountEntry>();
  for (const m of mounts) {
    if (m.fstype === FSTYPE) filesfs.set(m.mountpoint, m);
    else filesfs.delete(m.mountpoint);
  }
  const parts = absolute.split('/').filter(Boolean);
  let at = '/';
  for (let i = 0; i < parts.length; i++) {
    if (filesfs.has(at)) {
      const target = join(at, ...parts.slice(i));
      // The deepest filesfs mount the rest leads into (one may be mounted inside another).
      return { target, mount: mountAbove(target, [...filesfs.values()]) };
    }
    const next = join(at, parts[i]!);
    // A mountpoint is never resolved: a stale one would fail with ENOTCONN.
    if (filesfs.has(next)) {
      at = next;
      continue;
    }
    try {
      at = await realpath(next);
    } catch {
      return { target: join(at, ...parts.slice(i)), mount: undefined };
    }
  }
  return { target: at, mount: filesfs.get(at) };
}

/** The deepest mount at or above `path` (the topmost of several at one place), for messages. */
function mountAbove(path: string, mounts: readonly MountEntry[]): MountEntry | undefined {
  let best: MountEntry | undefined;
  for (const m of mounts) {
    const under = m.mountpoint === '/' || path === m.mountpoint || path.startsWith(m.mountpoint + '/');
    if (under && (!best || m.mountpoint.length >= best.mountpoint.length)) best = m;
  }
  return best;
}
