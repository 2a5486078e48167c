// The filesystem layer's public surface: what src/cli wires up and what the
// write-back layer builds on.
export { FilesFilesystem, createFilesystem, writeIntent } from './filesystem.js';
export type { VfsContext, FilesFilesystemExtensions } from './filesystem.js';
export type { Filesystem, FileAttributes, DirectoryEntry, FilesystemStats } from './filesystem-api.js';
export { FsError, isFsError } from './fs-error.js';
export type { ErrnoCode } from './fs-error.js';
export { resolveOptions, DEFAULTS } from './options.js';
export type { FilesystemOptions, ResolvedOptions, Clock } from './options.js';
export type { WriteLayer } from './writes.js';
export { ReadOnlyWrites } from './writes.js';
export type { FileHandle } from './handles/file-handle.js';
