// What `filesfs status` shows about cached file content: the disk cache
// (size, limits, hit rate, evictions, why it stopped growing), the memory in
// front of it, and the mount process's own memory. Plain JSON, built at one
// instant; the control channel sends it as is.
import type { ContentCacheStats } from './disk-cache.js';

export interface MemoryStatus {
  /** The read path's memory budget (--read-cache) and the part held now (cached, in flight, on its way to disk). */
  budgetBytes: number;
  usedBytes: number;
  /** Of which cached for readers, and requests in flight. */
  cachedBytes: number;
  inflightBytes: number;
}

export interface ProcessMemoryStatus {
  rssBytes: number;
  heapUsedBytes: number;
  /** Memory outside V8's heap (buffers), of which array buffers. */
  externalBytes: number;
  arrayBuffersBytes: number;
}

export interface ContentCacheStatus {
  /** The disk cache; null when it is off (--cache-size 0). */
  disk: ContentCacheStats | null;
  memory: MemoryStatus;
  /** Blocks reads needed since the mount started: answered from memory, disk or a fetch already under way (hits), or fetched (misses). */
  blockHits: number;
  blockMisses: number;
  process: ProcessMemoryStatus;
}

/** The process's memory now. */
export function processMemory(): ProcessMemoryStatus {
  const m = process.memoryUsage();
  return { rssBytes: m.rss, heapUsedBytes: m.heapUsed, externalBytes: m.external, arrayBuffersBytes: m.arrayBuffers };
}
