// Path identity and path rules shared by the client, the filesystem layer and
// the emulator. See normalize.ts for the algorithm and its sources.
export { normalize, normalizeForComparison, isSame } from './normalize.js';
export { joinPath, parentPath, baseName, ancestors } from './remote-path.js';
export { validateName, validatePath, MAX_NAME_CHARS, MAX_PATH_CHARS } from './validate.js';
export type { NameProblem, NameRejection } from './validate.js';
