// Small helpers for remote paths in the server's form: normalized, no leading
// or trailing slash, '' for the site root. Local FUSE paths ('/a/b') become
// remote paths through `normalize`.
import { normalize } from './normalize.js';

/** Joins segments and normalizes the result: join('a', 'b/c') → 'a/b/c'. */
export function joinPath(...parts: string[]): string {
  return normalize(parts.join('/'));
}

/** Parent folder ('' for a top-level entry and for the root itself). */
export function parentPath(path: string): string {
  const p = normalize(path);
  const i = p.lastIndexOf('/');
  return i < 0 ? '' : p.slice(0, i);
}

/** Last segment ('' for the root). */
export function baseName(path: string): string {
  const p = normalize(path);
  return p.slice(p.lastIndexOf('/') + 1);
}

/** Every ancestor from the top down, excluding the root and the path itself. */
export function ancestors(path: string): string[] {
  const parts = normalize(path).split('/');
  const out: string[] = [];
  for (let i = 1; i < parts.length; i++) out.push(parts.slice(0, i).join('/'));
  return out;
}
