// Mounting a Filesystem at a folder, and unmounting it. Before anything is
// mounted it checks what would otherwise fail with libfuse's terse messages
// (or worse, hang): FUSE missing on this machine (native/detect-fuse.mjs), a
// missing or non-folder mountpoint, a stale mount left by a killed process
// ("Transport endpoint is not connected"), something already mounted there, a
// non-empty folder (refused unless `-o nonempty`: libfuse 3 itself mounts
// over one without a word), allow_other without permission. Each refusal is
// a MountError whose message says what to do.
//
// It resolves once the kernel has the mount (fuse-native calls back on the
// kernel's INIT; /proc/self/mountinfo confirms), after raising the mount's
// read-ahead to the max_readahead it negotiated (readahead.ts). `unmount()`
// runs `fusermount3 -u`, falls back to a lazy `fusermount3 -uz` when the
// mount is busy (saying so in the log), waits until the mount is gone, then
// frees the binding. Pending uploads are not this module's business: a
// caller drains the filesystem layer before unmounting.
import { readdir, readFile, stat } from 'node:fs/promises';
import { detectFuse, formatFuseProblems } from '../../native/detect-fuse.mjs';
import type { FuseDetection } from '../../native/detect-fuse.mjs';
import type { Logger } from '../log/logger.js';
import { silentLogger } from '../log/logger.js';
import type { Filesystem } from '../vfs/index.js';
import { createOperations, type OperationObserver } from './adapter.js';
import { FilesfsFuse, LAST_RESORT_TIMEOUT_MS, requestCaller } from './filesfs-fuse.js';
import { releaseMemoryWhenIdle } from './idle-release.js';
import { MountError } from './mount-error.js';
import type { MountOptionsInput } from './mount-options.js';
import { allowsNonEmptyMountpoint, buildMountOptions, maxReadaheadOf, optionsArgument } from './mount-options.js';
import { FUSERMOUNT, canonicalMountpoint, findMount, fusermount, isMountpoint, lazyUnmount, readMounts, waitForMount } from './mountinfo.js';
import { raiseReadahead } from './readahead.js';

export { isMountpoint, lazyUnmount } from './mountinfo.js';
export { MountError } from './mount-error.js';

/** How long the kernel's INIT may take after the mount call; it normally takes milliseconds. */
export const DEFAULT_INIT_TIMEOUT_MS = 30_000;
/** How long unmount waits for the kernel to drop the mount after fusermount3 succeeded. */
const UNMOUNT_WAIT_MS = 10_000;
/** fuse-native copies the mountpoint into a 1024-byte buffer (NUL included). */
const MAX_MOUNTPOINT_BYTES = 1023;

export interface MountOptions extends MountOptionsInput {
  logger?: Logger;
  /** Unmount a stale FUSE mount found at the mountpoint (fusermount3 -uz) instead of refusing. */
  cleanStaleMount?: boolean;
  /** Limit for operations that should never take long, in ms (0 = none). Default 10 min. */
  operationTimeoutMs?: number;
  initTimeoutMs?: number;
  /** Replaces the FUSE availability check (tests). */
  detect?: () => FuseDetection;
  /** Told about every operation answered (adapter.ts), e.g. for metrics. */
  operationObserver?: OperationObserver;
}

export interface Mount {
  /** The absolute mountpoint, as /proc/self/mountinfo shows it. */
  readonly mountpoint: string;
  /** The libfuse options it was mounted with. */
  readonly options: readonly string[];
  /** Unmounts (lazily if busy) and resolves when the mount is gone. Safe to call twice. */
  unmount(): Promise<void>;
}

export async function mountFilesystem(fs: Filesystem, mountpoint: string, options: MountOptions = {}): Promise<Mount> {
  const logger = options.logger ?? silentLogger;
  const detection = (options.detect ?? detectFuse)();
  if (!detection.ok) throw new MountError('fuse-unavailable', formatFuseProblems(detection.problems));

  const list = buildMountOptions(options);
  const argument = optionsArgument(list);
  const target = await canonicalMountpoint(mountpoint);
  if (Buffer.byteLength(target) > MAX_MOUNTPOINT_BYTES) {
    throw new MountError('mountpoint-too-long', `mountpoint path is too long for fuse-native (${Buffer.byteLength(target)} bytes, at most ${MAX_MOUNTPOINT_BYTES})`);
  }
  await checkMountpoint(target, { allowNonEmpty: allowsNonEmptyMountpoint(options), cleanStaleMount: !!options.cleanStaleMount }, logger);
  if (list.includes('allow_other')) await checkAllowOther();

  // This process now moves file content for as long as it is mounted: what it
  // grew to goes back to the system whenever it is quiet (idle-release.ts).
  releaseMemoryWhenIdle();
  const fuse = new FilesfsFuse(target, createOperations(fs, { logger, caller: requestCaller, ...(options.operationObserver ? { observer: options.operationObserver } : {}) }), argument, options.operationTimeoutMs ?? LAST_RESORT_TIMEOUT_MS);
  try {
    await mountAndWaitForInit(fuse, options.initTimeoutMs ?? DEFAULT_INIT_TIMEOUT_MS);
    if (!(await waitForMount(target, true, 2000))) throw new Error('the kernel does not list the mount in /proc/self/mountinfo');
  } catch (err) {
    await lazyUnmount(target).catch(() => undefined);
    const why = err instanceof Error ? err.message : String(err);
    throw new MountError('mount-failed', `mounting ${target} failed: ${why} (libfuse prints its reason on stderr, if it gave one)`, { cause: err });
  }
  const readahead = maxReadaheadOf(list);
  if (readahead !== undefined) await raiseReadahead(target, readahead, logger);
  logger.debug('mounted %s with %s', target, argument);
  return new ActiveMount(fuse, target, list, logger);
}

function mountAndWaitForInit(fuse: FilesfsFuse, timeoutMs: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no answer from the kernel within ${timeoutMs} ms`)), timeoutMs);
    fuse.mount((err) => {
      clearTimeout(timer);
      if (err) reject(err);
      else resolve();
    });
  });
}

async function checkMountpoint(target: string, options: { allowNonEmpty: boolean; cleanStaleMount: boolean }, logger: Logger): Promise<void> {
  let info;
  try {
    info = await stat(target);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') throw new MountError('mountpoint-missing', `mountpoint ${target} does not exist; create it first: mkdir -p ${target}`);
    if (code === 'ENOTCONN' || code === 'ECONNABORTED') {
      const stale = await staleMountAt(target);
      if (!options.cleanStaleMount) {
        throw new MountError('stale-mount', `${stale} is a stale filesfs/FUSE mount (Transport endpoint is not connected: the process that served it is gone); run \`${FUSERMOUNT} -uz ${stale}\` (or \`filesfs unmount ${stale}\`)`);
      }
      logger.warn('%s is a stale FUSE mount (Transport endpoint is not connected); unmounting it with %s -uz before mounting', stale, FUSERMOUNT);
      await lazyUnmount(stale);
      return checkMountpoint(target, { ...options, cleanStaleMount: false }, logger);
    }
    if (code === 'EACCES' || code === 'EPERM') throw new MountError('mountpoint-inaccessible', `cannot use ${target} as a mountpoint: permission denied`);
    throw new MountError('mountpoint-inaccessible', `cannot use ${target} as a mountpoint: ${(err as Error).message}`);
  }
  if (!info.isDirectory()) throw new MountError('mountpoint-not-directory', `${target} is not a folder; mount on an empty folder`);
  const existing = await findMount(target);
  if (existing) {
    const how = existing.fstype.startsWith('fuse') ? `${FUSERMOUNT} -u ${target}` : `umount ${target}`;
    throw new MountError('already-mounted', `${target} is already a mountpoint (${existing.fstype} from ${existing.source}); unmount it first: ${how}`);
  }
  if (!options.allowNonEmpty) {
    const entries = await readdir(target);
    if (entries.length > 0) {
      const count = entries.length === 1 ? '1 entry' : `${entries.length} entries`;
      throw new MountError('mountpoint-not-empty', `${target} is not empty (${count}, e.g. ${JSON.stringify(entries[0])}); mount on an empty folder, or pass -o nonempty to mount over it (its contents are hidden while mounted)`);
    }
  }
}

/** The stale mount is the mountpoint itself or the nearest mounted folder above it. */
async function staleMountAt(target: string): Promise<string> {
  const mounts = await readMounts();
  let best = target;
  let bestLength = -1;
  for (const m of mounts) {
    const covers = m.mountpoint === target || target.startsWith(m.mountpoint.endsWith('/') ? m.mountpoint : m.mountpoint + '/');
    if (covers && m.fstype.startsWith('fuse') && m.mountpoint.length > bestLength) {
      best = m.mountpoint;
      bestLength = m.mountpoint.length;
    }
  }
  return best;
}

async function checkAllowOther(): Promise<void> {
  if (process.geteuid?.() === 0) return;
  const conf = await readFile('/etc/fuse.conf', 'utf8').catch(() => '');
  if (!/^\s*user_allow_other\s*$/m.test(conf)) {
    throw new MountError('allow-other-not-permitted', 'allow_other (--allow-other) needs the line "user_allow_other" in /etc/fuse.conf (ask an administrator), or mounting as root');
  }
}

class ActiveMount implements Mount {
  readonly mountpoint: string;
  readonly options: readonly string[];
  readonly #fuse: FilesfsFuse;
  readonly #logger: Logger;
  #unmounting: Promise<void> | undefined;

  constructor(fuse: FilesfsFuse, mountpoint: string, options: readonly string[], logger: Logger) {
    this.#fuse = fuse;
    this.mountpoint = mountpoint;
    this.options = options;
    this.#logger = logger;
  }

  unmount(): Promise<void> {
    this.#unmounting ??= this.#unmount().catch((err: unknown) => {
      this.#unmounting = undefined;
      throw err;
    });
    return this.#unmounting;
  }

  async #unmount(): Promise<void> {
    const target = this.mountpoint;
    if (await isMountpoint(target)) {
      const first = await fusermount(target, false);
      if (!first.ok && (await isMountpoint(target))) {
        if (!/busy/i.test(first.stderr)) throw new MountError('unmount-failed', `cannot unmount ${target}: ${first.stderr}`);
        this.#logger.warn('%s is busy (a process has a file or its working folder there); unmounting lazily with %s -uz: the folder is detached now, and the mount ends when the last user lets go', target, FUSERMOUNT);
        const lazy = await fusermount(target, true);
        if (!lazy.ok && (await isMountpoint(target))) throw new MountError('unmount-failed', `cannot unmount ${target}: ${lazy.stderr}`);
      }
      if (!(await waitForMount(target, false, UNMOUNT_WAIT_MS))) {
        throw new MountError('unmount-failed', `${target} is still mounted ${UNMOUNT_WAIT_MS / 1000} s after ${FUSERMOUNT} -u`);
      }
    }
    await new Promise<void>((resolve, reject) => this.#fuse.unmount((err) => (err ? reject(err) : resolve())));
    this.#logger.debug('unmounted %s', target);
  }
}
