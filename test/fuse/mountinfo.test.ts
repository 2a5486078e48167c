// Parsing /proc/self/mountinfo, including escaped mountpoints.
import { expect, test } from 'vitest';
import { isMountpoint, parseMountinfo } from '../../src/fuse/mountinfo.js';

test('fields, optional fields and octal escapes', () => {
  const text = [
    '22 1 0:21 / /proc rw,nosuid shared:5 - proc proc rw',
    '43 27 0:40 / /tmp/my\\040mount\\134x rw,nosuid,nodev,relatime shared:7 master:1 - fuse.filesfs acme\\040site rw,user_id=0,group_id=0,default_permissions',
    'garbage',
    '',
  ].join('\n');
  expect(parseMountinfo(text)).toEqual([
    { mountpoint: '/proc', device: '0:21', options: 'rw,nosuid', fstype: 'proc', source: 'proc', superOptions: 'rw' },
    { mountpoint: '/tmp/my mount\\x', device: '0:40', options: 'rw,nosuid,nodev,relatime', fstype: 'fuse.filesfs', source: 'acme site', superOptions: 'rw,user_id=0,group_id=0,default_permissions' },
  ]);
});

test('isMountpoint', async () => {
  expect(await isMountpoint('/proc')).toBe(true);
  expect(await isMountpoint('/proc/self')).toBe(false);
});
