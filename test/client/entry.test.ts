import { describe, expect, it } from 'vitest';
import { parseEntry, parseEntryList } from '../../src/client/entry.js';
import { ServerError } from '../../src/client/errors.js';
import { encodeRemotePath, routeFor } from '../../src/client/api-path.js';
import { parseContentRange } from '../../src/client/download.js';

describe('parseEntry', () => {
  it('maps a file entry as recorded from the API (docs/files-api.md §2)', () => {
    const e = parseEntry({
      path: 'Reports/Q1.pdf', display_name: 'Q1.pdf', type: 'file', size: 9, mtime: '2024-05-30T15:30:59Z',
      provided_mtime: '2010-11-17T20:34:58Z', created_at: '2024-05-30T15:30:58Z', crc32: null, md5: 'abc', sha1: null, sha256: 'f00d', permissions: 'lrwd', 'subfolders_locked?': null,
      custom_metadata: { project: 'apollo', 'filesfs.mode': '0755' },
    });
    expect(e).toEqual({
      path: 'Reports/Q1.pdf', name: 'Q1.pdf', type: 'file', size: 9,
      mtime: new Date('2010-11-17T20:34:58Z'), serverMtime: new Date('2024-05-30T15:30:59Z'), providedMtime: new Date('2010-11-17T20:34:58Z'),
      createdAt: new Date('2024-05-30T15:30:58Z'), md5: 'abc', crc32: null, sha1: null, sha256: 'f00d', permissions: 'lrwd',
      customMetadata: { project: 'apollo', 'filesfs.mode': '0755' },
    });
  });

  it('keeps custom_metadata as text: numbers and booleans as their text, nested values left out, none when absent', () => {
    expect(parseEntry({ path: 'x', type: 'file', custom_metadata: { n: 3, b: false, s: 'x', o: { a: 1 }, l: [1], z: null } }).customMetadata)
      .toEqual({ n: '3', b: 'false', s: 'x' });
    expect(parseEntry({ path: 'x', type: 'file' }).customMetadata).toEqual({});
    expect(parseEntry({ path: 'x', type: 'file', custom_metadata: [] }).customMetadata).toEqual({});
  });

  it('uses mtime when no provided_mtime; folders have size 0; name from the path', () => {
    const d = parseEntry({ path: 'a/b', type: 'directory', size: null, mtime: '2024-05-30T15:30:59Z', provided_mtime: null });
    expect(d).toMatchObject({ name: 'b', type: 'directory', size: 0, mtime: new Date('2024-05-30T15:30:59Z'), providedMtime: null });
    expect(parseEntry({ path: 'x', type: 'file', size: '12' }).size).toBe(12);
    expect(parseEntry({ path: 'x', type: 'file' }).mtime).toEqual(new Date(0));
  });

  it('rejects what a filesystem cannot use', () => {
    expect(() => parseEntry(null)).toThrow(ServerError);
    expect(() => parseEntry({ type: 'file' })).toThrow(/no path/);
    expect(() => parseEntry({ path: 'x', type: 'symlink' })).toThrow(/type/);
    expect(() => parseEntryList({})).toThrow(/not an array/);
    expect(parseEntryList([{ path: 'a', type: 'file' }])).toHaveLength(1);
  });
});

describe('paths in URLs', () => {
  it('encodes per segment, keeps slashes, normalizes first', () => {
    expect(encodeRemotePath('')).toBe('');
    expect(encodeRemotePath('/a//b/')).toBe('a/b');
    expect(encodeRemotePath('Q1 2024/r&d+x?.txt')).toBe('Q1%202024/r%26d%2Bx%3F.txt');
    expect(encodeRemotePath('ünï/%41#')).toBe('%C3%BCn%C3%AF/%2541%23');
    expect(routeFor('/folders', '')).toBe('/folders/');
    expect(routeFor('/files', 'a\\b')).toBe('/files/a/b');
  });
});

describe('parseContentRange', () => {
  it('reads ranges, unknown totals and unsatisfied ranges', () => {
    expect(parseContentRange('bytes 0-9/100')).toEqual({ start: 0, end: 9, total: 100 });
    expect(parseContentRange('bytes 5-9/*')).toEqual({ start: 5, end: 9, total: null });
    expect(parseContentRange('bytes */100')).toEqual({ start: null, end: null, total: 100 });
    expect(parseContentRange('items 0-1/2')).toBeNull();
    expect(parseContentRange(undefined)).toBeNull();
  });
});
