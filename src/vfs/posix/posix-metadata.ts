// POSIX metadata kept in an entry's Files.com custom_metadata
// (docs/files-api.md §13), so that every mount of the site shows the same
// modes, owners and file types. Files.com has none of these; filesfs keeps
// them under reserved keys, all starting with `filesfs.`:
//
//   filesfs.mode    permission bits in octal ("0755", "1777", "4755")
//   filesfs.uid     owner, decimal
//   filesfs.gid     group, decimal
//   filesfs.type    symlink | fifo | socket | char | block (a regular file or a
//                   folder has none: the server's type says which)
//   filesfs.rdev    a device node's number, "major:minor"
//   filesfs.target  a symbolic link's target, when it fits in one value
//                   (1,024 characters); the link's content is its target too
//
// A key is written only when its value differs from what the mount shows
// without it (the mount's --umask, --uid and --gid; docs/semantics.md), so a
// file made with the mount's defaults costs no metadata and no request. A
// value that cannot be read (a person edited it on the web) is ignored:
// the default shows.
//
// This module is pure: it turns custom_metadata into facts and facts back
// into custom_metadata, leaving every key that is not ours as it is.
import type { RemoteEntry } from '../../client/index.js';
import type { FileKind } from '../filesystem-api.js';

/** Every key filesfs reserves starts with this; none of them is shown as an extended attribute. */
export const RESERVED_PREFIX = 'filesfs.';

export const KEYS = Object.freeze({
  mode: 'filesfs.mode',
  uid: 'filesfs.uid',
  gid: 'filesfs.gid',
  type: 'filesfs.type',
  rdev: 'filesfs.rdev',
  target: 'filesfs.target',
});

/** Files.com's limits on custom_metadata (docs/files-api.md §13). */
export const METADATA_LIMITS = Object.freeze({ keys: 32, keyChars: 256, valueChars: 1024 });

/** The kinds a regular file on the server can stand for, by their `filesfs.type` value. */
const SPECIAL_TYPES: Readonly<Record<string, FileKind>> = Object.freeze({
  symlink: 'symlink',
  fifo: 'fifo',
  socket: 'socket',
  char: 'char-device',
  block: 'block-device',
});

const TYPE_VALUES: Readonly<Partial<Record<FileKind, string>>> = Object.freeze({
  symlink: 'symlink',
  fifo: 'fifo',
  socket: 'socket',
  'char-device': 'char',
  'block-device': 'block',
});

/** What the mount shows for an entry that carries no POSIX metadata. */
export interface PosixDefaults {
  /** Permission bits of files (0666 & ~umask). */
  fileMode: number;
  /** Permission bits of folders (0777 & ~umask). */
  dirMode: number;
  uid: number;
  gid: number;
}

/** An entry's POSIX facts: from its metadata where present, else the defaults. */
export interface PosixFacts {
  kind: FileKind;
  /** Permission bits, set-id and sticky bits included (0o7777). */
  permissions: number;
  uid: number;
  gid: number;
  /** Device number (Linux makedev) of a device node; 0 otherwise. */
  rdev: number;
  /** A symbolic link's target as the metadata holds it (null: not there, read the content). */
  target: string | null;
}

export type MetadataMap = Readonly<Record<string, string>>;

const EMPTY: MetadataMap = Object.freeze({});

/** The metadata of an entry ({} when it has none). */
export function metadataOf(entry: RemoteEntry): MetadataMap {
  return entry.customMetadata ?? EMPTY;
}

/** Symbolic links always show every permission bit (as on Linux). */
export const SYMLINK_PERMISSIONS = 0o777;

/** The default permission bits of a kind. */
export function defaultPermissions(kind: FileKind, defaults: PosixDefaults): number {
  if (kind === 'directory') return defaults.dirMode;
  if (kind === 'symlink') return SYMLINK_PERMISSIONS;
  return defaults.fileMode;
}

/** Reads an entry's POSIX facts from its custom_metadata. */
export function decodePosix(entry: RemoteEntry, defaults: PosixDefaults): PosixFacts {
  const meta = metadataOf(entry);
  const kind: FileKind = entry.type === 'directory' ? 'directory' : SPECIAL_TYPES[meta[KEYS.type] ?? ''] ?? 'file';
  const mode = parseMode(meta[KEYS.mode]);
  return {
    kind,
    permissions: kind === 'symlink' ? SYMLINK_PERMISSIONS : mode ?? defaultPermissions(kind, defaults),
    uid: parseId(meta[KEYS.uid]) ?? defaults.uid,
    gid: parseId(meta[KEYS.gid]) ?? defaults.gid,
    rdev: kind === 'char-device' || kind === 'block-device' ? parseDevice(meta[KEYS.rdev]) ?? 0 : 0,
    target: kind === 'symlink' ? meta[KEYS.target] ?? null : null,
  };
}

/** A change of POSIX facts; a field left out stays as it is. */
export interface PosixChange {
  kind?: FileKind;
  permissions?: number;
  uid?: number;
  gid?: number;
  rdev?: number;
  /** A symbolic link's target (stored only when it fits in one value). */
  target?: string;
}

/**
 * The custom_metadata after `change`: our keys rewritten, each present only
 * when its value differs from the default; every other key kept as it was.
 */
export function encodePosix(meta: MetadataMap, current: PosixFacts, change: PosixChange, defaults: PosixDefaults): MetadataMap {
  const next: PosixFacts = { ...current };
  if (change.kind !== undefined) next.kind = change.kind;
  if (change.permissions !== undefined) next.permissions = change.permissions & 0o7777;
  if (change.uid !== undefined) next.uid = change.uid;
  if (change.gid !== undefined) next.gid = change.gid;
  if (change.rdev !== undefined) next.rdev = change.rdev;
  if (change.target !== undefined) next.target = change.target;
  const out: Record<string, string> = {};
  for (const [key, value] of Object.entries(meta)) if (!isPosixKey(key)) out[key] = value;
  const type = TYPE_VALUES[next.kind];
  if (type) out[KEYS.type] = type;
  if (next.kind !== 'symlink' && next.permissions !== defaultPermissions(next.kind, defaults)) out[KEYS.mode] = formatMode(next.permissions);
  if (next.uid !== defaults.uid) out[KEYS.uid] = String(next.uid);
  if (next.gid !== defaults.gid) out[KEYS.gid] = String(next.gid);
  if ((next.kind === 'char-device' || next.kind === 'block-device') && next.rdev !== 0) out[KEYS.rdev] = formatDevice(next.rdev);
  if (next.kind === 'symlink' && next.target !== null && [...next.target].length <= METADATA_LIMITS.valueChars) out[KEYS.target] = next.target;
  return out;
}

/** True for the keys this module owns. */
function isPosixKey(key: string): boolean {
  return key === KEYS.mode || key === KEYS.uid || key === KEYS.gid || key === KEYS.type || key === KEYS.rdev || key === KEYS.target;
}

/** True for any key filesfs reserves (ours now, or a later version's). */
export function isReservedKey(key: string): boolean {
  return key.startsWith(RESERVED_PREFIX);
}

/** Whether two metadata objects hold the same keys and values. */
export function sameMetadata(a: MetadataMap, b: MetadataMap): boolean {
  const ka = Object.keys(a);
  if (ka.length !== Object.keys(b).length) return false;
  return ka.every((k) => Object.hasOwn(b, k) && a[k] === b[k]);
}

export function formatMode(permissions: number): string {
  return (permissions & 0o7777).toString(8).padStart(4, '0');
}

function parseMode(value: string | undefined): number | undefined {
  if (value === undefined || !/^[0-7]{1,6}$/.test(value)) return undefined;
  return parseInt(value, 8) & 0o7777;
}

/** Ids are 32-bit; (uid_t)-1 means "no change" in chown(2) and is never an owner. */
function parseId(value: string | undefined): number | undefined {
  if (value === undefined || !/^\d{1,10}$/.test(value)) return undefined;
  const id = Number(value);
  return id < 0xffff_ffff ? id : undefined;
}

// Device numbers as Linux encodes them (glibc's makedev, major/minor), kept
// within the 32 bits a stat's st_rdev travels in through the binding: majors
// up to 4095, minors up to 2^20 - 1.
const MAX_MAJOR = 0xfff;
const MAX_MINOR = 0xfffff;

export function makeDevice(major: number, minor: number): number {
  return ((major & MAX_MAJOR) * 0x100) + (minor & 0xff) + ((minor & 0xfff00) * 0x1000);
}

export function majorOf(dev: number): number {
  return Math.floor(dev / 0x100) & MAX_MAJOR;
}

export function minorOf(dev: number): number {
  return (dev & 0xff) + (Math.floor(dev / 0x100000) & 0xfff) * 0x100;
}

/** True when a device number fits what filesfs stores and shows. */
export function deviceFits(dev: number): boolean {
  return Number.isInteger(dev) && dev >= 0 && makeDevice(majorOf(dev), minorOf(dev)) === dev;
}

function formatDevice(dev: number): string {
  return `${majorOf(dev)}:${minorOf(dev)}`;
}

function parseDevice(value: string | undefined): number | undefined {
  const m = value === undefined ? null : /^(\d{1,4}):(\d{1,7})$/.exec(value);
  if (!m) return undefined;
  const major = Number(m[1]);
  const minor = Number(m[2]);
  return major <= MAX_MAJOR && minor <= MAX_MINOR ? makeDevice(major, minor) : undefined;
}
