// Turning the server's entry JSON (docs/files-api.md §2) into a RemoteEntry. The
// parse is strict about what a filesystem cannot do without (a path and a
// type) and lenient about the rest: sizes may be null for folders, times and
// checksums null until the server computes them.
import type { RemoteEntry } from './files-client.js';
import { ServerError } from './errors.js';
import type { WireEntry } from './wire-types.js';

const EPOCH = new Date(0);

function date(value: unknown): Date | null {
  if (typeof value !== 'string' || value === '') return null;
  const d = new Date(value);
  return Number.isNaN(d.getTime()) ? null : d;
}

function text(value: unknown): string | null {
  return typeof value === 'string' && value !== '' ? value : null;
}

function malformed(what: string, operation: string | undefined): ServerError {
  return new ServerError({ message: `malformed entry from the server: ${what}`, operation });
}

/**
 * The site root as a RemoteEntry: Files.com cannot stat it (docs/files-api.md §3),
 * so it is a folder with no size, times or checksums of its own.
 */
export function rootEntry(mtime: Date): RemoteEntry {
  return {
    path: '',
    name: '',
    type: 'directory',
    size: 0,
    mtime,
    serverMtime: null,
    providedMtime: null,
    createdAt: null,
    md5: null,
    crc32: null,
    sha1: null,
    sha256: null,
    permissions: null,
    customMetadata: NO_METADATA,
  };
}

const NO_METADATA: Readonly<Record<string, string>> = Object.freeze({});

/**
 * `custom_metadata` as text keys and values. The server stores text (numbers
 * and booleans arrive as their text); anything else (a nested object, a
 * list) is left out rather than guessed at.
 */
function customMetadata(value: unknown): Readonly<Record<string, string>> {
  if (!value || typeof value !== 'object' || Array.isArray(value)) return NO_METADATA;
  const out: Record<string, string> = {};
  let any = false;
  for (const [key, v] of Object.entries(value as Record<string, unknown>)) {
    if (typeof v === 'string') out[key] = v;
    else if (typeof v === 'number' || typeof v === 'boolean') out[key] = String(v);
    else continue;
    any = true;
  }
  return any ? Object.freeze(out) : NO_METADATA;
}

/** A RemoteEntry from one entry object; ServerError when it is unusable. */
export function parseEntry(json: unknown, operation?: string): RemoteEntry {
  if (!json || typeof json !== 'object' || Array.isArray(json)) throw malformed('not an object', operation);
  const w = json as WireEntry;
  if (typeof w.path !== 'string') throw malformed('no path', operation);
  if (w.type !== 'file' && w.type !== 'directory') throw malformed(`type ${JSON.stringify(w.type)}`, operation);
  const path = w.path.replace(/^\/+|\/+$/g, '');
  const size = typeof w.size === 'number' && Number.isFinite(w.size) && w.size >= 0 ? w.size : typeof w.size === 'string' && /^\d+$/.test(w.size) ? Number(w.size) : 0;
  const serverMtime = date(w.mtime);
  const providedMtime = date(w.provided_mtime);
  const createdAt = date(w.created_at);
  return {
    path,
    name: text(w.display_name) ?? path.slice(path.lastIndexOf('/') + 1),
    type: w.type,
    size: w.type === 'directory' ? 0 : size,
    mtime: providedMtime ?? serverMtime ?? createdAt ?? EPOCH,
    serverMtime,
    providedMtime,
    createdAt,
    md5: text(w.md5),
    crc32: text(w.crc32),
    sha1: text(w.sha1),
    sha256: text(w.sha256),
    permissions: text(w.permissions),
    ...(w.is_locked === true ? { locked: true } : {}),
    customMetadata: customMetadata(w.custom_metadata),
  };
}

/** Entries of one listing page (a bare JSON array). */
export function parseEntryList(json: unknown, operation?: string): RemoteEntry[] {
  if (!Array.isArray(json)) throw new ServerError({ message: 'malformed listing from the server: not an array', operation });
  return json.map((item) => parseEntry(item, operation));
}
