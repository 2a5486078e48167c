// custom_metadata (docs/files-api.md §13): an object of string keys and values on
// every file and folder, at most 32 keys, 256 characters per key and 1,024
// per value (SDK model docs), values stored as text (Files.com docs: "instead
// of a Boolean false, you would store the text string \"false\"").
//
// Choices where the facts are silent (README "Choices"): PATCH replaces the
// whole object (the official Terraform provider sends the complete desired map
// on every update and reads the server's map back); `{}` or null clears it; a
// key whose value is null is left out; numbers and booleans become their text;
// nested objects or arrays, an empty key, or a limit exceeded is 400
// `bad-request/request-params-invalid` naming the problem. Lengths count
// Unicode code points.
import { ApiError } from './errors.js';

export const MAX_METADATA_KEYS = 32;
export const MAX_METADATA_KEY_CHARS = 256;
export const MAX_METADATA_VALUE_CHARS = 1024;

const invalid = (message: string): ApiError => new ApiError('bad-request/request-params-invalid', message);
const length = (s: string): number => [...s].length;

/** The stored form of a `custom_metadata` parameter, or the 400 it deserves. */
export function parseCustomMetadata(raw: unknown): Record<string, string> {
  if (raw === null || raw === '') return {};
  if (typeof raw !== 'object' || Array.isArray(raw)) throw invalid('custom_metadata must be an object of keys and values.');
  const out: Record<string, string> = {};
  for (const [key, value] of Object.entries(raw as Record<string, unknown>)) {
    if (value === null || value === undefined) continue;
    if (typeof value === 'object') throw invalid(`custom_metadata value of ${JSON.stringify(key.slice(0, 40))} must be text, not an object or a list.`);
    if (key === '') throw invalid('custom_metadata keys cannot be empty.');
    if (length(key) > MAX_METADATA_KEY_CHARS) throw invalid(`custom_metadata keys can have at most ${MAX_METADATA_KEY_CHARS} characters.`);
    const text = String(value);
    if (length(text) > MAX_METADATA_VALUE_CHARS) {
      throw invalid(`custom_metadata values can have at most ${MAX_METADATA_VALUE_CHARS} characters (key ${JSON.stringify(key.slice(0, 40))}).`);
    }
    out[key] = text;
  }
  if (Object.keys(out).length > MAX_METADATA_KEYS) throw invalid(`custom_metadata can have at most ${MAX_METADATA_KEYS} keys.`);
  return out;
}

/**
 * The listing's `search_custom_metadata_key` filter: does `meta` hold `search`
 * (case-sensitive, as the Files.com docs say) in `key`, or in any key for `*`?
 */
export function metadataMatches(meta: Record<string, string> | null, key: string, search: string): boolean {
  if (!meta) return false;
  if (key === '*') return Object.values(meta).some((v) => v.includes(search));
  const value = meta[key];
  return value !== undefined && value.includes(search);
}
