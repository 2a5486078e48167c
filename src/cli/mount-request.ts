// What the commands that talk to a running mount share (status, retry,
// discard, refresh, cache clear): find the filesfs
// process serving a mountpoint (the registry, src/control), ask it one
// control request, and turn each way that can fail into one line, and a path
// given on the command line into a path inside the mount.
import { isAbsolute, relative, resolve } from 'node:path';
import { controlRequest, ControlRequestError, ControlUnavailableError } from '../control/client.js';
import { findMount } from '../control/registry.js';
import { findMount as findKernelMount } from '../fuse/mountinfo.js';

/** A request that could not be answered, with the line to print (exit status 1). */
export class MountRequestError extends Error {}

/**
 * Asks the mount at `target` (a canonical mountpoint) `op`; MountRequestError
 * with one line otherwise. `unknownIsNull`: null when the mount does not know
 * the request (a read-only mount has no uploads, an older one no cache).
 */
export async function askMount<T>(target: string, op: string, args: Record<string, unknown>, timeoutMs: number, options: { unknownIsNull?: boolean; unknownMeans?: string } = {}): Promise<T> {
  const record = await findMount(target);
  if (!record) {
    const kernel = await findKernelMount(target);
    if (!kernel) throw new MountRequestError(`${target} is not mounted`);
    throw new MountRequestError(`${target} is not served by a running filesfs mount (${kernel.fstype} from ${kernel.source}${kernel.fstype === 'fuse.filesfs' ? ': its process is gone; run filesfs unmount ' + target : ''})`);
  }
  try {
    return await controlRequest<T>(record.socket, op, { args, timeoutMs });
  } catch (err) {
    if (err instanceof ControlUnavailableError) throw new MountRequestError(`the filesfs mount at ${target} (pid ${record.pid}) does not answer on ${record.socket}: ${err.message}`);
    const unknown = err instanceof ControlRequestError && /unknown control request/.test(err.message);
    if (unknown && options.unknownIsNull) return null as T;
    if (unknown) throw new MountRequestError(`the filesfs mount at ${target} ${options.unknownMeans ?? 'uploads nothing (it is mounted read-only)'}`);
    throw new MountRequestError(`${op} on ${target}: ${err instanceof Error ? err.message : String(err)}`);
  }
}

/**
 * A path given on the command line as the path inside the mount that
 * `filesfs status` prints ("/dir/a.txt"): a path under the mountpoint
 * (absolute, or relative to a working folder inside it) is taken relative to
 * the mountpoint; any other absolute path is already one inside the mount; a
 * relative path from outside the mount is relative to its root.
 */
export function pathInMount(mountpoint: string, arg: string, cwd = process.cwd()): string {
  const full = isAbsolute(arg) ? resolve(arg) : resolve(cwd, arg);
  const rest = relative(mountpoint, full);
  if (rest === '' || (!rest.startsWith('..') && !isAbsolute(rest))) return '/' + rest;
  return '/' + (isAbsolute(arg) ? resolve(arg).slice(1) : arg.split('/').filter((s) => s && s !== '.').join('/'));
}
