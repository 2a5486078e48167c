// The pieces of a mount line: the site (mount source), the metrics address,
// and finding a filesfs line in an fstab.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, test } from 'vitest';
import { findFstabEntry, parseFstab } from '../../src/mount/fstab.js';
import { formatListenAddress, parseListenAddress } from '../../src/options/listen-address.js';
import { looksLikeSite, parseSite } from '../../src/options/site.js';
import { testDir } from '../support/emulator.js';

describe('the site (mount source)', () => {
  test.each([
    ['https://example.files.com', 'https://example.files.com'],
    ['https://example.files.com/', 'https://example.files.com'],
    ['http://127.0.0.1:8080', 'http://127.0.0.1:8080'],
    ['example.files.com', 'https://example.files.com'],
    ['files.example.org:8443', 'https://files.example.org:8443'],
    ['localhost:8080', 'https://localhost:8080'],
  ])('%s → %s', (site, url) => {
    expect(looksLikeSite(site)).toBe(true);
    expect(parseSite('SITE', site)).toBe(url);
  });

  test('a bare word is no site: `filesfs unmonut DIR` stays an unknown command', () => {
    for (const word of ['unmonut', 'mount', 'status', 'files']) expect(looksLikeSite(word)).toBe(false);
  });

  test.each([
    ['https://example.files.com/Reports/2024', /give the site without a path, and the folder as root=Reports\/2024/],
    ['ftp://example.files.com', /only http and https/],
    ['https://me:pw@example.files.com', /do not put credentials in the URL/],
    ['not a site', /expected the site's URL \(https:\/\/example.files.com\) or host name/],
  ])('%s is refused', (site, expected) => {
    expect(() => parseSite('SITE', site)).toThrow(expected);
  });
});

describe('the metrics address', () => {
  test.each([
    ['127.0.0.1:9464', { host: '127.0.0.1', port: 9464 }, '127.0.0.1:9464'],
    ['0.0.0.0:9464', { host: '0.0.0.0', port: 9464 }, '0.0.0.0:9464'],
    ['[::1]:9464', { host: '::1', port: 9464 }, '[::1]:9464'],
    ['localhost:9100', { host: 'localhost', port: 9100 }, 'localhost:9100'],
    ['9464', { host: '127.0.0.1', port: 9464 }, '127.0.0.1:9464'],
    ['127.0.0.1:0', { host: '127.0.0.1', port: 0 }, '127.0.0.1:0'],
  ])('%s', (raw, address, shown) => {
    expect(parseListenAddress('--metrics', raw)).toEqual(address);
    expect(formatListenAddress(address)).toBe(shown);
  });

  test.each([
    ['nowhere', /no port/],
    ['::1:9464', /an IPv6 address needs brackets/],
    ['host:99999', /the port must be 0 to 65535/],
    ['host:http', /the port is not a number/],
    ['bad host:1', /not a host name or IP address/],
  ])('%s is refused', (raw, expected) => {
    expect(() => parseListenAddress('--metrics', raw)).toThrow(expected);
  });
});

describe('fstab', () => {
  const FSTAB = [
    '# /etc/fstab',
    'UUID=1234 / ext4 defaults 0 1',
    'https://example.files.com  /mnt/files  fuse.filesfs  _netdev,nofail,api_key_file=/etc/filesfs/key,cache_dir=/var/cache/filesfs  0  0',
    'example.files.com /mnt/with\\040space fuse.filesfs root=Reports',
    'filesfs#https://old.files.com /mnt/old fuse allow_other 0 0',
    'sshfs#me@host:/ /mnt/ssh fuse defaults 0 0',
    'other.files.com /mnt/bare filesfs',
  ].join('\n');

  test('filesfs lines only, in every spelling, escapes undone', () => {
    expect(parseFstab(FSTAB)).toEqual([
      { site: 'https://example.files.com', mountpoint: '/mnt/files', type: 'fuse.filesfs', options: '_netdev,nofail,api_key_file=/etc/filesfs/key,cache_dir=/var/cache/filesfs', line: 3 },
      { site: 'example.files.com', mountpoint: '/mnt/with space', type: 'fuse.filesfs', options: 'root=Reports', line: 4 },
      { site: 'https://old.files.com', mountpoint: '/mnt/old', type: 'fuse', options: 'allow_other', line: 5 },
      { site: 'other.files.com', mountpoint: '/mnt/bare', type: 'filesfs', options: 'defaults', line: 7 },
    ]);
  });

  test('found by mountpoint, with or without a trailing slash', () => {
    const file = join(testDir('fstab-'), 'fstab');
    writeFileSync(file, FSTAB);
    expect(findFstabEntry('/mnt/files/', file)?.site).toBe('https://example.files.com');
    expect(findFstabEntry('/mnt/ssh', file)).toBeUndefined();
    expect(findFstabEntry('/mnt/files', join(testDir('fstab-'), 'missing'))).toBeUndefined();
  });
});
