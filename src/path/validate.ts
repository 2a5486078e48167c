// What the server refuses in a name, checked locally so that a bad name fails
// at once with the right errno instead of after a round trip (docs/files-api.md §8).
//
// Limits: the SDK model docs allow 5,000 characters per path; rclone measured
// 512 characters per name on the live service. The server's own error types
// for both exist (`processing-failure/filename-too-long`, `/path-too-long`).
// Linux itself caps a name at 255 bytes (NAME_MAX), so through a mount the
// name limit is rarely the one that bites.

export const MAX_NAME_CHARS = 512;
export const MAX_PATH_CHARS = 5000;

export type NameProblem =
  | 'empty'
  | 'dot-segment'
  | 'forbidden-character'
  | 'trailing-whitespace'
  | 'name-too-long'
  | 'path-too-long';

export interface NameRejection {
  reason: NameProblem;
  message: string;
}

/** Checks one name (a single path segment). Returns null when acceptable. */
export function validateName(name: string): NameRejection | null {
  if (name === '') return { reason: 'empty', message: 'a name cannot be empty' };
  if (name === '.' || name === '..') return { reason: 'dot-segment', message: `"${name}" cannot be a name` };
  if (/[/\\\0]/.test(name)) return { reason: 'forbidden-character', message: 'a name cannot contain "/", "\\" or NUL' };
  if (/[\r\n\t ]$/.test(name)) {
    return { reason: 'trailing-whitespace', message: 'a name cannot end with white space (space, tab, CR or LF)' };
  }
  if ([...name].length > MAX_NAME_CHARS) {
    return { reason: 'name-too-long', message: `a name can have at most ${MAX_NAME_CHARS} characters` };
  }
  return null;
}

/**
 * Checks every segment of a path as given by a client (before normalisation,
 * so that "a/./b" or a trailing space is caught rather than silently changed).
 */
export function validatePath(path: string): NameRejection | null {
  const segments = path.split('/').filter((s) => s !== '');
  for (const segment of segments) {
    const problem = validateName(segment);
    if (problem) return problem;
  }
  if ([...segments.join('/')].length > MAX_PATH_CHARS) {
    return { reason: 'path-too-long', message: `a path can have at most ${MAX_PATH_CHARS} characters` };
  }
  return null;
}
