// The reserved custom_metadata keys and the extended-attribute mapping,
// without I/O: what is written (only what differs from the mount's
// defaults), what is read back (and what is ignored), and the POSIX errors
// for Files.com's limits.
import { describe, expect, test } from 'vitest';
import type { RemoteEntry } from '../../../src/client/files-client.js';
import { XATTR_CREATE, XATTR_REPLACE } from '../../../src/vfs/filesystem-api.js';
import {
  decodePosix, deviceFits, encodePosix, KEYS, majorOf, makeDevice, minorOf, sameMetadata, type PosixDefaults,
} from '../../../src/vfs/posix/posix-metadata.js';
import { parseXattrName, userAttributeNames, withoutUserValue, withUserValue } from '../../../src/vfs/posix/xattrs.js';

const defaults: PosixDefaults = { fileMode: 0o644, dirMode: 0o755, uid: 1000, gid: 1000 };

function entry(type: 'file' | 'directory', customMetadata: Record<string, string> = {}, size = 0): RemoteEntry {
  return {
    path: 'x', name: 'x', type, size, mtime: new Date(0), serverMtime: null, providedMtime: null, createdAt: null,
    md5: null, crc32: null, permissions: null, customMetadata,
  };
}

describe('decodePosix', () => {
  test('no metadata: the mount\'s defaults', () => {
    expect(decodePosix(entry('file'), defaults)).toEqual({ kind: 'file', permissions: 0o644, uid: 1000, gid: 1000, rdev: 0, target: null });
    expect(decodePosix(entry('directory'), defaults)).toMatchObject({ kind: 'directory', permissions: 0o755 });
  });

  test('each key, and a symbolic link always shows 0777', () => {
    expect(decodePosix(entry('file', { [KEYS.mode]: '4755', [KEYS.uid]: '0', [KEYS.gid]: '42' }), defaults)).toMatchObject({ kind: 'file', permissions: 0o4755, uid: 0, gid: 42 });
    expect(decodePosix(entry('file', { [KEYS.type]: 'symlink', [KEYS.target]: '../a', [KEYS.mode]: '0600' }, 4), defaults)).toMatchObject({ kind: 'symlink', permissions: 0o777, target: '../a' });
    expect(decodePosix(entry('file', { [KEYS.type]: 'fifo' }), defaults).kind).toBe('fifo');
    expect(decodePosix(entry('file', { [KEYS.type]: 'socket' }), defaults).kind).toBe('socket');
    expect(decodePosix(entry('file', { [KEYS.type]: 'char', [KEYS.rdev]: '1:3' }), defaults)).toMatchObject({ kind: 'char-device', rdev: makeDevice(1, 3) });
    expect(decodePosix(entry('file', { [KEYS.type]: 'block', [KEYS.rdev]: '8:17' }), defaults)).toMatchObject({ kind: 'block-device', rdev: makeDevice(8, 17) });
  });

  test('what cannot be read is ignored: the default shows (a value edited by hand on the web)', () => {
    const odd = { [KEYS.mode]: 'rwxr-xr-x', [KEYS.uid]: '-1', [KEYS.gid]: '4294967295', [KEYS.type]: 'pipe', [KEYS.rdev]: 'sda' };
    expect(decodePosix(entry('file', odd), defaults)).toEqual({ kind: 'file', permissions: 0o644, uid: 1000, gid: 1000, rdev: 0, target: null });
    // A folder is a folder, whatever its metadata says.
    expect(decodePosix(entry('directory', { [KEYS.type]: 'symlink' }), defaults).kind).toBe('directory');
  });
});

describe('encodePosix', () => {
  const facts = decodePosix(entry('file'), defaults);

  test('writes only what differs from the defaults, and keeps every key not ours', () => {
    expect(encodePosix({}, facts, { permissions: 0o644, uid: 1000 }, defaults)).toEqual({});
    expect(encodePosix({ project: 'apollo' }, facts, { permissions: 0o755 }, defaults)).toEqual({ project: 'apollo', [KEYS.mode]: '0755' });
    expect(encodePosix({}, facts, { uid: 0, gid: 0 }, defaults)).toEqual({ [KEYS.uid]: '0', [KEYS.gid]: '0' });
    // Back to the default: the key goes.
    const executable = { [KEYS.mode]: '0755', other: '1' };
    expect(encodePosix(executable, decodePosix(entry('file', executable), defaults), { permissions: 0o644 }, defaults)).toEqual({ other: '1' });
  });

  test('types, devices and link targets', () => {
    expect(encodePosix({}, facts, { kind: 'fifo' }, defaults)).toEqual({ [KEYS.type]: 'fifo' });
    expect(encodePosix({}, facts, { kind: 'char-device', rdev: makeDevice(4, 64), permissions: 0o600 }, defaults))
      .toEqual({ [KEYS.type]: 'char', [KEYS.rdev]: '4:64', [KEYS.mode]: '0600' });
    expect(encodePosix({}, facts, { kind: 'symlink', target: 'a/b', permissions: 0o777 }, defaults)).toEqual({ [KEYS.type]: 'symlink', [KEYS.target]: 'a/b' });
    // A target longer than one value stays in the link's content only.
    expect(encodePosix({}, facts, { kind: 'symlink', target: 'x'.repeat(1025) }, defaults)).toEqual({ [KEYS.type]: 'symlink' });
  });

  test('device numbers as Linux encodes them', () => {
    for (const [major, minor] of [[1, 2], [8, 255], [259, 3], [4095, 1048575]] as const) {
      const dev = makeDevice(major, minor);
      expect([majorOf(dev), minorOf(dev)]).toEqual([major, minor]);
      expect(deviceFits(dev)).toBe(true);
    }
    expect(makeDevice(1, 2)).toBe(0x0102);
    expect(deviceFits(2 ** 40)).toBe(false);
  });

  test('sameMetadata compares keys and values', () => {
    expect(sameMetadata({ a: '1', b: '2' }, { b: '2', a: '1' })).toBe(true);
    expect(sameMetadata({ a: '1' }, { a: '1', b: '2' })).toBe(false);
    expect(sameMetadata({ a: '1' }, { a: '2' })).toBe(false);
  });
});

describe('extended attribute names and values', () => {
  test('namespaces', () => {
    expect(parseXattrName('user.project')).toEqual({ kind: 'user', key: 'project' });
    expect(parseXattrName('user.filesfs.md5')).toEqual({ kind: 'checksum', checksum: 'md5' });
    expect(parseXattrName('user.filesfs.upload')).toEqual({ kind: 'upload' });
    expect(parseXattrName('user.filesfs.mode')).toEqual({ kind: 'reserved' });
    expect(parseXattrName('security.capability')).toEqual({ kind: 'other' });
    expect(parseXattrName('system.posix_acl_access')).toEqual({ kind: 'other' });
    expect(parseXattrName('user.')).toEqual({ kind: 'other' });
  });

  test('the reserved keys are never listed', () => {
    expect(userAttributeNames({ project: 'a', [KEYS.mode]: '0755', 'filesfs.future': 'x', 'with space': 'y' })).toEqual(['user.project', 'user.with space']);
  });

  test('setxattr rules and Files.com\'s limits: EEXIST, ENODATA, E2BIG, ENOSPC, EINVAL', () => {
    const name = (k: string): string => `user.${k}`;
    expect(withUserValue({}, 'a', name('a'), Buffer.from('é'), 0)).toEqual({ a: 'é' });
    expect(withUserValue({}, 'a', name('a'), Buffer.alloc(0), 0)).toEqual({ a: '' });
    expect(() => withUserValue({ a: '1' }, 'a', name('a'), Buffer.from('2'), XATTR_CREATE)).toThrow(expect.objectContaining({ code: 'EEXIST' }));
    expect(withUserValue({ a: '1' }, 'a', name('a'), Buffer.from('2'), XATTR_REPLACE)).toEqual({ a: '2' });
    expect(() => withUserValue({}, 'a', name('a'), Buffer.from('2'), XATTR_REPLACE)).toThrow(expect.objectContaining({ code: 'ENODATA' }));
    // 1,024 characters (not bytes) fit; one more does not.
    expect(withUserValue({}, 'a', name('a'), Buffer.from('é'.repeat(1024)), 0).a).toHaveLength(1024);
    expect(() => withUserValue({}, 'a', name('a'), Buffer.from('x'.repeat(1025)), 0)).toThrow(expect.objectContaining({ code: 'E2BIG' }));
    const full = Object.fromEntries(Array.from({ length: 32 }, (_, i) => [`k${i}`, 'v']));
    expect(() => withUserValue(full, 'new', name('new'), Buffer.from('v'), 0)).toThrow(expect.objectContaining({ code: 'ENOSPC' }));
    expect(withUserValue(full, 'k0', name('k0'), Buffer.from('w'), 0).k0).toBe('w'); // replacing needs no new key
    expect(() => withUserValue({}, 'a', name('a'), Buffer.from([0xff, 0xfe]), 0)).toThrow(expect.objectContaining({ code: 'EINVAL' }));
    expect(withoutUserValue({ a: '1', b: '2' }, 'a', name('a'))).toEqual({ b: '2' });
    expect(() => withoutUserValue({}, 'a', name('a'))).toThrow(expect.objectContaining({ code: 'ENODATA' }));
  });
});
