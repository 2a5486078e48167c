// Kernel paths ('/', '/a/b.txt', relative to the mountpoint) ↔ remote paths in
// the server's form (normalized, no leading slash, '' = site root), applying
// the mount's remote root. Also the one place that turns a name the server
// would refuse into the errno the caller must see, before any request.
import { baseName, joinPath, normalize, normalizeForComparison, validateName, validatePath, type NameRejection } from '../path/index.js';
import { FsError } from './fs-error.js';

/** What the binding makes of each byte of a name that is not valid UTF-8. */
const REPLACEMENT_CHARACTER = '\uFFFD';

/** Linux NAME_MAX: the longest name, in bytes, a directory entry can carry. */
export const KERNEL_NAME_MAX_BYTES = 255;

export class PathMapper {
  constructor(private readonly remoteRoot: string) {}

  /** The remote path for a kernel path. */
  toRemote(kernelPath: string): string {
    return joinPath(this.remoteRoot, kernelPath);
  }

  /** The remote path of the mount's root. */
  get root(): string {
    return this.remoteRoot;
  }

  isRoot(remotePath: string): boolean {
    return normalizeForComparison(remotePath) === normalizeForComparison(this.remoteRoot);
  }

  /**
   * The remote path for a kernel path that names something to be created
   * (mkdir, rename target, create): its last segment must be a name the
   * server accepts and the kernel can list. EINVAL, or ENAMETOOLONG for a
   * name or path too long. (The kernel passes FUSE names of up to 1024
   * bytes; one over 255 would be created on the server and then never
   * listed.)
   */
  toRemoteForCreate(kernelPath: string): string {
    const segments = kernelPath.split('/').filter((s) => s !== '');
    const name = segments[segments.length - 1] ?? '';
    const problem = validateName(name) ?? validatePath(joinPath(this.remoteRoot, kernelPath));
    if (problem) throw nameError(problem, kernelPath);
    // The kernel's name was not valid UTF-8: the binding turned each bad byte
    // into U+FFFD, so two different names would become one remote file.
    if (name.includes(REPLACEMENT_CHARACTER)) throw new FsError('EINVAL', `${kernelPath}: the name is not valid UTF-8 (or contains U+FFFD, which filesfs cannot tell apart from it)`);
    if (!fitsKernelName(name)) throw new FsError('ENAMETOOLONG', `${kernelPath}: a name can have at most ${KERNEL_NAME_MAX_BYTES} bytes`);
    return this.toRemote(kernelPath);
  }

  /** True when a name in this kernel path is longer than Linux allows (ENAMETOOLONG wherever it appears). */
  hasNameTooLong(kernelPath: string): boolean {
    if (Buffer.byteLength(kernelPath) <= KERNEL_NAME_MAX_BYTES) return false;
    return kernelPath.split('/').some((segment) => !fitsKernelName(segment));
  }

  /** True when a lookup of this kernel path can only fail (a name the server cannot hold). */
  cannotExist(kernelPath: string): boolean {
    return validatePath(kernelPath) !== null;
  }
}

export function nameError(problem: NameRejection, path: string): FsError {
  const code = problem.reason === 'name-too-long' || problem.reason === 'path-too-long' ? 'ENAMETOOLONG' : 'EINVAL';
  return new FsError(code, `${path}: ${problem.message}`);
}

/** True when the kernel can show this name in a directory listing. */
export function fitsKernelName(name: string): boolean {
  return Buffer.byteLength(name, 'utf8') <= KERNEL_NAME_MAX_BYTES;
}

/** Comparison key of a remote path (identity for every cache). */
export const keyOf = (remotePath: string): string => normalizeForComparison(remotePath);

/** True when `key` is the key of an entry directly inside the folder whose key is `folderKey`. */
export function isChildKey(key: string, folderKey: string): boolean {
  if (folderKey !== '' && !key.startsWith(folderKey + '/')) return false;
  const rest = folderKey === '' ? key : key.slice(folderKey.length + 1);
  return rest !== '' && !rest.includes('/');
}

export { baseName, normalize };
