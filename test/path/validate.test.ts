import { describe, expect, it } from 'vitest';
import { MAX_NAME_CHARS, MAX_PATH_CHARS, ancestors, baseName, joinPath, parentPath, validateName, validatePath } from '../../src/path/index.js';

describe('validateName', () => {
  it.each([
    ['', 'empty'],
    ['.', 'dot-segment'],
    ['..', 'dot-segment'],
    ['a\\b', 'forbidden-character'],
    ['a\0b', 'forbidden-character'],
    ['a/b', 'forbidden-character'],
    ['trailing ', 'trailing-whitespace'],
    ['tab\t', 'trailing-whitespace'],
    ['cr\r', 'trailing-whitespace'],
    ['lf\n', 'trailing-whitespace'],
    ['x'.repeat(MAX_NAME_CHARS + 1), 'name-too-long'],
  ])('%j is refused as %s', (name, reason) => expect(validateName(name)?.reason).toBe(reason));

  it.each([' leading', 'in side', 'ünïcödé', 'x'.repeat(MAX_NAME_CHARS), '...', 'a.b.'])('%j is accepted', (name) =>
    expect(validateName(name)).toBeNull());
});

describe('validatePath', () => {
  it('checks every segment', () => {
    expect(validatePath('/ok/bad /x')?.reason).toBe('trailing-whitespace');
    expect(validatePath('/a/./b')?.reason).toBe('dot-segment');
    expect(validatePath('/a/b/c')).toBeNull();
    expect(validatePath('/')).toBeNull();
  });
  it('limits the whole path', () => {
    const long = Array.from({ length: 12 }, () => 'y'.repeat(450)).join('/');
    expect(long.length).toBeGreaterThan(MAX_PATH_CHARS);
    expect(validatePath(long)?.reason).toBe('path-too-long');
  });
});

describe('remote path helpers', () => {
  it('join, parent, base name, ancestors', () => {
    expect(joinPath('/a/', 'b//c')).toBe('a/b/c');
    expect(joinPath('', 'x')).toBe('x');
    expect(parentPath('a/b/c')).toBe('a/b');
    expect(parentPath('a')).toBe('');
    expect(parentPath('')).toBe('');
    expect(baseName('/a/b/c.txt')).toBe('c.txt');
    expect(baseName('')).toBe('');
    expect(ancestors('a/b/c')).toEqual(['a', 'a/b']);
    expect(ancestors('a')).toEqual([]);
  });
});
