// The emulator's own rules for names of new files and folders (docs/files-api.md
// §8), written from the API facts and deliberately not shared with the
// client's validator (src/path/validate.ts): if both used one module, a wrong
// rule could never show up as a disagreement between filesfs and "the
// server". Only the documented normalisation (PathUtil's normalize) is shared.
//
// What the facts say: the server normalises every path (NUL deleted, `\` is a
// separator, empty, `.` and `..` segments dropped), so those never reach these
// checks; a name may not end in white space; a path has at most 5,000
// characters (SDK model docs); a name at most 512 (measured on the live service
// by rclone). Choices where the facts are silent (README "Choices"):
//   - trailing white space is Ruby's `String#rstrip` set: space, \t, \n, \v,
//     \f, \r (the service is a Ruby application; its documented cases are space,
//     tab, CR, LF). A trailing NBSP (U+00A0), U+3000 or other Unicode space is
//     accepted (such a name still compares equal to the name without it);
//   - lengths count Unicode code points;
//   - a path whose percent-encoding is not UTF-8, or a parameter holding a lone
//     UTF-16 surrogate, is `bad-request/invalid-input-encoding`.
import { normalize } from '../path/index.js';
import { ApiError } from './errors.js';

/** Longest name, in code points (rclone measured 512 on the live service). */
export const MAX_NAME_CHARS = 512;
/** Longest path, in code points (the SDKs' model docs: "Maximum of 5000 characters"). */
export const MAX_PATH_CHARS = 5000;

/** Ruby's rstrip set without NUL (normalize deletes NUL before any check). */
const TRAILING_WHITESPACE = /[\t\n\v\f\r ]$/;
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

const codePoints = (s: string): number => {
  let n = 0;
  for (const _ of s) n++;
  return n;
};

export const invalidEncoding = (): ApiError =>
  new ApiError('bad-request/invalid-input-encoding', 'The path is not valid UTF-8.');

/**
 * Decodes a path captured from the URL. A malformed escape (`%zz`) is
 * `bad-request/invalid-path`; well-formed escapes whose bytes are not UTF-8
 * are `bad-request/invalid-input-encoding`.
 */
export function decodePathParam(raw: string): string {
  try {
    return decodeURIComponent(raw);
  } catch {
    if (/%(?![0-9A-Fa-f]{2})/.test(raw)) throw new ApiError('bad-request/invalid-path', 'The path is not valid percent-encoding.');
    throw invalidEncoding();
  }
}

/**
 * Checks a path at which something new is to be created (folder, upload,
 * move or copy destination) and returns it normalised. Throws the ApiError
 * the server answers with.
 */
export function checkNewPath(path: string): string {
  if (LONE_SURROGATE.test(path)) throw invalidEncoding();
  const norm = normalize(path);
  if (norm === '') throw new ApiError('bad-request/invalid-path', 'The path cannot be the site root.');
  for (const name of norm.split('/')) checkName(name);
  if (codePoints(norm) > MAX_PATH_CHARS) {
    throw new ApiError('processing-failure/path-too-long', `A path can have at most ${MAX_PATH_CHARS} characters.`);
  }
  return norm;
}

/** Checks one name (a normalised segment: never empty, `.`, `..`, or holding `/`, `\`, NUL). */
export function checkName(name: string): void {
  if (TRAILING_WHITESPACE.test(name)) {
    throw new ApiError('bad-request/path-cannot-have-trailing-whitespace', `Path cannot have trailing whitespace: ${JSON.stringify(name)}`);
  }
  if (codePoints(name) > MAX_NAME_CHARS) {
    throw new ApiError('processing-failure/filename-too-long', `A file or folder name can have at most ${MAX_NAME_CHARS} characters.`);
  }
}
