// The FUSE adapter's public face: every import from outside src/fuse goes
// through here. Mounting a Filesystem (src/vfs) through fuse-native and
// unmounting it, reading the system's mount table, and the `-o` options the
// mount accepts.
export { mountFilesystem, isMountpoint, lazyUnmount } from './mount.js';
export type { Mount } from './mount.js';
export { canonicalMountpoint, findMount, fusermount, readMounts, waitForMount } from './mountinfo.js';
export type { MountEntry } from './mountinfo.js';
export { parseExtraOptions, sanitizeSourceName } from './mount-options.js';
export type { MountOptionsInput } from './mount-options.js';
export type { OperationObserver } from './adapter.js';
