import { describe, expect, it } from 'vitest';
import { ConfigError } from '../../src/options/config-error.js';
import { DEFAULTS, resolveOptions } from '../../src/vfs/options.js';
import { MiB } from './helpers.js';

describe('resolveOptions', () => {
  it('has the documented defaults', () => {
    const o = resolveOptions();
    expect(o.remoteRoot).toBe('');
    expect(o.attrTtlMs).toBe(5000);
    expect(o.dirTtlMs).toBe(5000);
    expect(o.negativeTtlMs).toBe(5000);
    expect(o.umask).toBe(0o022);
    expect(o.fileMode).toBe(0o644);
    expect(o.dirMode).toBe(0o755);
    expect(o.uid).toBe(process.getuid!());
    expect(o.gid).toBe(process.getgid!());
    expect(o.readOnly).toBe(false);
    expect(o.readBlockSize).toBe(256 * 1024);
    expect(o.readAheadInitialBytes).toBe(1 * MiB);
    expect(o.readAheadMaxBytes).toBe(16 * MiB);
    expect(o.readRequestMaxBytes).toBe(8 * MiB);
    expect(o.readCachePerFileBytes).toBe(16 * MiB);
    expect(o.readCacheTotalBytes).toBe(16 * MiB);
    expect(o.closedFileKeptBytes).toBe(8 * MiB);
    // No folder given: no content cache on disk (the mount gives its cache dir's).
    expect(o.contentCacheDir).toBeUndefined();
    expect(o.contentCacheBytes).toBe(10 * 1024 * MiB);
    expect(o.contentCacheMinFreeBytes).toBe(2 * 1024 * MiB);
    expect(o.contentCacheBlockBytes).toBe(1 * MiB);
    expect(o.listPageSize).toBe(1000);
    expect(o.metadataMaxEntries).toBe(DEFAULTS.metadataMaxEntries);
  });

  it('derives modes from the umask and hides write bits on a read-only mount', () => {
    expect(resolveOptions({ umask: 0o077 })).toMatchObject({ fileMode: 0o600, dirMode: 0o700 });
    expect(resolveOptions({ umask: 0 })).toMatchObject({ fileMode: 0o666, dirMode: 0o777 });
    expect(resolveOptions({ readOnly: true })).toMatchObject({ fileMode: 0o444, dirMode: 0o555 });
  });

  it('normalises the remote root and lets TTLs be 0 (negative TTL follows the attribute TTL)', () => {
    const o = resolveOptions({ remoteRoot: '/a//b/', attrTtlMs: 0, dirTtlMs: 0 });
    expect(o.remoteRoot).toBe('a/b');
    expect(o.negativeTtlMs).toBe(0);
  });

  it.each([
    [{ attrTtlMs: -1 }, /attrTtlMs/],
    [{ umask: 0o1000 }, /umask/],
    [{ listPageSize: 10_001 }, /listPageSize/],
    [{ readBlockSize: 100 }, /readBlockSize/],
    [{ readAheadInitialBytes: 300 * 1024 }, /multiple of/],
    [{ readAheadInitialBytes: 4 * MiB, readAheadMaxBytes: 2 * MiB }, /readAheadMaxBytes/],
    [{ readCachePerFileBytes: 4 * MiB }, /readCachePerFileBytes/],
    [{ readCacheTotalBytes: 8 * MiB }, /readCacheTotalBytes/],
    [{ readCacheTotalBytes: 32 * MiB, readCachePerFileBytes: 64 * MiB }, /readCachePerFileBytes/],
    [{ contentCacheBlockBytes: 300 * 1024 }, /contentCacheBlockBytes/],
    [{ contentCacheBlockBytes: 16 * MiB }, /contentCacheBlockBytes: expected at most half/],
    [{ contentCacheBytes: -1 }, /contentCacheBytes/],
    [{ uid: -1 }, /uid/],
  ])('refuses %j with a precise message', (bad, message) => {
    expect(() => resolveOptions(bad)).toThrow(ConfigError);
    expect(() => resolveOptions(bad)).toThrow(message);
  });
});
