// The filesystem layer's public face: every import from outside src/vfs goes
// through here. The Filesystem contract the FUSE adapter calls, its
// implementation on a FilesClient, the one error it rejects with, its
// options, and write-back (staging, journal, uploads, drain, status).
export { FilesFilesystem, createFilesystem, writeIntent } from './filesystem.js';
export type { VfsContext, FilesFilesystemExtensions } from './filesystem.js';
export type { Filesystem, FileAttributes, FileKind, Caller, DirectoryEntry, FilesystemStats, FileLocking, LockRequest, LockConflict } from './filesystem-api.js';
export { XATTR_CREATE, XATTR_REPLACE } from './filesystem-api.js';
export type { HeldLock, LockManager } from './locks/lock-manager.js';
export { FsError, isFsError } from './fs-error.js';
export { CacheCounters } from './cache-counters.js';
export { collectGarbage } from './read/idle-memory.js';
// Seeing changes made elsewhere: refresh and --poll-interval (src/vfs/remote-changes).
export { describeRefresh } from './remote-changes/describe-refresh.js';
export type { RemoteChanges, RemoteChangesStatus } from './remote-changes/remote-changes.js';
export type { RefreshOptions, RefreshReport } from './remote-changes/refresh.js';
export type { PollRound, PollStatus } from './remote-changes/poller.js';
export type { CacheName, HitsAndMisses } from './cache-counters.js';
export type { ErrnoCode } from './fs-error.js';
export { resolveOptions, DEFAULTS, MAX_PREFETCH_FILES } from './options.js';
export type { FilesystemOptions, ResolvedOptions, Clock } from './options.js';
export type { WriteLayer } from './writes.js';
export { ReadOnlyWrites } from './writes.js';
export type { FileHandle } from './handles/file-handle.js';
// The content cache on disk, and the status of cached content.
export { ContentDiskCache } from './content-cache/index.js';
export type { ContentCacheStats, ContentCacheStatus } from './content-cache/index.js';
// Write-back (src/vfs/write-back): staging, journal, upload queue, drain, status.
export { WriteBack } from './write-back/write-back.js';
export { formatBytes } from './format-bytes.js';
export { resolveWriteBackOptions, WRITE_BACK_DEFAULTS } from './write-back/options.js';
export type { WriteBackOptions, ResolvedWriteBackOptions } from './write-back/options.js';
export type { DrainOptions, DrainProgress, DrainResult } from './write-back/drain.js';
export type { WriteBackStatus, UploadStatusEntry, UploadState, ServerStatus } from './write-back/status.js';
export type { RetryOutcome } from './write-back/retry.js';
export type { DiscardResult } from './write-back/write-layer.js';
export { CONFLICT_POLICIES } from './write-back/conflict.js';
export type { ConflictPolicy } from './write-back/conflict.js';
// Local-only files (OS junk kept in the cache dir, never uploaded).
export { DEFAULT_LOCAL_ONLY, globToRegExp, LocalOnlyPatterns } from './local-only/patterns.js';
export { LocalOnlyStore } from './local-only/store.js';
export { keepLocal } from './local-only/local-only-layer.js';
