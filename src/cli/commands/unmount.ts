// `filesfs unmount <mountpoint>`: stops a mount. When a filesfs process
// serves the mountpoint (found in the registry, src/control), it is asked over
// its control socket: it runs its shutdown steps (the write-back drain, whose
// progress lines are printed here on stderr), unmounts and exits; this
// command waits for both. Anything else mounted there (a stale mount left by
// a killed process, a FUSE mount of another program) is unmounted with
// `fusermount3 -u`, lazily (`-uz`) when busy, with a note saying so. A
// filesfs mount whose process died (kill -9, a crash) may have left uploads
// in its cache dir's journal: the registry still names that cache dir, so
// the command counts them and says where they wait.
//
// Exit status: 0 unmounted with nothing left undone; 3 unmounted, but
// uploads (or folders to create) were left in the journal (--force, a
// refusal, the drain stopped): they resume at the next mount with the same
// cache dir; 1 when the unmount failed; 2 for usage.
import { ConfigError } from '../../options/config-error.js';
import { controlRequest, ControlTimeoutError, ControlUnavailableError } from '../../control/client.js';
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { findMountRecords, processAlive, type MountRecord } from '../../control/registry.js';
import { canonicalMountpoint, findMount as findKernelMount, fusermount, isMountpoint, waitForMount } from '../../fuse/mountinfo.js';
import { parseCommandLine } from '../args.js';
import type { Command } from '../command.js';

const usage = `Usage: filesfs unmount <mountpoint> [options]

Unmounts a filesfs mount: the mount process first finishes its work (pending
uploads are drained, with progress shown here), then unmounts and exits.
For a mount no running filesfs serves (a stale mount of a killed process,
or another FUSE filesystem), runs fusermount3 -u (-uz when busy).

Options:
  --force               do not wait for pending uploads: unmount at once; they
                        stay in the cache dir's journal and resume at the next
                        mount of the same site and root
  --timeout S           give up waiting after S seconds (default: wait as long
                        as the drain takes)
  -h, --help            show this help

Exit status: 0 unmounted, nothing left undone; 3 unmounted with uploads left
pending in the cache dir's journal (they resume at the next mount); 1 the
unmount failed.`;

/** Unmounted, but uploads were left undone (in the journal). */
export const EXIT_LEFT_UNDONE = 3;

/** How long to wait for the mount process to exit once it said it unmounted. */
const EXIT_WAIT_MS = 30_000;
/** How long fusermount3's unmount may take to show in mountinfo. */
const KERNEL_WAIT_MS = 10_000;

const say = (line: string): void => {
  process.stderr.write(`filesfs: ${line}\n`);
};

async function waitForExit(pid: number, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (processAlive(pid)) {
    if (Date.now() >= deadline) return false;
    await new Promise((r) => setTimeout(r, 50));
  }
  return true;
}

/** Journal records (uploads, folders to create) in a cache dir: work a mount left undone there. */
async function journalRecords(cacheDir: string): Promise<number> {
  const names = await readdir(join(cacheDir, 'journal')).catch(() => [] as string[]);
  return names.filter((n) => n.endsWith('.json')).length;
}

/**
 * After a filesfs process that served `target` died: 3 (and where) when its
 * cache dir's journal holds work it left undone, else 0.
 */
async function leftByDeadMount(target: string, dead: MountRecord | undefined): Promise<number> {
  if (!dead?.cacheDir) return 0;
  const left = await journalRecords(dead.cacheDir);
  if (left === 0) return 0;
  say(`its filesfs process (pid ${dead.pid}) had stopped with ${left} upload${left === 1 ? '' : 's'} or folder${left === 1 ? '' : 's'} left in the journal of ${dead.cacheDir}: they resume at the next mount of the same site with that cache dir`);
  return EXIT_LEFT_UNDONE;
}

/** Unmounts what no filesfs process serves (`dead`: the record of a filesfs mount whose process died there). */
async function unmountForeign(target: string, dead?: MountRecord): Promise<number> {
  const entry = await findKernelMount(target);
  if (!entry) {
    await leftByDeadMount(target, dead);
    throw new ConfigError(`${target} is not mounted`);
  }
  const first = await fusermount(target, false);
  if (first.ok || !(await isMountpoint(target))) {
    await waitForMount(target, false, KERNEL_WAIT_MS);
    say(`unmounted ${target} (${entry.fstype}; no running filesfs process served it, so fusermount3 -u did)`);
    return leftByDeadMount(target, dead);
  }
  if (!/busy/i.test(first.stderr)) throw new Error(`cannot unmount ${target}: ${first.stderr}`);
  const lazy = await fusermount(target, true);
  if (!lazy.ok && (await isMountpoint(target))) throw new Error(`cannot unmount ${target}: ${lazy.stderr}`);
  say(`${target} was busy (a process has a file or its working folder there): detached it lazily (fusermount3 -uz); it goes away when the last user lets go`);
  return leftByDeadMount(target, dead);
}

export const command: Command = {
  summary: 'drain pending uploads, then unmount',
  usage,
  async run(args) {
    const { values, positionals } = parseCommandLine(args, {
      force: { type: 'boolean' },
      timeout: { type: 'string' },
    });
    if (positionals.length !== 1) throw new ConfigError('unmount: expected one mountpoint (usage: filesfs unmount <mountpoint>)');
    const timeoutMs = values.timeout === undefined ? undefined : Math.round(Number(values.timeout) * 1000);
    if (timeoutMs !== undefined && !(timeoutMs > 0)) throw new ConfigError(`--timeout: expected a number of seconds > 0, got ${JSON.stringify(values.timeout)}`);
    const target = await canonicalMountpoint(positionals[0]!);

    const { live: record, dead } = await findMountRecords(target);
    if (!record) return unmountForeign(target, dead);

    const onInterrupt = (): void => {
      say(`stopped waiting; the mount process (pid ${record.pid}) goes on and unmounts ${target} when done (filesfs unmount --force ${target} to unmount at once)`);
      process.exit(130);
    };
    process.once('SIGINT', onInterrupt);
    let leftUndone: string[] = [];
    try {
      const answer = await controlRequest<{ leftUndone?: string[] }>(record.socket, 'unmount', {
        args: { force: values.force === true },
        onProgress: (update) => say(update.message),
        ...(timeoutMs !== undefined ? { timeoutMs } : {}),
      });
      leftUndone = Array.isArray(answer?.leftUndone) ? answer.leftUndone.filter((l): l is string => typeof l === 'string') : [];
    } catch (err) {
      if (err instanceof ControlTimeoutError) {
        throw new Error(`gave up waiting after ${values.timeout} s; the mount process (pid ${record.pid}) goes on and unmounts ${target} when done`);
      }
      if (!(err instanceof ControlUnavailableError)) throw err;
      // Its socket is gone: the process is exiting or cannot answer; if the
      // mount is still there once it has exited, treat it as a stale mount.
      if (!(await waitForExit(record.pid, EXIT_WAIT_MS))) throw new Error(`the filesfs process serving ${target} (pid ${record.pid}) does not answer on ${record.socket}; stop it with: kill ${record.pid}`);
      if (await isMountpoint(target)) return unmountForeign(target, record);
      say(`unmounted ${target}`);
      return leftByDeadMount(target, record);
    } finally {
      process.off('SIGINT', onInterrupt);
    }
    if (!(await waitForExit(record.pid, EXIT_WAIT_MS))) throw new Error(`${target} is unmounted, but its filesfs process (pid ${record.pid}) has not exited after ${EXIT_WAIT_MS / 1000} s`);
    if (await isMountpoint(target)) throw new Error(`${target} is still mounted after its filesfs process exited; run: filesfs unmount ${target}`);
    if (leftUndone.length > 0) {
      say(`unmounted ${target}, with work left undone: ${leftUndone.join('; ')}`);
      return EXIT_LEFT_UNDONE;
    }
    say(`unmounted ${target}`);
    return 0;
  },
};
