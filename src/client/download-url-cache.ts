// Presigned download URLs, one per file (key: normalizeForComparison of the
// path, so every spelling the server treats as one file shares it), reused
// until shortly before they expire. Each entry also remembers the version the
// URL was issued for (size, server mtime, and the first ETag it answered
// with), and keeps remembering it after the URL itself expires, so that a
// refreshed URL for different content is noticed (download.ts raises
// ContentChangedError) instead of silently mixing two versions.
//
// Expiry comes from the URL (url-expiry.ts), moved onto the local clock with
// the response's Date header (so a skewed local clock neither throws URLs
// away early nor uses them late), minus a margin of 20 % of the lifetime, at
// most 10 s (a request started just before expiry must still get its
// headers). A URL without a readable expiry is kept 45 s: the shortest
// lifetime seen is S3's 60 s (docs/files-api.md §4).
import { LRUCache } from 'lru-cache';
import { normalizeForComparison } from '../path/index.js';
import { urlExpiry } from './url-expiry.js';

const MAX_MARGIN_MS = 10_000;
const MARGIN_FRACTION = 0.2;
export const FALLBACK_URL_LIFETIME_MS = 45_000;
/** Files with a remembered URL/version; an LRU bound keeps a huge tree walk from growing it forever. */
const MAX_ENTRIES = 10_000;

export interface FileVersion {
  size: number;
  /** Server mtime (epoch ms) when the entry had one. */
  serverMtime: number | null;
  /** First ETag a download with this version's URL answered with. */
  etag?: string | undefined;
}

export interface CachedDownload {
  uri: string | undefined;
  /** Local-clock ms after which `uri` is not used. */
  usableUntil: number;
  version: FileVersion;
}

/** Local-clock instant until which a URL fetched at `fetchedAt` may be used. */
export function usableUntil(uri: string, fetchedAt: number, serverDate?: number | null): number {
  const expiry = urlExpiry(uri);
  if (expiry === null) return fetchedAt + FALLBACK_URL_LIFETIME_MS;
  const skew = serverDate !== undefined && serverDate !== null && !Number.isNaN(serverDate) ? serverDate - fetchedAt : 0;
  const localExpiry = expiry - skew;
  const lifetime = localExpiry - fetchedAt;
  if (lifetime <= 0) return fetchedAt;
  return localExpiry - Math.min(MAX_MARGIN_MS, lifetime * MARGIN_FRACTION);
}

export function sameVersion(a: FileVersion, b: FileVersion): boolean {
  return a.size === b.size && (a.serverMtime === null || b.serverMtime === null || a.serverMtime === b.serverMtime);
}

export class DownloadUrlCache {
  private readonly entries = new LRUCache<string, CachedDownload>({ max: MAX_ENTRIES });

  constructor(private readonly now: () => number) {}

  private key(path: string): string {
    return normalizeForComparison(path);
  }

  /** The cached entry when its URL is still usable. */
  usable(path: string): CachedDownload | undefined {
    const e = this.entries.get(this.key(path));
    return e && e.uri !== undefined && this.now() < e.usableUntil ? e : undefined;
  }

  /** The remembered version, whether or not its URL is still usable. */
  version(path: string): FileVersion | undefined {
    return this.entries.get(this.key(path))?.version;
  }

  /** Stores a fresh URL for `version`; returns the entry. */
  store(path: string, uri: string, version: FileVersion, fetchedAt: number, serverDate?: number | null): CachedDownload {
    const entry: CachedDownload = { uri, usableUntil: usableUntil(uri, fetchedAt, serverDate), version: { ...version } };
    this.entries.set(this.key(path), entry);
    return entry;
  }

  /** Forgets the URL (it was refused) but keeps the version for comparison. */
  expire(path: string): void {
    const e = this.entries.get(this.key(path));
    if (e) e.uri = undefined;
  }

  /** Forgets URL and version of `path` and, with `tree`, of everything below it. */
  invalidate(path: string, tree = true): void {
    const key = this.key(path);
    this.entries.delete(key);
    if (!tree || this.entries.size === 0) return;
    const prefix = key === '' ? '' : key + '/';
    for (const k of [...this.entries.keys()]) if (k.startsWith(prefix)) this.entries.delete(k);
  }

  /** Records a new server mtime after our own metadata change (same bytes). */
  touch(path: string, serverMtime: number | null): void {
    const e = this.entries.get(this.key(path));
    if (e) e.version.serverMtime = serverMtime;
  }

  clear(): void {
    this.entries.clear();
  }

  get size(): number {
    return this.entries.size;
  }
}
