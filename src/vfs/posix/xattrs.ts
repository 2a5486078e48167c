// Extended attributes as Files.com custom_metadata (docs/semantics.md,
// "Extended attributes"). Pure mapping, no I/O:
//   - user.<key> is the custom_metadata key <key> (what the web app and the
//     API show), for every key that is not reserved (posix-metadata.ts:
//     keys starting with `filesfs.` are filesfs's own and never listed);
//   - user.filesfs.<name> are read-only attributes showing what the server
//     knows about a file: its checksums (md5, sha1, sha256, crc32, once the
//     server has computed them), while the file has local changes, its
//     upload state, and who holds a Files.com lock on it (`lock`). They are
//     read by name and never listed (tools that copy attributes would copy
//     them); setting or removing them is EPERM;
//   - other namespaces (security., system., trusted.) are not kept: reading,
//     writing and removing are EOPNOTSUPP, as on a local disk mounted
//     without ACLs or security labels. The kernel reads security.capability
//     before every write to a file, so that answer must cost nothing; and
//     "not supported" (rather than "no such attribute") is what makes `ls -l`
//     stop asking every entry for its ACL and security label.
// Values are text (the server stores text): a value that is not UTF-8 is
// EINVAL. Files.com's limits give the POSIX errors: a value over 1,024
// characters E2BIG, a 33rd key ENOSPC (the reserved keys count too).
import { FsError } from '../fs-error.js';
import { XATTR_CREATE, XATTR_REPLACE } from '../filesystem-api.js';
import { isReservedKey, METADATA_LIMITS, RESERVED_PREFIX, type MetadataMap } from './posix-metadata.js';

export const USER_NAMESPACE = 'user.';
/** The read-only attributes' prefix: user.filesfs. */
export const SERVER_NAMESPACE = `${USER_NAMESPACE}${RESERVED_PREFIX}`;

/** Linux's limit on an attribute name (XATTR_NAME_MAX), in bytes. */
const XATTR_NAME_MAX = 255;

export const CHECKSUMS = ['md5', 'sha1', 'sha256', 'crc32'] as const;
export type Checksum = (typeof CHECKSUMS)[number];
/** The read-only attribute naming a pending file's upload state. */
export const UPLOAD_STATE = 'upload';
/** The read-only attribute naming who holds a Files.com lock on the entry. */
export const LOCK = 'lock';

export type XattrName =
  /** user.<key>: the custom_metadata key. */
  | { kind: 'user'; key: string }
  /** user.filesfs.<checksum> */
  | { kind: 'checksum'; checksum: Checksum }
  /** user.filesfs.upload */
  | { kind: 'upload' }
  /** user.filesfs.lock */
  | { kind: 'lock' }
  /** Any other user.filesfs.* name: reserved, holds nothing. */
  | { kind: 'reserved' }
  /** security.*, system.*, trusted.*, or no namespace: holds nothing here. */
  | { kind: 'other' };

export function parseXattrName(name: string): XattrName {
  if (!name.startsWith(USER_NAMESPACE)) return { kind: 'other' };
  if (name.startsWith(SERVER_NAMESPACE)) {
    const field = name.slice(SERVER_NAMESPACE.length);
    if ((CHECKSUMS as readonly string[]).includes(field)) return { kind: 'checksum', checksum: field as Checksum };
    if (field === UPLOAD_STATE) return { kind: 'upload' };
    if (field === LOCK) return { kind: 'lock' };
    return { kind: 'reserved' };
  }
  const key = name.slice(USER_NAMESPACE.length);
  return key === '' ? { kind: 'other' } : { kind: 'user', key };
}

/** The user.* names of an entry's custom_metadata (reserved keys and names Linux cannot carry left out). */
export function userAttributeNames(meta: MetadataMap): string[] {
  const names: string[] = [];
  for (const key of Object.keys(meta)) {
    if (isReservedKey(key)) continue;
    const name = USER_NAMESPACE + key;
    if (Buffer.byteLength(name) <= XATTR_NAME_MAX && !name.includes('\0')) names.push(name);
  }
  return names;
}


/** The value of user.<key>, or ENODATA. */
export function userValue(meta: MetadataMap, key: string, name: string): Buffer {
  const value = Object.hasOwn(meta, key) ? meta[key] : undefined;
  if (value === undefined) throw noAttribute(name);
  return Buffer.from(value, 'utf8');
}

/** custom_metadata with user.<key> set to `value` (setxattr's rules and Files.com's limits). */
export function withUserValue(meta: MetadataMap, key: string, name: string, value: Buffer, flags: number): MetadataMap {
  const exists = Object.hasOwn(meta, key);
  if (flags & XATTR_CREATE && exists) throw new FsError('EEXIST', `${name}: the attribute exists already`);
  if (flags & XATTR_REPLACE && !exists) throw noAttribute(name);
  if ([...key].length > METADATA_LIMITS.keyChars) throw new FsError('ERANGE', `${name}: a name can have at most ${METADATA_LIMITS.keyChars} characters after "user."`);
  const text = utf8(value, name);
  if ([...text].length > METADATA_LIMITS.valueChars) throw new FsError('E2BIG', `${name}: a value can have at most ${METADATA_LIMITS.valueChars} characters (Files.com's limit)`);
  if (!exists && Object.keys(meta).length >= METADATA_LIMITS.keys) {
    throw new FsError('ENOSPC', `${name}: an entry can have at most ${METADATA_LIMITS.keys} metadata keys (Files.com's limit; filesfs's own count too)`);
  }
  return { ...meta, [key]: text };
}

/** custom_metadata without user.<key>, or ENODATA. */
export function withoutUserValue(meta: MetadataMap, key: string, name: string): MetadataMap {
  if (!Object.hasOwn(meta, key)) throw noAttribute(name);
  const out: Record<string, string> = { ...meta };
  delete out[key];
  return out;
}

/** A name outside user.*: that namespace is not kept here. */
export function notKept(name: string): FsError {
  return new FsError('EOPNOTSUPP', `${name}: only user.* attributes are kept`);
}

export function noAttribute(name: string): FsError {
  return new FsError('ENODATA', `${name}: no such attribute`);
}

const decoder = new TextDecoder('utf-8', { fatal: true });

function utf8(value: Buffer, name: string): string {
  try {
    return decoder.decode(value);
  } catch {
    throw new FsError('EINVAL', `${name}: the value is not UTF-8 text (Files.com keeps text only)`);
  }
}
