// The libfuse 3 mount options filesfs mounts with (fuse-native exposes only
// some of them, and none of the ones that matter most), and the validation of
// options a user passes with `-o`. The result is the single "-o a,b=c"
// argument the binding parses: it takes its own (user_xattr_only, hard_remove, direct_io, intr,
// intr_signal, max_threads) and the connection's (max_write, max_readahead,
// ...) out, and hands the rest to fuse_new(), which refuses what it does not
// know (native/fuse-native.c).
//
// Always set, and why:
//   fsname=<source>, subtype=filesfs  → /proc/mounts shows "<source> <mnt> fuse.filesfs"
//   default_permissions               → the kernel checks the modes we report
//                                       (from --uid/--gid/--umask), as on a local disk
//   max_write=1048576                 → writes reach us 1 MiB at a time: libfuse asks
//                                       the kernel for 256 pages per request
//                                       (FUSE_MAX_PAGES; libfuse 2.9 had 128 KiB)
//   max_read=1048576                  → the same bound for reads
//   max_readahead=1048576             → the kernel may read ahead 1 MiB at a time (it
//                                       also caps that at the mount's read_ahead_kb,
//                                       which mount.ts raises to match when allowed)
//   (no hard_remove)                  → unlink of an open file reaches the filesystem layer
//                                       as a rename to .fuse_hiddenNNN, which it treats as
//                                       the unlink (deleted on the server at once) while
//                                       keeping that name answerable, so fstat(2) of the
//                                       open file works (src/vfs/handles/unlinked-open.ts);
//                                       with hard_remove libfuse could only answer ESTALE
//   remember=60                       → libfuse keeps a node (its inode number) for 60 s after
//                                       the kernel forgets it: the kernel drops a FUSE dentry
//                                       as soon as it is unused once its entry_timeout is over,
//                                       and without this the next lookup gives the same file a
//                                       new inode number (stat-and-compare tools, pjdfstest);
//                                       a node costs ~100 bytes
//   user_xattr_only                   → the binding answers extended attributes outside user.*
//                                       itself (EOPNOTSUPP: not kept here), without
//                                       going to JS: the kernel asks for security.capability
//                                       before every write, and ls -l for an ACL and a label
//                                       of every entry (native/fuse-native.c, item 17)
//   (not auto_cache: whether the kernel keeps a file's page cache across
//   opens is decided per open by the filesystem layer, which knows which
//   version each open reads; auto_cache compares only size and mtime, which
//   two versions share on a server with whole-second times)
//   attr_timeout, entry_timeout,      → how long the kernel trusts what we answered;
//   negative_timeout                    short, because the filesystem layer has its own
//                                       caches with the user's TTLs
// Optional: ro (read-only), allow_other, debug.
//
// libfuse 3 does always what libfuse 2.9 needed options for: big writes
// (up to max_write) and open(O_TRUNC) reaching the filesystem layer with
// O_TRUNC (atomic_o_trunc; without it, open would first fetch the content to
// stage it, then truncate). It also mounts over a folder that has entries;
// filesfs refuses that unless told `-o nonempty` (mount.ts), so `nonempty`
// is filesfs's option now and never reaches libfuse. `-o big_writes` and
// `-o atomic_o_trunc` are accepted, so that a known-good option list keeps
// working, and dropped.
import { ConfigError } from '../options/config-error.js';

/** The largest FUSE request: 256 pages, the kernel's limit (fs.fuse.max_pages_limit, default 256). */
export const MAX_WRITE = 1024 * 1024;
export const MAX_READ = 1024 * 1024;
/** What the kernel may read ahead per request: one request. */
export const DEFAULT_MAX_READAHEAD = 1024 * 1024;
/** Seconds the kernel caches attributes, lookups and "no such file" answers unless told otherwise. */
export const DEFAULT_KERNEL_CACHE_SECONDS = 1;
export const DEFAULT_SOURCE_NAME = 'filesfs';
/** Seconds libfuse keeps a forgotten node, so a file keeps its inode number while it is in use now and then. */
export const REMEMBER_SECONDS = 60;
export const SUBTYPE = 'filesfs';
/** fuse-native copies the option string into a 1024-byte buffer (NUL included). */
export const MAX_OPTIONS_ARGUMENT_BYTES = 1023;

export interface MountOptionsInput {
  /** Shown as the mount's source (fsname), e.g. "filesfs" or a site host name. */
  sourceName?: string;
  readOnly?: boolean;
  allowOther?: boolean;
  /** Mount over a folder that has entries (or `-o nonempty`); they are hidden while mounted. */
  allowNonEmpty?: boolean;
  attrTimeoutSeconds?: number;
  entryTimeoutSeconds?: number;
  negativeTimeoutSeconds?: number;
  /** Kernel read-ahead limit in bytes. Default 1 MiB (DEFAULT_MAX_READAHEAD). */
  maxReadahead?: number;
  /** libfuse debug output on stderr. */
  debug?: boolean;
  /** Options from `-o`, each "name" or "name=value", or comma-separated lists of them. */
  extraOptions?: readonly string[];
}

/** Options a user may pass with -o, with a check of the value (undefined: a flag without value). */
export type ValueCheck = 'flag' | 'seconds' | 'count' | 'octal';

const PASS_THROUGH: Readonly<Record<string, ValueCheck>> = {
  allow_other: 'flag', allow_root: 'flag', auto_unmount: 'flag', default_permissions: 'flag',
  ro: 'flag', rw: 'flag', nodev: 'flag', dev: 'flag', nosuid: 'flag', suid: 'flag', noexec: 'flag', exec: 'flag',
  noatime: 'flag', atime: 'flag', sync: 'flag', async: 'flag', dirsync: 'flag',
  kernel_cache: 'flag', auto_cache: 'flag', noauto_cache: 'flag', no_rofd_flush: 'flag', direct_io: 'flag', debug: 'flag', intr: 'flag',
  async_read: 'flag', sync_read: 'flag', noforget: 'flag',
  no_remote_lock: 'flag', no_remote_posix_lock: 'flag', no_remote_flock: 'flag',
  splice_read: 'flag', no_splice_read: 'flag', splice_write: 'flag', no_splice_write: 'flag', splice_move: 'flag', no_splice_move: 'flag',
  hard_remove: 'flag',
  attr_timeout: 'seconds', entry_timeout: 'seconds', negative_timeout: 'seconds', ac_attr_timeout: 'seconds',
  max_read: 'count', max_readahead: 'count', max_background: 'count', congestion_threshold: 'count', remember: 'count',
  max_threads: 'count', intr_signal: 'count', uid: 'count', gid: 'count', umask: 'octal',
  // filesfs's, not libfuse's (see the top of this file): never passed to libfuse.
  nonempty: 'flag', big_writes: 'flag', atomic_o_trunc: 'flag',
};

/** Every option -o accepts, with the kind of value it takes. */
export const ACCEPTED_OPTIONS: Readonly<Record<string, ValueCheck>> = PASS_THROUGH;

/** Accepted -o flags that do not reach libfuse 3: filesfs's own, or what libfuse 3 always does. */
const NOT_FOR_LIBFUSE: ReadonlySet<string> = new Set(['nonempty', 'big_writes', 'atomic_o_trunc']);

/** Options filesfs must own, with the reason given to a user who passes one. */
const RESERVED: Readonly<Record<string, string>> = {
  fsname: 'the source name is set by filesfs',
  subtype: 'the subtype is always "filesfs"',
  max_write: `it is fixed at ${MAX_WRITE} (the largest FUSE request the kernel accepts)`,
  use_ino: 'inode numbers are assigned by libfuse',
  readdir_ino: 'inode numbers are assigned by libfuse',
  nopath: 'the filesystem layer needs paths',
  modules: 'libfuse modules would rewrite paths behind the filesystem layer',
  subdir: 'use --root to mount a remote folder',
  iconv: 'names are always UTF-8',
  from_code: 'names are always UTF-8',
  to_code: 'names are always UTF-8',
  fd: 'the FUSE device is opened by libfuse',
  rootmode: 'set by libfuse',
  user_id: 'set by libfuse',
  group_id: 'set by libfuse',
  blkdev: 'filesfs is not a block-device filesystem',
  blksize: 'filesfs is not a block-device filesystem',
};

const OPTION = /^([a-z_]+)(?:=(.*))?$/;

/** Validates `-o` entries; returns them as "name" / "name=value", one per item. */
export function parseExtraOptions(raw: readonly string[]): string[] {
  const out: string[] = [];
  for (const list of raw) {
    for (const item of list.split(',')) {
      const option = item.trim();
      if (option === '') continue;
      const m = OPTION.exec(option);
      const name = m?.[1];
      if (!m || !name) throw new ConfigError(`-o ${JSON.stringify(option)}: not a mount option (expected name or name=value)`);
      const reserved = RESERVED[name];
      if (reserved) throw new ConfigError(`-o ${name}: not accepted, ${reserved}`);
      const check = PASS_THROUGH[name];
      if (!check) throw new ConfigError(`-o ${name}: unknown or unsupported mount option (accepted: ${Object.keys(PASS_THROUGH).sort().join(', ')})`);
      out.push(checkValue(name, m[2], check));
    }
  }
  return out;
}

function checkValue(name: string, value: string | undefined, check: ValueCheck): string {
  if (check === 'flag') {
    if (value !== undefined) throw new ConfigError(`-o ${name}: takes no value`);
    return name;
  }
  const ok = value !== undefined && (
    check === 'seconds' ? /^\d+(\.\d+)?$/.test(value)
      : check === 'count' ? /^\d{1,10}$/.test(value) && Number(value) <= 0xffff_ffff
        : /^0?[0-7]{1,4}$/.test(value));
  if (!ok) {
    const expected = check === 'seconds' ? 'a number of seconds' : check === 'count' ? 'a whole number' : 'an octal mode such as 022';
    throw new ConfigError(`-o ${name}: expected ${expected}, got ${JSON.stringify(value ?? '')}`);
  }
  return `${name}=${value}`;
}

/** The source name as libfuse can carry it: no separators, escapes or spaces. */
export function sanitizeSourceName(name: string): string {
  const clean = name.replace(/[^A-Za-z0-9._:/@+-]/g, '_');
  return clean === '' ? DEFAULT_SOURCE_NAME : clean;
}

function seconds(name: string, value: number | undefined): string {
  const v = value ?? DEFAULT_KERNEL_CACHE_SECONDS;
  if (!Number.isFinite(v) || v < 0) throw new ConfigError(`${name}: expected a number of seconds ≥ 0, got ${String(value)}`);
  // libfuse parses these with %lf; keep the text plain (no exponent).
  return `${name}=${Number(v.toFixed(3))}`;
}

/** The option list for libfuse, ours first; a -o option with the same name replaces ours. */
export function buildMountOptions(input: MountOptionsInput = {}): string[] {
  const maxReadahead = input.maxReadahead ?? DEFAULT_MAX_READAHEAD;
  if (!Number.isInteger(maxReadahead) || maxReadahead < 0) throw new ConfigError(`max_readahead: expected a whole number of bytes, got ${maxReadahead}`);
  const ours: string[] = [
    `fsname=${sanitizeSourceName(input.sourceName ?? DEFAULT_SOURCE_NAME)}`,
    `subtype=${SUBTYPE}`,
    'default_permissions',
    `max_write=${MAX_WRITE}`,
    `max_read=${MAX_READ}`,
    `max_readahead=${maxReadahead}`,
    `remember=${REMEMBER_SECONDS}`,
    'user_xattr_only',
    seconds('attr_timeout', input.attrTimeoutSeconds),
    seconds('entry_timeout', input.entryTimeoutSeconds),
    seconds('negative_timeout', input.negativeTimeoutSeconds),
  ];
  if (input.readOnly) ours.push('ro');
  if (input.allowOther) ours.push('allow_other');
  if (input.debug) ours.push('debug');

  const extra = parseExtraOptions(input.extraOptions ?? []).filter((o) => !NOT_FOR_LIBFUSE.has(o));
  if (input.readOnly && extra.includes('rw')) throw new ConfigError('-o rw: conflicts with --read-only');
  const nameOf = (o: string): string => o.split('=')[0]!;
  const overridden = new Set(extra.map(nameOf));
  const merged = [...ours.filter((o) => !overridden.has(nameOf(o))), ...extra];
  return [...new Set(merged)];
}

/** Whether the mountpoint may have entries: allowNonEmpty, or `-o nonempty`. */
export function allowsNonEmptyMountpoint(input: MountOptionsInput = {}): boolean {
  return !!input.allowNonEmpty || parseExtraOptions(input.extraOptions ?? []).includes('nonempty');
}

/** The read-ahead the kernel was asked for, in bytes (the last max_readahead in the list). */
export function maxReadaheadOf(options: readonly string[]): number | undefined {
  const last = options.filter((o) => o.startsWith('max_readahead=')).pop();
  return last === undefined ? undefined : Number(last.slice('max_readahead='.length));
}

/** The single argument fuse-native passes to libfuse. */
export function optionsArgument(options: readonly string[]): string {
  if (options.length === 0) return '';
  const arg = `-o${options.join(',')}`;
  if (Buffer.byteLength(arg) > MAX_OPTIONS_ARGUMENT_BYTES) {
    throw new ConfigError(`mount options are too long for fuse-native (${Buffer.byteLength(arg)} bytes, at most ${MAX_OPTIONS_ARGUMENT_BYTES}): ${arg}`);
  }
  return arg;
}
