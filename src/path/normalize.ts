// Path identity, exactly as the official Files.com SDKs' PathUtil defines it
// (docs/files-api.md §9). The server applies `normalize` to every path it receives
// and compares paths with `normalizeForComparison`; so does every cache key and
// every comparison in filesfs and in our emulator.
//
// Where the SDKs diverge we follow the JavaScript SDK (the one whose 47 shared
// vectors all pass): trailing white space is [\r\n\t ], lower-casing is
// String.prototype.toLowerCase (final-sigma rules apply), and `.`/`..` segments
// are dropped, never resolved.
import { transliterate } from './transliteration.js';

const cache = new Map<string, string>();
/** Bounded memo: comparison keys are computed on every lookup. */
const CACHE_LIMIT = 50_000;

/**
 * The server's Normalize: delete NUL, `\` → `/`, drop empty, `.` and `..`
 * segments, join with single slashes. No leading or trailing slash.
 */
export function normalize(path: string): string {
  // Most paths are normal already (every name of every listing passes here):
  // one scan answers those without splitting and joining.
  if (path !== '' && !NOT_NORMAL.test(path)) return path;
  const parts = path.replace(/\0/g, '').replace(/\\/g, '/').split('/');
  return parts.filter((p) => p !== '' && p !== '.' && p !== '..').join('/');
}

/** What normalize changes: NUL, `\`, a leading, trailing or doubled `/`, a `.` or `..` segment. */
const NOT_NORMAL = /[\0\\]|^\/|\/$|\/\/|(?:^|\/)\.\.?(?:\/|$)/;

/** Normalize → NFKC → transliterate → lowercase → strip trailing [\r\n\t ]. */
export function normalizeForComparison(path: string): string {
  const hit = cache.get(path);
  if (hit !== undefined) return hit;
  const key = transliterate(normalize(path).normalize('NFKC')).toLowerCase().replace(/[\r\n\t ]+$/, '');
  if (cache.size >= CACHE_LIMIT) cache.clear();
  cache.set(path, key);
  return key;
}

/** True when the server would treat both paths as the same file or folder. */
export function isSame(a: string, b: string): boolean {
  return a === b || normalizeForComparison(a) === normalizeForComparison(b);
}
