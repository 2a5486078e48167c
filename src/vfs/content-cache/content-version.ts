// Which version of a file's content a set of cached bytes belongs to, and
// whether an entry the server shows now is still that version. A version is
// the file's size and times: the time it shows (provided_mtime, else the
// server's mtime) and the server's own mtime, which moves with every upload
// even when a client keeps provided_mtime; plus its checksums once the server
// has computed them (they are null for a while after an upload, so a missing
// one never counts as a difference; a present one that differs always does).
// The ETag of the download, learned when bytes are fetched, is kept beside
// it and checked by the client on every later fetch (DownloadPin.etag).
import type { RemoteEntry } from '../../client/index.js';

export interface ContentVersion {
  size: number;
  /** The time the file shows, ms since the epoch. */
  mtime: number;
  /** The server's mtime, ms, when it sent one. */
  serverMtime: number | null;
  md5: string | null;
  crc32: string | null;
}

export function contentVersionOf(entry: Pick<RemoteEntry, 'size' | 'mtime' | 'serverMtime' | 'md5' | 'crc32'>): ContentVersion {
  return {
    size: entry.size,
    mtime: entry.mtime.getTime(),
    serverMtime: entry.serverMtime?.getTime() ?? null,
    md5: entry.md5 ? entry.md5.toLowerCase() : null,
    crc32: entry.crc32 ? entry.crc32.toLowerCase() : null,
  };
}

/** crc32 as the server writes it has no zero padding ("0" for an empty file); others pad it to 8 digits. */
function crcValue(hex: string): number {
  return Number.parseInt(hex, 16);
}

/** True when `now` (what the server shows) is the version `cached` describes. */
export function sameContentVersion(cached: ContentVersion, now: ContentVersion): boolean {
  if (cached.size !== now.size || cached.mtime !== now.mtime) return false;
  if (cached.serverMtime !== null && now.serverMtime !== null && cached.serverMtime !== now.serverMtime) return false;
  if (cached.md5 !== null && now.md5 !== null && cached.md5 !== now.md5) return false;
  if (cached.crc32 !== null && now.crc32 !== null && crcValue(cached.crc32) !== crcValue(now.crc32)) return false;
  return true;
}

/**
 * `cached` with what `now` adds (a server mtime or checksums computed since),
 * or null when it adds nothing. Only for a `now` that is the same version.
 */
export function completedVersion(cached: ContentVersion, now: ContentVersion): ContentVersion | null {
  const serverMtime = cached.serverMtime ?? now.serverMtime;
  const md5 = cached.md5 ?? now.md5;
  const crc32 = cached.crc32 ?? now.crc32;
  if (serverMtime === cached.serverMtime && md5 === cached.md5 && crc32 === cached.crc32) return null;
  return { ...cached, serverMtime, md5, crc32 };
}
