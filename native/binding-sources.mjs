// Which files make our fuse-native binding, and the hash of them that a
// build records (build/filesfs-patch.sha256 in the package): shared by
// build-fuse-native.mjs, which writes it, and detect-fuse.mjs, which checks
// that the binding on this machine was built from these exact sources.
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

/** Our files copied over the package's: [file in native/, file in the package]. */
export const OWN_FILES = [['fuse-native.c', 'fuse-native.c'], ['binding.gyp', 'binding.gyp']];

/** Our patches to the package's files: [patch in native/, file it patches]. */
export const PATCHED_FILES = [['fuse-native-index.patch', 'index.js']];

/** sha256 over the package version and every source file, each named. */
export function bindingSourceHash(version, nativeDir) {
  const hash = createHash('sha256').update(version);
  for (const [file] of [...OWN_FILES, ...PATCHED_FILES]) {
    hash.update(`\0${file}\0`).update(readFileSync(join(nativeDir, file)));
  }
  return hash.digest('hex');
}
