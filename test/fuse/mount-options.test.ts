// The libfuse option list: what we always set, what -o may add or override,
// and what it may not.
import { describe, expect, test } from 'vitest';
import { ConfigError } from '../../src/options/config-error.js';
import { allowsNonEmptyMountpoint, buildMountOptions, maxReadaheadOf, optionsArgument, parseExtraOptions, sanitizeSourceName } from '../../src/fuse/mount-options.js';

describe('buildMountOptions', () => {
  test('defaults', () => {
    expect(buildMountOptions()).toEqual([
      'fsname=filesfs', 'subtype=filesfs', 'default_permissions', 'max_write=1048576', 'max_read=1048576', 'max_readahead=1048576',
      'remember=60', 'user_xattr_only', 'attr_timeout=1', 'entry_timeout=1', 'negative_timeout=1',
    ]);
  });

  test('options from the caller', () => {
    const input = {
      sourceName: 'acme.files.com', readOnly: true, allowOther: true, allowNonEmpty: true, debug: true,
      attrTimeoutSeconds: 0, entryTimeoutSeconds: 2.5, negativeTimeoutSeconds: 0.25, maxReadahead: 65536,
    };
    const list = buildMountOptions(input);
    expect(list).toContain('fsname=acme.files.com');
    for (const o of ['ro', 'allow_other', 'debug', 'attr_timeout=0', 'entry_timeout=2.5', 'negative_timeout=0.25', 'max_readahead=65536']) expect(list).toContain(o);
    expect(list).not.toContain('max_readahead=1048576');
    // libfuse 3 has no nonempty: it is filesfs's own check (mount.ts).
    expect(list).not.toContain('nonempty');
    expect(allowsNonEmptyMountpoint(input)).toBe(true);
    expect(allowsNonEmptyMountpoint({})).toBe(false);
  });

  test('-o options are added, and replace ours of the same name', () => {
    const list = buildMountOptions({ extraOptions: ['attr_timeout=5,noatime', 'allow_other', 'max_threads=16'] });
    expect(list.filter((o) => o.startsWith('attr_timeout'))).toEqual(['attr_timeout=5']);
    expect(list).toContain('noatime');
    expect(list).toContain('max_threads=16');
  });

  test('-o nonempty, big_writes and atomic_o_trunc are accepted and never reach libfuse 3 (which has none of them)', () => {
    const extraOptions = ['nonempty,big_writes', 'atomic_o_trunc'];
    const list = buildMountOptions({ extraOptions });
    for (const o of ['nonempty', 'big_writes', 'atomic_o_trunc']) expect(list).not.toContain(o);
    expect(allowsNonEmptyMountpoint({ extraOptions })).toBe(true);
    expect(allowsNonEmptyMountpoint({ extraOptions: ['big_writes'] })).toBe(false);
  });

  test('the read-ahead asked of the kernel', () => {
    expect(maxReadaheadOf(buildMountOptions())).toBe(1024 * 1024);
    expect(maxReadaheadOf(buildMountOptions({ extraOptions: ['max_readahead=131072'] }))).toBe(131072);
    expect(maxReadaheadOf(['ro'])).toBeUndefined();
  });

  test('-o rw cannot undo --read-only', () => {
    expect(() => buildMountOptions({ readOnly: true, extraOptions: ['rw'] })).toThrow(/conflicts with --read-only/);
  });

  test('bad timeouts', () => {
    expect(() => buildMountOptions({ attrTimeoutSeconds: -1 })).toThrow(ConfigError);
    expect(() => buildMountOptions({ entryTimeoutSeconds: Number.NaN })).toThrow(ConfigError);
  });
});

describe('parseExtraOptions', () => {
  test('accepts flags and valued options, split on commas', () => {
    expect(parseExtraOptions(['ro,noatime', ' umask=022 ', 'uid=1000', 'entry_timeout=0.5', ''])).toEqual(['ro', 'noatime', 'umask=022', 'uid=1000', 'entry_timeout=0.5']);
  });

  test.each([
    ['max_write=131072', /max_write: not accepted, it is fixed at 1048576/],
    ['fsname=evil', /fsname: not accepted/],
    ['subtype=x', /subtype: not accepted/],
    ['use_ino', /inode numbers/],
    ['modules=subdir', /modules: not accepted/],
    ['subdir=/x', /--root/],
    ['nopath', /needs paths/],
    ['bogus', /bogus: unknown or unsupported mount option/],
    ['ro=1', /ro: takes no value/],
    ['attr_timeout=', /expected a number of seconds/],
    ['attr_timeout=1e3', /expected a number of seconds/],
    ['uid=-1', /expected a whole number/],
    ['umask=999', /expected an octal mode/],
    ['Allow_Other', /not a mount option/],
    ['fsname=a\\,b', /fsname: not accepted/],
  ])('refuses %s', (option, message) => {
    expect(() => parseExtraOptions([option])).toThrow(ConfigError);
    expect(() => parseExtraOptions([option])).toThrow(message);
  });
});

describe('the option argument', () => {
  test('is one -o argument', () => {
    expect(optionsArgument(['ro', 'fsname=x'])).toBe('-oro,fsname=x');
    expect(optionsArgument([])).toBe('');
  });

  test('refuses what fuse-native would cut at 1023 bytes', () => {
    expect(() => optionsArgument([`fsname=${'x'.repeat(1100)}`])).toThrow(/too long for fuse-native/);
  });

  test('source names lose separators and escapes', () => {
    expect(sanitizeSourceName('acme.files.com/Reports, Q1\\x')).toBe('acme.files.com/Reports__Q1_x');
    expect(sanitizeSourceName('')).toBe('filesfs');
  });
});
