// The client's public surface: the interface the filesystem layer codes
// against, its HTTP implementation, and the error classes.
export type { FilesClient, RemoteEntry, ListOptions, RangeOptions, StreamOptions, UploadSource, UploadOptions } from './files-client.js';
export { HttpFilesClient, createFilesClient } from './http-files-client.js';
export * from './errors.js';
export type { ClientStatsSnapshot, Outcome } from './client-stats.js';
export type { HealthSnapshot } from './health.js';
export type { RequestKind } from './request-kind.js';
