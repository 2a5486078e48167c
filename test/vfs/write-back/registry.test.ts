// The pending-file registry's folder index: which folders directly inside a
// folder hold pending entries below them (what a listing and a link count add
// to the server's view), kept by parent as files come and go, checked against
// a scan of the pending paths after every step of random add/remove runs.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { keyOf } from '../../../src/vfs/path-mapper.js';
import type { PendingFile } from '../../../src/vfs/write-back/pending-file.js';
import { PendingFiles } from '../../../src/vfs/write-back/registry.js';

/** The registry reads only a file's path and key. */
const fileAt = (path: string): PendingFile => ({ path, key: keyOf(path) }) as unknown as PendingFile;

/** Folders directly inside `dir` that have one of `paths` below them (keys), by scanning every path. */
function scanned(paths: readonly string[], dir: string): string[] {
  const prefix = dir === '' ? '' : keyOf(dir) + '/';
  const out = new Set<string>();
  for (const path of paths) {
    const key = keyOf(path);
    if (!key.startsWith(prefix)) continue;
    const cut = key.indexOf('/', prefix.length);
    if (cut !== -1) out.add(key.slice(0, cut));
  }
  return [...out].sort();
}

const shown = (files: PendingFiles, dir: string): string[] => files.foldersWithPendingIn(dir).map(keyOf).sort();

describe('PendingFiles: folders with pending entries, by parent', () => {
  it('keeps the first spelling, matches case-insensitively, and forgets a folder once nothing is pending below it', () => {
    const files = new PendingFiles();
    const deep = fileAt('Docs/Reports/q1.txt');
    const other = fileAt('docs/Mail/a.eml');
    const top = fileAt('top.txt');
    for (const f of [deep, other, top]) files.add(f);
    expect(files.foldersWithPendingIn('')).toEqual(['Docs']);
    expect(files.foldersWithPendingIn('DOCS').sort()).toEqual(['Docs/Reports', 'docs/Mail'].sort());
    expect(files.foldersWithPendingIn('docs/reports')).toEqual([]);
    files.delete(deep);
    expect(files.foldersWithPendingIn('docs')).toEqual(['docs/Mail']);
    files.delete(other);
    expect(files.foldersWithPendingIn('')).toEqual([]);
    expect(files.foldersWithPendingIn('docs')).toEqual([]);
    expect(files.pendingBelow('docs')).toBeUndefined();
  });

  it('answers what a scan of the pending paths would, after any sequence of adds and removes', () => {
    const segment = fc.constantFrom('a', 'A', 'b', 'é', 'É', 'e\u0301');
    const path = fc.array(segment, { minLength: 1, maxLength: 4 }).map((s) => s.join('/'));
    const step = fc.record({ add: fc.boolean(), path });
    fc.assert(
      fc.property(fc.array(step, { maxLength: 40 }), (steps) => {
        const files = new PendingFiles();
        const live = new Map<string, PendingFile>();
        for (const { add, path: p } of steps) {
          const existing = live.get(keyOf(p));
          if (add && !existing) {
            const f = fileAt(p);
            files.add(f);
            live.set(f.key, f);
          } else if (!add && existing) {
            files.delete(existing);
            live.delete(existing.key);
          }
          const paths = [...live.values()].map((f) => f.path);
          for (const dir of ['', 'a', 'b', 'é', 'a/b', 'a/a', 'e\u0301/b']) expect(shown(files, dir)).toEqual(scanned(paths, dir));
        }
      }),
      { numRuns: 300 },
    );
  });
});
