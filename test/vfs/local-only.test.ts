// OS junk stays local (mock client): files whose names match the local-only
// patterns live in the cache dir, are created, read, written, listed, renamed
// and deleted there, survive a new mount of the same cache dir, and never
// reach the server; the server's copies of such names are hidden.
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { createLogger } from '../../src/log/logger.js';
import { FilesFilesystem } from '../../src/vfs/filesystem.js';
import { keepLocal } from '../../src/vfs/local-only/local-only-layer.js';
import { DEFAULT_LOCAL_ONLY, globToRegExp, LocalOnlyPatterns } from '../../src/vfs/local-only/patterns.js';
import { LocalOnlyStore } from '../../src/vfs/local-only/store.js';
import { WriteBack } from '../../src/vfs/write-back/write-back.js';
import { MockFilesClient } from '../support/mock-files-client.js';
import { expectErrno, readAll } from './helpers.js';
import { cacheDirFor, FAST, O_CREAT, O_RDWR, O_TRUNC, O_WRONLY, writeFile } from './write-back/helpers.js';

async function mount(client: MockFilesClient, cacheDir: string, globs: readonly string[] = DEFAULT_LOCAL_ONLY) {
  const logger = createLogger({ level: 'silent' });
  const writeBack = await WriteBack.open({ cacheDir, ...FAST, uploadDelayMs: 0 }, logger);
  const store = await LocalOnlyStore.open(cacheDir);
  const fs = new FilesFilesystem(client, { logger }, { writeLayer: keepLocal(writeBack.factory, store, new LocalOnlyPatterns(globs)) });
  writeBack.resume();
  return {
    fs,
    writeBack,
    async close() {
      await writeBack.drain();
      await writeBack.close();
      await store.close();
    },
  };
}

describe('local-only patterns', () => {
  it.each([
    ['.DS_Store', true], ['._report.pdf', true], ['Thumbs.db', true], ['thumbs.DB', true], ['desktop.ini', true], ['~$report.docx', true],
    ['.~lock.notes.odt#', true], ['.notes.txt.swp', true], ['.notes.txt.swx', true], ['.nfs000000001234', true],
    ['report.docx', false], ['DS_Store', false], ['notes.swp', false], ['a~$b', false],
  ])('%s → %s', (name, local) => {
    expect(new LocalOnlyPatterns(DEFAULT_LOCAL_ONLY).matches(name)).toBe(local);
  });

  it('globs: *, ?, [set], [!set]; no "/"', () => {
    expect(globToRegExp('*.t[mx]p').test('a.tmp')).toBe(true);
    expect(globToRegExp('file?.[!0-9]').test('file1.x')).toBe(true);
    expect(globToRegExp('file?.[!0-9]').test('file1.9')).toBe(false);
    expect(() => globToRegExp('a/b')).toThrow(/no "\/"/);
  });
});

describe('local-only files', () => {
  it('are created, written, listed, read, renamed and deleted locally; none reaches the server; they come back at the next mount', async () => {
    const client = new MockFilesClient();
    client.serverMkdirs('docs');
    const cacheDir = cacheDirFor();
    const first = await mount(client, cacheDir);
    await writeFile(first.fs, '/docs/.DS_Store', 'finder state');
    await writeFile(first.fs, '/docs/report.docx', 'the report');
    await writeFile(first.fs, '/docs/~$report.docx', 'owner: me');
    expect((await first.fs.readdir('/docs')).map((e) => e.name).sort()).toEqual(['.DS_Store', 'report.docx', '~$report.docx']);
    expect((await readAll(first.fs, '/docs/.ds_store')).toString()).toBe('finder state');
    await first.fs.rename('/docs/.DS_Store', '/.DS_Store');
    await first.fs.unlink('/docs/~$report.docx');
    await first.close();
    expect(client.serverPaths().sort()).toEqual(['docs', 'docs/report.docx']);
    expect(client.counts.upload).toBe(1);

    const second = await mount(client, cacheDir);
    expect((await readAll(second.fs, '/.DS_Store')).toString()).toBe('finder state');
    expect((await second.fs.readdir('/docs')).map((e) => e.name)).toEqual(['report.docx']);
    await second.fs.unlink('/.DS_Store');
    await second.close();
    expect(readdirSync(join(cacheDir, 'local-only')).filter((n) => n.endsWith('.data'))).toEqual([]);
  });

  it('hide the server\'s copies of such names (another client\'s .DS_Store is neither shown nor overwritten)', async () => {
    const client = new MockFilesClient();
    client.serverPut('Thumbs.db', 'someone else\'s');
    const m = await mount(client, cacheDirFor());
    expect((await m.fs.readdir('/')).map((e) => e.name)).toEqual([]);
    await expectErrno(m.fs.getattr('/Thumbs.db'), 'ENOENT');
    const fh = await m.fs.create('/Thumbs.db', 0o644, O_CREAT | O_WRONLY | O_TRUNC);
    await m.fs.write('/Thumbs.db', fh, Buffer.from('mine'), 0);
    await m.fs.release('/Thumbs.db', fh);
    await m.close();
    expect(client.serverRead('Thumbs.db').toString()).toBe('someone else\'s');
  });

  it('a rename between a local-only name and a shared one is EXDEV (mv copies instead)', async () => {
    const client = new MockFilesClient();
    const m = await mount(client, cacheDirFor());
    await writeFile(m.fs, '/.notes.txt.swp', 'swap');
    await writeFile(m.fs, '/notes.txt', 'notes');
    await expectErrno(m.fs.rename('/.notes.txt.swp', '/notes.bak'), 'EXDEV');
    await expectErrno(m.fs.rename('/notes.txt', '/.DS_Store'), 'EXDEV');
    await m.close();
    expect(client.serverPaths()).toEqual(['notes.txt']);
  });

  it('O_TRUNC, O_EXCL, truncate and utimens work on them', async () => {
    const m = await mount(new MockFilesClient(), cacheDirFor());
    await writeFile(m.fs, '/desktop.ini', 'long content');
    await expectErrno(m.fs.create('/desktop.ini', 0o644, O_CREAT | 0o200 | O_WRONLY), 'EEXIST');
    const fh = await m.fs.open('/desktop.ini', O_RDWR | O_TRUNC);
    await m.fs.write('/desktop.ini', fh, Buffer.from('ab'), 0);
    await m.fs.release('/desktop.ini', fh);
    await m.fs.truncate('/desktop.ini', 1);
    await m.fs.utimens('/desktop.ini', null, new Date('2001-01-01T00:00:00Z'));
    const attrs = await m.fs.getattr('/desktop.ini');
    expect(attrs.size).toBe(1);
    expect(attrs.mtime.toISOString()).toBe('2001-01-01T00:00:00.000Z');
    await m.close();
  });

  it('with no patterns (--no-local-only) such names are ordinary files', async () => {
    const client = new MockFilesClient();
    const m = await mount(client, cacheDirFor(), []);
    await writeFile(m.fs, '/.DS_Store', 'uploaded');
    await m.close();
    expect(client.serverRead('.DS_Store').toString()).toBe('uploaded');
  });
});
