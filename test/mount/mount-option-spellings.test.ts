// Every `filesfs mount` flag has an -o spelling (fstab, mount -o): the same
// configuration either way; options for mount(8) and systemd are ignored;
// libfuse options pass through; a key on the line, an unknown option, a
// boolean with a value, a flag given twice: refused in one line that names
// what was written.
import { describe, expect, test } from 'vitest';
import { parseCommandLine } from '../../src/cli/args.js';
import { ConfigError } from '../../src/options/config-error.js';
import { MOUNT_FLAGS, parseMountConfig } from '../../src/mount/mount-config.js';
import { ownOptionNames, splitMountOptions } from '../../src/mount/option-spellings.js';

function parse(args: string[], env: NodeJS.ProcessEnv = {}) {
  const { values, positionals } = parseCommandLine(args, MOUNT_FLAGS);
  return parseMountConfig(values, positionals, env, '/home/user/here');
}

function refusal(args: string[]): string {
  try {
    parse(args);
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    expect((err as Error).message).not.toContain('\n');
    return (err as Error).message;
  }
  throw new Error(`expected ${args.join(' ')} to be refused`);
}

describe('-o spellings of the mount flags', () => {
  test('the same configuration as the flags, option by option', () => {
    const flags = parse([
      'mnt', '--base-url', 'https://example.files.com', '--api-key-file', 'key', '--root', 'Reports/2024', '--cache-dir', 'cache',
      '--attr-ttl', '10', '--dir-ttl', '0', '--read-only', '--uid', '1000', '--gid', '100', '--umask', '027', '--allow-other',
      '--read-ahead', '8M', '--read-cache', '64M', '--prefetch-files', '0', '--upload-delay', '0', '--upload-concurrency', '2',
      '--connect-timeout', '3', '--timeout', '30', '--retries', '1', '--connections', '4', '--per-page', '500',
      '--ca-file', 'ca.pem', '--source-ip', '127.0.0.1', '--log-level', 'debug', '--metrics', '127.0.0.1:9464', '-o', 'noatime',
    ]);
    const spelled = parse([
      'mnt', '-o', 'base_url=https://example.files.com,api_key_file=key,root=Reports/2024,cache_dir=cache,attr_ttl=10,dir_ttl=0,read_only',
      '-o', 'uid=1000,gid=100,umask=027,allow_other,read_ahead=8M,read_cache=64M,prefetch_files=0,upload_delay=0,upload_concurrency=2',
      '-o', 'connect_timeout=3,timeout=30,retries=1,connections=4,per_page=500,ca_file=ca.pem,source_ip=127.0.0.1,log_level=debug,metrics=127.0.0.1:9464,noatime',
    ]);
    // Alike but for the names the key file and the metrics address were given by (for messages).
    expect(spelled).toEqual({ ...flags, credentials: { ...flags.credentials, apiKeyFileOption: '-o api_key_file' }, metrics: { ...flags.metrics, option: '-o metrics' } });
    expect(flags.metrics).toEqual({ host: '127.0.0.1', port: 9464, option: '--metrics' });
    expect(spelled.mount.extraOptions).toEqual(['noatime']);
  });

  test('every flag but -o, --daemon and --api-key has a spelling', () => {
    expect(ownOptionNames(MOUNT_FLAGS)).toEqual(Object.keys(MOUNT_FLAGS).filter((f) => !['o', 'daemon', 'api-key'].includes(f)).map((f) => f.replace(/-/g, '_')).sort());
  });

  test('ro is read_only (the filesystem refuses writes, not only the kernel)', () => {
    const c = parse(['m', '-o', 'ro']);
    expect(c.filesystem.readOnly).toBe(true);
    expect(c.mount.readOnly).toBe(true);
    expect(c.mount.extraOptions).toEqual([]);
  });

  test('uid=, gid=, umask= are filesfs\'s own (the modes the filesystem reports), not libfuse\'s', () => {
    const c = parse(['m', '-o', 'uid=33,gid=33,umask=007']);
    expect(c.filesystem).toMatchObject({ uid: 33, gid: 33, umask: 0o007 });
    expect(c.mount.extraOptions).toEqual([]);
  });

  test('what mount(8), mount.fuse and systemd add passes or is ignored', () => {
    const c = parse(['m', '-o', 'rw,dev,suid,nodev,nosuid,noexec,noatime,_netdev,nofail,noauto,auto,user,users,defaults,x-systemd.automount,x-systemd.mount-timeout=10min,comment=hello,X-mount.mkdir']);
    expect(c.mount.extraOptions).toEqual(['rw', 'dev', 'suid', 'nodev', 'nosuid', 'noexec', 'noatime']);
    expect(splitMountOptions(['_netdev,x-systemd.requires=a.service,attr_ttl=2'], MOUNT_FLAGS)).toMatchObject({ ignored: ['_netdev', 'x-systemd.requires=a.service'], flags: { 'attr-ttl': '2' }, fuse: [] });
  });

  test('between two -o items the later wins, as in mount(8)', () => {
    expect(parse(['m', '-o', 'attr_ttl=1', '-o', 'attr_ttl=7']).filesystem.attrTtlMs).toBe(7000);
  });
});

describe('refusals', () => {
  test('a key on the mount line, whatever its spelling, never echoed', () => {
    for (const item of ['api_key=sekritKey123', 'api-key=sekritKey123']) {
      const message = refusal(['m', '-o', `root=x,${item}`]);
      expect(message).toMatch(/^-o api[_-]key: not accepted: a key on a mount line is readable by every user .* api_key_file=FILE$/);
      expect(message).not.toContain('sekritKey123');
    }
  });

  test.each([
    [['m', '-o', 'daemon'], /^-o daemon: not accepted: a mount through mount\(8\) always runs in the background/],
    [['m', '-o', 'read_only=yes'], /^-o read_only: takes no value \(write -o read_only, not -o read_only=yes\)$/],
    [['m', '-o', 'attr_ttl'], /^-o attr_ttl: expected attr_ttl=VALUE$/],
    [['m', '-o', 'attr_ttl=soon'], /^-o attr_ttl: expected a number/],
    [['m', '-o', 'umask=999'], /^-o umask: expected an octal mode/],
    [['m', '-o', 'read_ahead=1000K'], /^-o read_ahead: expected a multiple of 256K/],
    [['m', '-o', 'metrics=nowhere'], /^-o metrics: no port/],
    [['m', '--attr-ttl', '1', '-o', 'attr_ttl=2'], /^--attr-ttl and -o attr_ttl are both given; keep one$/],
    [['m', '-o', 'attr-ttl=2'], /^-o attr-ttl: unknown mount option; did you mean attr_ttl\?/],
    [['m', '-o', 'cache_dirr=/x'], /^-o cache_dirr: unknown mount option; did you mean cache_dir\?/],
    [['m', '-o', 'bogus'], /^-o bogus: unknown or unsupported mount option \(accepted: /],
    [['m', '-o', 'ro,rw'], /^-o rw: conflicts with -o ro$/],
    [['m', '-o', 'fsname=x'], /^-o fsname: not accepted/],
  ] as Array<[string[], RegExp]>)('%j', (args, expected) => {
    expect(refusal(args)).toMatch(expected);
  });

  test('a libfuse option close to one of ours is still libfuse\'s (suid is not uid)', () => {
    expect(parse(['m', '-o', 'suid,dev']).mount.extraOptions).toEqual(['suid', 'dev']);
  });
});
