// The content cache on disk (file blocks kept across mounts, bounded, checked
// against the server's version) and what status shows about it.
export { ContentDiskCache, DiskVersion, VERSION_OVERHEAD_BYTES, RESUME_MARGIN_BYTES, diskBytesOf } from './disk-cache.js';
export type { ContentCacheStats, ContentDiskCacheOptions, DiskBlock } from './disk-cache.js';
export type { ContentCacheStatus, MemoryStatus, ProcessMemoryStatus } from './status.js';
export { processMemory } from './status.js';
export { contentVersionOf, sameContentVersion } from './content-version.js';
export type { ContentVersion } from './content-version.js';
