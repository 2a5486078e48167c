// How a remote path goes into an API URL. docs/files-api.md §1: the JS/PY SDKs
// percent-encode the whole path (slashes too), the Go SDK escapes each segment
// and keeps '/'; servers accept both. We follow Go: per segment, keeping '/',
// so URLs and logs stay readable ("/folders/Reports/Q1%202024"), and the root
// is the empty path ("/folders/"), as Go sends it.
import { normalize } from '../path/index.js';

/** Normalizes `path` and encodes each segment with encodeURIComponent. */
export function encodeRemotePath(path: string): string {
  const p = normalize(path);
  return p === '' ? '' : p.split('/').map(encodeURIComponent).join('/');
}

/** "/folders/a/b%20c" for route "/folders" and path "a/b c". */
export function routeFor(route: string, path: string): string {
  return `${route}/${encodeRemotePath(path)}`;
}
