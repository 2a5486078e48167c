// The client's public face: every import from outside src/client goes
// through here. The FilesClient interface the filesystem layer codes against,
// its HTTP implementation and options, the error classes, and the few
// protocol constants other layers size their work by (part sizes, the
// small-file threshold, the retry policy write-back reuses for its backoff).
export { DownloadPin } from './files-client.js';
export { isLockConflict, isLockedByOther } from './locks.js';
export type { RemoteLock } from './files-client.js';
export type { EntryUpdate, FilesClient, RemoteEntry, ListOptions, ListFilter, RangeOptions, StreamOptions, UploadSource, UploadOptions, PartialUpload, PublishTarget } from './files-client.js';
export { partialUploadRange, lastPartOf, PartialUploadUnusable } from './upload-session.js';
export { HttpFilesClient, createFilesClient } from './http-files-client.js';
export { CLIENT_DEFAULTS, MAX_PER_PAGE, resolveClientOptions } from './options.js';
export type { ClientCredentials, ClientOptions, ResolvedClientOptions } from './options.js';
export { rootEntry } from './entry.js';
export { MIN_PART_SIZE } from './part-size.js';
export { SMALL_FILE_BYTES } from './upload-source.js';
export { RetryPolicy } from './retry.js';
export * from './errors.js';
export type { RequestEvent, RequestObserver } from './observer.js';
export { secureContextWithExtraCa } from './tls.js';
export type { ClientStatsSnapshot, Outcome } from './client-stats.js';
export type { HealthSnapshot } from './health.js';
export type { RequestKind } from './request-kind.js';
