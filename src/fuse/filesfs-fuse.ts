/// <reference path="../../native/fuse-native.d.ts" />
// Our subclass of fuse-native's Fuse: the one place that knows fuse-native's
// internals. It owns
//   - the mount option string (fuse-native's own list lacks max_write,
//     hard_remove, max_readahead, ...; see mount-options.ts);
//   - the per-operation timeout. fuse-native answers ETIMEDOUT to the kernel
//     after 15 s by default while the operation goes on. Operations that may
//     legitimately wait (fsync and flush on an upload, release and write on
//     the staging disk, open/create/truncate fetching content to stage it,
//     rename of a large folder that the server moves in the background, a
//     lock waiting for its holder) get none; every other one gets a
//     last-resort limit (10 min by default) so a stuck call cannot hold one
//     of libfuse's worker threads forever;
//   - fixes to how stock fuse-native passes arguments: fgetattr called
//     getattr without the handle (libfuse 3 hands getattr the handle when
//     the kernel sends one, and our binding calls fgetattr with it: the size
//     of a file unlinked while open, for lseek(SEEK_END), comes by handle);
//     opendir passed the (still 0) handle as the flags; create dropped the
//     open flags our binding sends; utimens times
//     are decoded from their 32-bit halves (time.ts) so that UTIME_OMIT
//     arrives as null;
//   - stat encoding (stat.ts encodeStat) for getattr, fgetattr and readdir
//     (readdir's stats answer the kernel's READDIRPLUS: `ls -l` of a cold
//     folder costs the listing, not a getattr per entry);
//   - releasing the native mount state after mount.ts has unmounted (stock
//     fuse-native always unmounts lazily, `fusermount3 -uz`);
//   - who asks: requestCaller() reads from the binding the uid and gid of
//     the process whose operation is being dispatched (native/fuse-native.c,
//     item 16), for the adapter's create, mkdir, mknod and symlink.
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import Fuse from 'fuse-native';
import { errnoOf } from './errno.js';
import type { FilesfsOperations, FuseStat } from './operations.js';
import { encodeStat } from './stat.js';
import { decodeTimeWords } from './time.js';
import type { Caller } from '../vfs/index.js';

/** The limit for operations that should never take long (0 = none). */
export const LAST_RESORT_TIMEOUT_MS = 10 * 60 * 1000;

/** Operations that may legitimately take longer than any fixed limit. */
export const UNBOUNDED_OPERATIONS = ['write', 'flush', 'fsync', 'release', 'create', 'open', 'truncate', 'ftruncate', 'rename', 'lock', 'flock'] as const;

export function operationTimeouts(defaultMs: number): Fuse.TimeoutOption {
  if (defaultMs <= 0) return false;
  const timeouts: Record<string, number | false> = { default: defaultMs };
  for (const op of UNBOUNDED_OPERATIONS) timeouts[op] = false;
  return timeouts;
}

const EIO = errnoOf('EIO');

interface NativeBinding {
  fuse_native_unmount(mnt: string, thread: Buffer): void;
  /** [uid, gid, pid, umask] of the request whose JS handler runs now; undefined outside one. */
  fuse_native_caller?(): number[] | undefined;
  /** malloc_trim(0); false where the C library has none. */
  fuse_native_trim_memory?(): boolean;
}

// The same compiled module fuse-native loaded (node-gyp-build resolves the
// same file, and Node caches native modules by path).
const fuseNativeDir = dirname(createRequire(import.meta.url).resolve('fuse-native/package.json'));
const binding = createRequire(join(fuseNativeDir, 'index.js'))('node-gyp-build')(fuseNativeDir) as NativeBinding;

/**
 * The process whose operation is being dispatched: call it synchronously
 * from an operation handler (the binding knows it only while the handler
 * runs). Undefined outside a handler, or with a binding that does not say.
 */
export function requestCaller(): Caller | undefined {
  const ids = binding.fuse_native_caller?.();
  return ids && ids.length >= 2 ? { uid: ids[0]!, gid: ids[1]! } : undefined;
}

/** Returns malloc's free pages to the system (glibc's malloc_trim); false when it cannot. */
export function trimMallocHeap(): boolean {
  return binding.fuse_native_trim_memory?.() ?? false;
}

export class FilesfsFuse extends Fuse {
  readonly #optionsArgument: string;
  readonly #operations: FilesfsOperations;

  constructor(mountpoint: string, operations: FilesfsOperations, optionsArgument: string, timeoutMs: number) {
    // Our operations differ from stock ones only where the overrides below
    // call them; the stock handlers call the rest with matching arguments.
    super(mountpoint, operations as unknown as Fuse.Operations, { timeout: operationTimeouts(timeoutMs) });
    this.#optionsArgument = optionsArgument;
    this.#operations = operations;
  }

  /** Called by fuse-native's mount(): the "-o..." argument libfuse parses. */
  protected override _fuseOptions(): string {
    return this.#optionsArgument;
  }

  protected override _op_getattr(signal: Fuse.Signal, path: string): void {
    this.#operations.getattr(path, statAnswer(signal));
  }

  protected override _op_fgetattr(signal: Fuse.Signal, path: string, fd: number): void {
    this.#operations.fgetattr(path, fd, statAnswer(signal));
  }

  protected override _op_readdir(signal: Fuse.Signal, path: string): void {
    this.#operations.readdir(path, (code, names, stats) => {
      if (code !== 0 || !names) return signal(code === 0 ? EIO : code);
      return signal(0, names, stats ? stats.map(encodeStat) : []);
    });
  }

  protected override _op_opendir(signal: Fuse.Signal, path: string, _fd: number, flags: number): void {
    this.#operations.opendir(path, flags, (code, fh) => signal(code, fh));
  }

  protected override _op_create(signal: Fuse.Signal, path: string, mode: number, flags: number): void {
    this.#operations.create(path, mode, flags ?? 0, (code, fh) => signal(code, fh));
  }

  protected override _op_utimens(signal: Fuse.Signal, path: string, atimeLow: number, atimeHigh: number, mtimeLow: number, mtimeHigh: number): void {
    this.#operations.utimens(path, decodeTimeWords(atimeLow, atimeHigh), decodeTimeWords(mtimeLow, mtimeHigh), (code) => signal(code));
  }

  /** Called by `unmount()` once the kernel mount is gone: frees the binding's hold on the event loop. */
  protected override _close(cb: (err: Error | null) => void): void {
    try {
      if (this._thread) binding.fuse_native_unmount(this.mnt, this._thread);
    } catch (err) {
      cb(err instanceof Error ? err : new Error(String(err)));
      return;
    }
    cb(null);
  }
}

/** Error answers carry no stat: the handler appends fuse-native's zeroed default. */
function statAnswer(signal: Fuse.Signal): (code: number, stat?: FuseStat) => void {
  return (code, stat) => {
    if (code !== 0 || !stat) return signal(code === 0 ? EIO : code);
    return signal(0, encodeStat(stat));
  };
}
