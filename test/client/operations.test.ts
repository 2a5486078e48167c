// Every FilesClient operation against the emulator, over plain HTTP.
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import {
  BadRequestError, ContentChangedError, DestinationExistsError, FolderNotEmptyError, NotFoundError, ParentMissingError,
} from '../../src/client/errors.js';
import { testDir, useEmulator } from '../support/emulator.js';
import { API_KEY, clientFor, collect, MiB, patternChunk, sha256 } from './support.js';

async function collectPages<T>(pages: AsyncIterable<T[]>): Promise<T[][]> {
  const out: T[][] = [];
  for await (const page of pages) out.push(page);
  return out;
}

describe('client operations', () => {
  const emu = useEmulator({ apiKey: API_KEY });

  it('mkdir (with and without parents), stat, list of the root and of a folder', async () => {
    const c = clientFor(emu());
    const made = await c.mkdir('Ops/One/Two', { parents: true });
    expect(made).toMatchObject({ path: 'Ops/One/Two', name: 'Two', type: 'directory', size: 0 });
    await expect(c.mkdir('Ops/One/Two')).rejects.toBeInstanceOf(DestinationExistsError);
    await expect(c.mkdir('Ops/Missing/Three')).rejects.toBeInstanceOf(ParentMissingError);
    await expect(c.upload('Ops/Missing/f.txt', { buffer: Buffer.from('x') }, { mkdirParents: false })).rejects.toBeInstanceOf(ParentMissingError);
    await c.mkdir('Ops/Zed');
    expect(await c.stat('ops/ONE')).toMatchObject({ path: 'Ops/One', type: 'directory' });
    expect(await c.stat('')).toMatchObject({ path: '', type: 'directory' });
    expect(await collect(c.list(''))).toContain('Ops');
    expect(await collect(c.list('/ops/'))).toEqual(['Ops/One', 'Ops/Zed']);
    await expect(c.stat('Ops/nothing')).rejects.toBeInstanceOf(NotFoundError);
    const missing = c.list('Ops/nothing')[Symbol.asyncIterator]();
    await expect(missing.next()).rejects.toBeInstanceOf(NotFoundError);
  });

  it('uploads a buffer, a file, a stream of unknown size and 0 bytes; reads them back', async () => {
    const c = clientFor(emu());
    const progress: number[] = [];
    const small = await c.upload('Up/new folder/hello world.txt', { buffer: Buffer.from('hello, world') }, { mtime: new Date('2020-01-02T03:04:05.678Z'), onProgress: (n) => progress.push(n) });
    expect(small).toMatchObject({ path: 'Up/new folder/hello world.txt', type: 'file', size: 12 });
    expect(small.mtime.toISOString()).toBe('2020-01-02T03:04:05.000Z');
    expect(progress).toEqual([12]);

    const dir = testDir('client-up-');
    const local = join(dir, 'eleven-mib.bin');
    const data = patternChunk(0, 11 * MiB + 123, 3);
    await writeFile(local, data);
    const seen: number[] = [];
    const fromFile = await c.upload('Up/eleven.bin', { file: local }, { onProgress: (n, total) => { seen.push(n); expect(total).toBe(data.length); } });
    expect(fromFile.size).toBe(data.length);
    expect(seen.sort((a, b) => a - b).at(-1)).toBe(data.length);
    expect(seen).toHaveLength(3); // 5 MiB + 5 MiB + 1 MiB and change

    const chunks = [patternChunk(0, 4 * MiB, 5), patternChunk(4 * MiB, 4 * MiB, 5), patternChunk(8 * MiB, 77, 5)];
    const fromStream = await c.upload('Up/stream.bin', { stream: Readable.from(chunks) });
    expect(fromStream.size).toBe(8 * MiB + 77);

    const empty = await c.upload('Up/empty', { buffer: new Uint8Array(0) });
    expect(empty.size).toBe(0);
    const emptyStream = await c.upload('Up/empty-stream', { stream: Readable.from([]) });
    expect(emptyStream.size).toBe(0);

    expect((await c.readRange('up/NEW FOLDER/Hello World.txt', 7, 100)).toString()).toBe('world');
    expect((await c.readRange('Up/new folder/hello world.txt', 0, 5)).toString()).toBe('hello');
    expect(await c.readRange('Up/new folder/hello world.txt', 12, 10)).toHaveLength(0);
    expect(await c.readRange('Up/new folder/hello world.txt', 500, 10)).toHaveLength(0);
    expect(await c.readRange('Up/empty', 0, 10)).toHaveLength(0);
    expect((await c.readRange('Up/eleven.bin', 5 * MiB - 10, 20)).equals(data.subarray(5 * MiB - 10, 5 * MiB + 10))).toBe(true);
    expect(await sha256(await c.createReadStream('Up/eleven.bin'))).toBe(await sha256([data]));
    expect(await sha256(await c.createReadStream('Up/eleven.bin', { offset: 1000, length: 6 * MiB }))).toBe(await sha256([data.subarray(1000, 1000 + 6 * MiB)]));
    expect(await sha256(await c.createReadStream('Up/stream.bin'))).toBe(await sha256(chunks));
    expect(await sha256(await c.createReadStream('Up/empty'))).toBe(await sha256([]));
    await expect(c.readRange('Up', 0, 1)).rejects.toBeInstanceOf(BadRequestError);
    await expect(c.readRange('Up/none', 0, 1)).rejects.toBeInstanceOf(NotFoundError);
  });

  it('overwrites a file and surfaces the change to a reader of the old version', async () => {
    let skew = 0; // the client's clock, pushed ahead to expire its cached URL
    const c = clientFor(emu(), { now: () => Date.now() + skew });
    const other = clientFor(emu());
    await c.upload('Ver/file.txt', { buffer: Buffer.from('version one') });
    expect((await c.readRange('Ver/file.txt', 0, 7)).toString()).toBe('version');
    await other.upload('Ver/file.txt', { buffer: Buffer.from('second version, longer') });
    // The cached URL is bound to version one (the emulator keeps it alive): still consistent.
    expect((await c.readRange('Ver/file.txt', 8, 3)).toString()).toBe('one');
    // Once the URL expires, the refreshed one is for other content: reported, once.
    skew = 3_600_000;
    await expect(c.readRange('Ver/file.txt', 0, 6)).rejects.toBeInstanceOf(ContentChangedError);
    expect((await c.readRange('Ver/file.txt', 0, 6)).toString()).toBe('second');
    // invalidateDownload (the caller knows it changed) and our own uploads raise nothing.
    await other.upload('Ver/file.txt', { buffer: Buffer.from('third') });
    c.invalidateDownload('VER/FILE.TXT');
    expect((await c.readRange('Ver/file.txt', 0, 100)).toString()).toBe('third');
    await c.upload('Ver/file.txt', { buffer: Buffer.from('fourth!') });
    expect((await c.readRange('Ver/file.txt', 0, 100)).toString()).toBe('fourth!');
  });

  it('update: custom_metadata (replaced whole) and the time in one PATCH, on files and folders, shown by stat and listings', async () => {
    const c = clientFor(emu());
    await c.upload('Upd/f.txt', { buffer: Buffer.from('f') });
    const t = new Date('2012-01-02T03:04:05Z');
    const both = await c.update('Upd/f.txt', { mtime: t, customMetadata: { 'filesfs.mode': '0755', project: 'apollo' } });
    expect(both).toMatchObject({ mtime: t, customMetadata: { 'filesfs.mode': '0755', project: 'apollo' } });
    expect((await c.update('Upd/f.txt', { customMetadata: { project: 'gemini' } })).customMetadata).toEqual({ project: 'gemini' });
    expect((await c.stat('upd/F.TXT')).customMetadata).toEqual({ project: 'gemini' });
    expect((await c.stat('Upd/f.txt')).mtime).toEqual(t); // left as it was
    expect((await c.update('Upd', { customMetadata: { 'filesfs.mode': '0700' } })).customMetadata).toEqual({ 'filesfs.mode': '0700' });
    const [page] = await collectPages(c.list(''));
    expect(page!.find((e) => e.path === 'Upd')!.customMetadata).toEqual({ 'filesfs.mode': '0700' });
    expect((await c.update('Upd/f.txt', { customMetadata: {} })).customMetadata).toEqual({});
    await expect(c.update('Upd/missing', { customMetadata: {} })).rejects.toBeInstanceOf(NotFoundError);
  });

  it('setMtime, move (file and folder, overwrite), copy and delete', async () => {
    const c = clientFor(emu());
    await c.upload('Mv/a.txt', { buffer: Buffer.from('aaa') });
    await c.upload('Mv/sub/b.txt', { buffer: Buffer.from('bbb') });
    const t = new Date('2011-12-13T14:15:16Z');
    expect((await c.setMtime('Mv/a.txt', t)).mtime).toEqual(t);
    expect((await c.setMtime('Mv/sub', t)).providedMtime).toEqual(t);
    expect((await c.stat('Mv/a.txt')).mtime).toEqual(t);

    await c.move('Mv/a.txt', 'Mv/renamed.txt');
    await expect(c.stat('Mv/a.txt')).rejects.toBeInstanceOf(NotFoundError);
    expect((await c.readRange('Mv/renamed.txt', 0, 10)).toString()).toBe('aaa');
    await c.move('Mv/renamed.txt', 'Mv/RENAMED.TXT');
    expect((await c.stat('mv/renamed.txt')).name).toBe('RENAMED.TXT');

    await c.copy('Mv/sub', 'Mv/sub copy');
    expect(await collect(c.list('Mv/sub copy'))).toEqual(['Mv/sub copy/b.txt']);
    await c.move('Mv/sub', 'Mv/moved sub');
    expect(await collect(c.list('Mv'))).toEqual(['Mv/moved sub', 'Mv/sub copy', 'Mv/RENAMED.TXT']);
    await expect(c.move('Mv/RENAMED.TXT', 'Mv/no/such/dir/x.txt')).rejects.toBeInstanceOf(ParentMissingError);
    await expect(c.copy('Mv/RENAMED.TXT', 'Mv/moved sub/b.txt')).rejects.toBeInstanceOf(DestinationExistsError);
    await c.copy('Mv/RENAMED.TXT', 'Mv/moved sub/b.txt', { overwrite: true });
    expect((await c.readRange('Mv/moved sub/b.txt', 0, 10)).toString()).toBe('aaa');
    await expect(c.move('Mv/none', 'Mv/x')).rejects.toBeInstanceOf(NotFoundError);

    await expect(c.delete('Mv/moved sub')).rejects.toBeInstanceOf(FolderNotEmptyError);
    await c.delete('Mv/moved sub/b.txt');
    await c.delete('Mv/moved sub');
    await c.delete('Mv', { recursive: true });
    await expect(c.stat('Mv')).rejects.toBeInstanceOf(NotFoundError);
    await expect(c.delete('Mv')).rejects.toBeInstanceOf(NotFoundError);
  });

  it('aborts an upload and a read through the signal', async () => {
    const c = clientFor(emu());
    const ac = new AbortController();
    const big = Readable.from((function* () { for (let i = 0; i < 64; i++) yield patternChunk(i * MiB, MiB); })());
    const p = c.upload('Abort/big.bin', { stream: big }, { signal: ac.signal });
    setTimeout(() => ac.abort(new Error('user cancelled')), 20);
    await expect(p).rejects.toThrow('user cancelled');
    await expect(c.stat('Abort/big.bin')).rejects.toBeInstanceOf(NotFoundError);
    const aborted = AbortSignal.abort(new Error('early'));
    await expect(c.stat('Abort', { signal: aborted })).rejects.toThrow('early');
  });
});

