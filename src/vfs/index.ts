// The filesystem layer's public surface: what src/cli wires up and what the
// write-back layer builds on.
export { FilesFilesystem, createFilesystem, writeIntent } from './filesystem.js';
export type { VfsContext, FilesFilesystemExtensions } from './filesystem.js';
export type { Filesystem, FileAttributes, DirectoryEntry, FilesystemStats } from './filesystem-api.js';
export { FsError, isFsError } from './fs-error.js';
export { CacheCounters } from './cache-counters.js';
export type { CacheName, HitsAndMisses } from './cache-counters.js';
export type { ErrnoCode } from './fs-error.js';
export { resolveOptions, DEFAULTS } from './options.js';
export type { FilesystemOptions, ResolvedOptions, Clock } from './options.js';
export type { WriteLayer } from './writes.js';
export { ReadOnlyWrites } from './writes.js';
export type { FileHandle } from './handles/file-handle.js';
// Write-back (src/vfs/upload): staging, journal, upload queue, drain, status.
export { WriteBack, formatBytes } from './upload/write-back.js';
export { resolveWriteBackOptions, WRITE_BACK_DEFAULTS } from './upload/options.js';
export type { WriteBackOptions, ResolvedWriteBackOptions } from './upload/options.js';
export type { DrainOptions, DrainProgress, DrainResult } from './upload/drain.js';
export type { WriteBackStatus, UploadStatusEntry, UploadState } from './upload/status.js';
