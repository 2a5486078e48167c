// `filesfs mount` flags and environment → MountConfig: defaults, precedence,
// absolute paths, and one-line refusals that name the flag.
import { join } from 'node:path';
import { describe, expect, test } from 'vitest';
import { parseCommandLine } from '../../src/cli/args.js';
import { CLIENT_DEFAULTS } from '../../src/client/options.js';
import { ConfigError } from '../../src/options/config-error.js';
import { defaultCacheDir } from '../../src/mount/cache-dir.js';
import { MOUNT_DEFAULTS, MOUNT_FLAGS, parseMountConfig } from '../../src/mount/mount-config.js';
import { DEFAULTS as VFS_DEFAULTS, resolveOptions } from '../../src/vfs/options.js';

const MiB = 1024 * 1024;

function parse(args: string[], env: NodeJS.ProcessEnv = {}, cwd = '/home/user/here') {
  const { values, positionals } = parseCommandLine(args, MOUNT_FLAGS);
  return parseMountConfig(values, positionals, env, cwd);
}

function refusal(args: string[], env: NodeJS.ProcessEnv = {}): string {
  try {
    parse(args, env);
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    const message = (err as Error).message;
    expect(message).not.toContain('\n');
    return message;
  }
  throw new Error(`expected ${args.join(' ')} to be refused`);
}

describe('defaults', () => {
  test('a bare mountpoint: the documented defaults, paths absolute', () => {
    const c = parse(['mnt'], { XDG_CACHE_HOME: '/xdg' });
    expect(c.mountpoint).toBe('/home/user/here/mnt');
    expect(c.baseUrl).toBe('https://app.files.com');
    expect(c.remoteRoot).toBe('');
    expect(c.cacheDir).toBe(defaultCacheDir('https://app.files.com', '', { XDG_CACHE_HOME: '/xdg' }));
    expect(c.cacheDir.startsWith('/xdg/filesfs/')).toBe(true);
    expect(c.daemon).toBe(false);
    expect(c.logLevel).toBe('info');
    expect(c.client).toMatchObject({
      connectTimeoutMs: CLIENT_DEFAULTS.connectTimeoutMs,
      requestTimeoutMs: CLIENT_DEFAULTS.requestTimeoutMs,
      retries: CLIENT_DEFAULTS.retries,
      perPage: CLIENT_DEFAULTS.perPage,
      connections: CLIENT_DEFAULTS.connections,
    });
    expect(c.filesystem).toMatchObject({
      attrTtlMs: VFS_DEFAULTS.attrTtlMs,
      dirTtlMs: VFS_DEFAULTS.dirTtlMs,
      umask: 0o022,
      readOnly: false,
      readAheadMaxBytes: VFS_DEFAULTS.readAheadMaxBytes,
      readCacheTotalBytes: VFS_DEFAULTS.readCacheTotalBytes,
      prefetchFiles: VFS_DEFAULTS.prefetchFiles,
      contentCacheBytes: VFS_DEFAULTS.contentCacheBytes,
      contentCacheMinFreeBytes: VFS_DEFAULTS.contentCacheMinFreeBytes,
    });
    // The content cache lives in the cache dir, beside (never among) pending uploads.
    expect(c.filesystem.contentCacheDir).toBe(join(c.cacheDir, 'content'));
    expect(c.mount).toMatchObject({ sourceName: 'app.files.com:/', readOnly: false, allowOther: false, extraOptions: [] });
    // The filesystem layer accepts what the flags produce.
    expect(() => resolveOptions(c.filesystem)).not.toThrow();
  });

  test('MOUNT_DEFAULTS match the layers they come from', () => {
    expect(MOUNT_DEFAULTS.attrTtlSeconds * 1000).toBe(VFS_DEFAULTS.attrTtlMs);
    expect(MOUNT_DEFAULTS.timeoutSeconds * 1000).toBe(CLIENT_DEFAULTS.requestTimeoutMs);
    expect(MOUNT_DEFAULTS.metadataTimeoutSeconds * 1000).toBe(CLIENT_DEFAULTS.metadataTimeoutMs);
    expect(MOUNT_DEFAULTS.stallTimeoutSeconds * 1000).toBe(CLIENT_DEFAULTS.stallTimeoutMs);
  });
});

describe('flags', () => {
  test('every flag reaches its place', () => {
    const c = parse([
      'mnt', '--base-url', 'https://example.files.com/', '--root', '/Reports/2024/', '--cache-dir', 'cache',
      '--attr-ttl', '0.5', '--dir-ttl', '0', '--read-only', '--uid', '1000', '--gid', '100', '--umask', '077',
      '--allow-other', '-o', 'nonempty,attr_timeout=2', '-o', 'noatime', '--daemon', '--log-level', 'debug',
      '--ca-file', 'ca.pem', '--source-ip', '127.0.0.1', '--connect-timeout', '3', '--timeout', '30',
      '--metadata-timeout', '2.5', '--stall-timeout', '20',
      '--retries', '0', '--per-page', '500', '--connections', '4', '--read-ahead', '8M', '--read-cache', '64M',
      '--prefetch-files', '0', '--api-key-file', 'key.txt', '--cache-size', '64M', '--cache-min-free', '100M',
    ]);
    expect(c.baseUrl).toBe('https://example.files.com');
    expect(c.remoteRoot).toBe('Reports/2024');
    expect(c.cacheDir).toBe('/home/user/here/cache');
    expect(c.credentials.apiKeyFile).toBe('/home/user/here/key.txt');
    expect(c.daemon).toBe(true);
    expect(c.logLevel).toBe('debug');
    expect(c.client).toMatchObject({ caFile: '/home/user/here/ca.pem', sourceIp: '127.0.0.1', connectTimeoutMs: 3000, requestTimeoutMs: 30_000, metadataTimeoutMs: 2_500, stallTimeoutMs: 20_000, retries: 0, perPage: 500, connections: 4 });
    expect(c.filesystem).toMatchObject({
      remoteRoot: 'Reports/2024', attrTtlMs: 500, dirTtlMs: 0, readOnly: true, uid: 1000, gid: 100, umask: 0o077,
      listPageSize: 500, readAheadMaxBytes: 8 * MiB, readCacheTotalBytes: 64 * MiB, prefetchFiles: 0,
      contentCacheDir: '/home/user/here/cache/content', contentCacheBytes: 64 * MiB, contentCacheMinFreeBytes: 100 * MiB,
    });
    expect(c.mount).toMatchObject({ sourceName: 'example.files.com:/Reports/2024', readOnly: true, allowOther: true, extraOptions: ['nonempty', 'attr_timeout=2', 'noatime'] });
    expect(() => resolveOptions(c.filesystem)).not.toThrow();
  });

  test('base URL: the flag, then FILES_BASE_URL, then FILESCOM_BASE_URL', () => {
    expect(parse(['m'], { FILESCOM_BASE_URL: 'https://b.example' }).baseUrl).toBe('https://b.example');
    expect(parse(['m'], { FILES_BASE_URL: 'https://a.example', FILESCOM_BASE_URL: 'https://b.example' }).baseUrl).toBe('https://a.example');
    expect(parse(['m', '--base-url', 'http://127.0.0.1:8080'], { FILES_BASE_URL: 'https://a.example' }).baseUrl).toBe('http://127.0.0.1:8080');
    expect(refusal(['m'], { FILES_BASE_URL: 'ftp://x' })).toMatch(/^\$FILES_BASE_URL: only http and https/);
  });

  test('the default cache dir depends on site and root, not on the mountpoint', () => {
    const a = parse(['a', '--root', 'x'], { XDG_CACHE_HOME: '/c' }).cacheDir;
    expect(parse(['b', '--root', 'x'], { XDG_CACHE_HOME: '/c' }).cacheDir).toBe(a);
    expect(parse(['a', '--root', 'y'], { XDG_CACHE_HOME: '/c' }).cacheDir).not.toBe(a);
  });

  test('a small --read-ahead keeps the initial window within it', () => {
    const c = parse(['m', '--read-ahead', '512K']);
    expect(c.filesystem.readAheadMaxBytes).toBe(512 * 1024);
    expect(c.filesystem.readAheadInitialBytes).toBe(512 * 1024);
    expect(() => resolveOptions(c.filesystem)).not.toThrow();
  });
});

describe('refusals', () => {
  test('--api-key: refused without echoing the key, pointing at FILES_API_KEY and --api-key-file', () => {
    for (const args of [['m', '--api-key', 'sekritKey123'], ['m', '--api-key=sekritKey123']]) {
      const message = refusal(args);
      expect(message).toContain('FILES_API_KEY');
      expect(message).toContain('--api-key-file');
      expect(message).not.toContain('sekritKey123');
    }
  });

  test.each([
    [[], /missing the mountpoint/],
    [['a', 'b'], /one mountpoint only/],
    [['m', '--attr-ttl', 'soon'], /^--attr-ttl: expected a number/],
    [['m', '--umask', '999'], /^--umask: expected an octal mode/],
    [['m', '--uid=-1'], /^--uid: expected an integer/],
    [['m', '--uid', '-1'], /^Option '--uid' argument is ambiguous\. Did you forget/],
    [['m', '--per-page', '20000'], /^--per-page: expected an integer ≥ 1 and ≤ 10000/],
    [['m', '--metadata-timeout', '0'], /^--metadata-timeout: expected a number ≥ 0.001 and ≤ 600/],
    [['m', '--stall-timeout', '7200'], /^--stall-timeout: expected a number ≥ 0.001 and ≤ 3600/],
    [['m', '--log-level', 'loud'], /^--log-level: expected one of/],
    [['m', '-o', 'fsname=x'], /^-o fsname: not accepted/],
    [['m', '-o', 'bogus'], /^-o bogus: unknown or unsupported mount option/],
    [['m', '--read-only', '-o', 'rw'], /^-o rw: conflicts with --read-only/],
    [['m', '--read-ahead', '100K'], /^--read-ahead: .*out of range/],
    [['m', '--read-ahead', '1000K'], /^--read-ahead: expected a multiple of 256K/],
    [['m', '--read-cache', '12M'], /^--read-cache: must be at least 16M \(two range requests of 8M\)/],
    [['m', '--cache-size', 'lots'], /^--cache-size: expected a size/],
    [['m', '--cache-min-free=-1G'], /^--cache-min-free: expected a size/],
    [['m', '--prefetch-files=-1'], /^--prefetch-files: expected an integer/],
    [['m', '--prefetch-files', 'lots'], /^--prefetch-files: expected an integer/],
    [['m', '--root', '  '], /^--root: expected a remote folder/],
    [['m', '--base-url', 'https://user:pw@example.files.com'], /do not put credentials in the URL/],
  ] as Array<[string[], RegExp]>)('%j', (args, expected) => {
    expect(refusal(args)).toMatch(expected);
  });

  test('an unknown flag names itself', () => {
    expect(() => parse(['m', '--bogus'])).toThrow(/bogus/);
  });
});

describe('POSIX metadata', () => {
  test('kept by default; --no-posix-metadata (or -o no_posix_metadata) turns it off', () => {
    expect(parse(['mnt']).filesystem.posixMetadata).toBe(true);
    expect(parse(['mnt', '--no-posix-metadata']).filesystem.posixMetadata).toBe(false);
    expect(parse(['mnt', '-o', 'no_posix_metadata']).filesystem.posixMetadata).toBe(false);
  });

  test('extended attributes are answered by default; --no-xattrs (or -o no_xattrs) turns them off', () => {
    expect(parse(['mnt']).filesystem.xattrs).toBe(true);
    expect(parse(['mnt', '--no-xattrs']).filesystem.xattrs).toBe(false);
    expect(parse(['mnt', '-o', 'no_xattrs']).filesystem.xattrs).toBe(false);
  });
});

describe('a shared site', () => {
  test('--on-conflict: keep-both by default, the three policies, a clear refusal', () => {
    expect(parse(['mnt']).writeBack.onConflict).toBe('keep-both');
    expect(parse(['mnt', '--on-conflict', 'remote-wins']).writeBack.onConflict).toBe('remote-wins');
    expect(parse(['mnt', '-o', 'on_conflict=local-wins']).writeBack.onConflict).toBe('local-wins');
    expect(refusal(['mnt', '--on-conflict', 'mine'])).toBe('--on-conflict: expected one of keep-both, local-wins, remote-wins, got "mine"');
  });

  test('--local-only adds patterns (also as -o, repeatable); --no-local-only drops the defaults', () => {
    expect(parse(['mnt']).localOnly).toContain('.DS_Store');
    const more = parse(['mnt', '--local-only', '*.tmp', '-o', 'local_only=~WRL*.tmp', '-o', 'local_only=.Trash*']).localOnly;
    expect(more).toEqual(expect.arrayContaining(['.DS_Store', '*.tmp', '~WRL*.tmp', '.Trash*']));
    expect(parse(['mnt', '--no-local-only', '--local-only', '*.bak']).localOnly).toEqual(['*.bak']);
    expect(refusal(['mnt', '--local-only', 'a/b'])).toMatch(/^--local-only: local-only pattern "a\/b": expected a file name pattern/);
  });
});

describe('seeing remote changes', () => {
  test('--poll-interval: off by default; seconds, also as -o poll_interval=; at least 1 s; 0 is off', () => {
    expect(parse(['mnt']).filesystem.pollIntervalMs).toBe(0);
    expect(parse(['mnt', '--poll-interval', '10']).filesystem.pollIntervalMs).toBe(10_000);
    expect(parse(['mnt', '--poll-interval', '2.5']).filesystem.pollIntervalMs).toBe(2_500);
    expect(parse(['mnt', '-o', 'poll_interval=30,dir_ttl=3600']).filesystem).toMatchObject({ pollIntervalMs: 30_000, dirTtlMs: 3_600_000 });
    expect(parse(['mnt', '--poll-interval', '0']).filesystem.pollIntervalMs).toBe(0);
    expect(resolveOptions(parse(['mnt', '-o', 'poll_interval=1']).filesystem).pollIntervalMs).toBe(1_000);
    expect(refusal(['m', '--poll-interval', '0.5'])).toBe('--poll-interval: expected 0 (off) or at least 1 second, got 0.5');
    expect(refusal(['m', '-o', 'poll_interval=often'])).toMatch(/^-o poll_interval: expected a number ≥ 0/);
    expect(refusal(['m', '--poll-interval', '10', '-o', 'poll_interval=20'])).toBe('--poll-interval and -o poll_interval are both given; keep one');
  });
});
