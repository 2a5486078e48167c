// Content writes: EROFS until write-back lands; and the seam write-back
// plugs into (a WriteLayer), exercised with a small in-memory stand-in.
import { describe, expect, it } from 'vitest';
import type { RemoteEntry } from '../../src/client/files-client.js';
import type { FileAttributes } from '../../src/vfs/filesystem-api.js';
import type { VfsContext } from '../../src/vfs/filesystem.js';
import { FsError } from '../../src/vfs/fs-error.js';
import type { FileHandle } from '../../src/vfs/handles/file-handle.js';
import { keyOf } from '../../src/vfs/path-mapper.js';
import { ReadOnlyWrites, type WriteLayer } from '../../src/vfs/writes.js';
import { expectErrno, O_CREAT, O_EXCL, O_RDONLY, O_RDWR, O_TRUNC, O_WRONLY, readAll, setup } from './helpers.js';

describe('until write-back lands, content writes fail with EROFS', () => {
  it.each([
    ['O_WRONLY', O_WRONLY],
    ['O_RDWR', O_RDWR],
    ['O_RDONLY|O_TRUNC', O_RDONLY | O_TRUNC],
    ['O_WRONLY|O_TRUNC', O_WRONLY | O_TRUNC],
  ])('open(%s) of an existing file → EROFS', async (_name, flags) => {
    const { fs, client } = setup();
    client.serverPut('f', 'x');
    await expectErrno(fs.open('/f', flags), 'EROFS');
    expect(fs.openHandles.files).toBe(0);
  });

  it('create → EROFS (EEXIST first with O_EXCL on an existing name, ENOENT for a missing parent)', async () => {
    const { fs, client } = setup();
    client.serverPut('f', 'x');
    await expectErrno(fs.create('/new.txt', 0o644, O_CREAT | O_WRONLY), 'EROFS');
    await expectErrno(fs.create('/F', 0o644, O_CREAT | O_WRONLY), 'EROFS');
    await expectErrno(fs.create('/F', 0o644, O_CREAT | O_EXCL | O_WRONLY), 'EEXIST');
    await expectErrno(fs.create('/nope/x', 0o644, O_CREAT | O_WRONLY), 'ENOENT');
    expect(client.counts.upload).toBe(0);
  });

  it('truncate and ftruncate → EROFS; write through a read handle → EBADF', async () => {
    const { fs, client } = setup();
    client.serverPut('f', 'x');
    await expectErrno(fs.truncate('/f', 0), 'EROFS');
    await expectErrno(fs.truncate('/missing', 0), 'ENOENT');
    const fh = await fs.open('/f', O_RDONLY);
    await expectErrno(fs.ftruncate('/f', fh, 0), 'EROFS');
    await expectErrno(fs.write('/f', fh, Buffer.from('y'), 0), 'EBADF');
    await expectErrno(fs.write('/f', 999, Buffer.from('y'), 0), 'EBADF');
    expect(client.serverRead('f').toString()).toBe('x');
  });

  it('flush and fsync of a read handle succeed (nothing to write)', async () => {
    const { fs, client } = setup();
    client.serverPut('f', 'x');
    const fh = await fs.open('/f', O_RDONLY);
    await fs.flush('/f', fh);
    await fs.fsync('/f', fh, false);
    await fs.release('/f', fh);
  });

  it('ReadOnlyWrites has no local state', () => {
    const w = new ReadOnlyWrites();
    expect(w.localEntry()).toBeUndefined();
    expect(w.localChildren()).toEqual([]);
  });
});

/** A minimal stand-in for write-back: pending files held in memory. */
class MemoryWrites implements WriteLayer {
  readonly pending = new Map<string, { entry: RemoteEntry; data: Buffer }>();
  readonly events: string[] = [];
  constructor(private readonly ctx: VfsContext) {}

  localEntry(path: string): RemoteEntry | undefined {
    return this.pending.get(keyOf(path))?.entry;
  }
  localChildren(dir: string): RemoteEntry[] {
    return [...this.pending.values()].map((p) => p.entry).filter((e) => keyOf(e.path.split('/').slice(0, -1).join('/')) === keyOf(dir));
  }
  localFoldersIn(): RemoteEntry[] {
    return [];
  }
  unpublishedFolder(): boolean {
    return false;
  }
  impliedFolder(): undefined {
    return undefined;
  }
  impliedChildren(): RemoteEntry[] {
    return [];
  }
  async mkdir(): Promise<null> {
    return null;
  }
  async rmdir(): Promise<boolean> {
    return false;
  }
  async openRead(entry: RemoteEntry): Promise<FileHandle | undefined> {
    const p = this.pending.get(keyOf(entry.path));
    return p ? this.handle(entry.path) : undefined;
  }
  async openWrite(entry: RemoteEntry): Promise<FileHandle> {
    // Write-back would fetch the content first (no O_TRUNC); the stand-in starts empty.
    this.put(entry.path, Buffer.alloc(0));
    return this.handle(entry.path);
  }
  async create(path: string): Promise<FileHandle> {
    this.put(path, Buffer.alloc(0));
    return this.handle(path);
  }
  async truncate(entry: RemoteEntry, size: number): Promise<void> {
    this.put(entry.path, Buffer.alloc(size));
  }
  async unlink(entry: RemoteEntry): Promise<boolean> {
    this.events.push(`unlink ${entry.path}`);
    // Pending files of this stand-in were never on the server (landing removes them).
    return this.pending.delete(keyOf(entry.path));
  }
  async rename(from: RemoteEntry, to: string): Promise<boolean> {
    this.events.push(`rename ${from.path} → ${to}`);
    const p = this.pending.get(keyOf(from.path));
    if (!p) return false;
    this.pending.delete(keyOf(from.path));
    this.put(to, p.data);
    return true;
  }
  renamed(from: string, to: string): void {
    this.events.push(`renamed ${from} → ${to}`);
  }
  async setMtime(entry: RemoteEntry, mtime: Date): Promise<boolean> {
    const p = this.pending.get(keyOf(entry.path));
    if (!p) return false;
    p.entry = { ...p.entry, mtime };
    return true;
  }

  async setMetadata(entry: RemoteEntry, metadata: Readonly<Record<string, string>>): Promise<boolean> {
    const p = this.pending.get(keyOf(entry.path));
    if (!p) return false;
    p.entry = { ...p.entry, customMetadata: metadata };
    return true;
  }

  /** The upload queue's job, here synchronous: put it on the server and tell the filesystem. */
  async land(path: string, upload: (path: string, data: Buffer) => Promise<RemoteEntry>, landed: (e: RemoteEntry) => void): Promise<void> {
    const p = this.pending.get(keyOf(path))!;
    const entry = await upload(p.entry.path, p.data);
    this.pending.delete(keyOf(path));
    landed(entry);
  }

  private put(path: string, data: Buffer): void {
    const name = path.slice(path.lastIndexOf('/') + 1);
    const entry: RemoteEntry = { path, name, type: 'file', size: data.length, mtime: new Date(this.ctx.options.clock()), serverMtime: null, providedMtime: null, createdAt: null, md5: null, crc32: null, permissions: null };
    this.pending.set(keyOf(path), { entry, data });
  }

  private handle(path: string): FileHandle {
    const self = this;
    return {
      get remotePath() { return path; },
      async getattr(): Promise<FileAttributes> { return self.ctx.attributes(self.pending.get(keyOf(path))!.entry); },
      async read(buffer: Buffer, position: number) { return self.pending.get(keyOf(path))!.data.copy(buffer, 0, position); },
      async write(buffer: Buffer, position: number) {
        const p = self.pending.get(keyOf(path))!;
        const data = Buffer.alloc(Math.max(p.data.length, position + buffer.length));
        p.data.copy(data);
        buffer.copy(data, position);
        p.data = data;
        p.entry = { ...p.entry, size: data.length };
        return buffer.length;
      },
      async truncate(size: number) { self.put(path, self.pending.get(keyOf(path))!.data.subarray(0, size)); },
      async flush() {},
      async fsync() {},
      async release() {},
    };
  }
}

describe('the write-back seam', () => {
  function withMemoryWrites() {
    let writes!: MemoryWrites;
    const s = setup({}, {}, { writeLayer: (ctx) => (writes = new MemoryWrites(ctx)) });
    return { ...s, writes };
  }

  it('a pending file shows its local size in getattr and readdir, and reads come from it', async () => {
    const { fs, client, writes } = withMemoryWrites();
    client.serverPut('d/server.txt', 'on the server');
    await fs.readdir('/d');
    const fh = await fs.create('/d/new.txt', 0o644, O_CREAT | O_WRONLY);
    expect(await fs.write('/d/new.txt', fh, Buffer.from('local bytes'), 0)).toBe(11);
    await fs.release('/d/new.txt', fh);
    expect((await fs.getattr('/d/NEW.txt')).size).toBe(11);
    expect((await fs.readdir('/d')).map((e) => [e.name, e.attributes.size])).toEqual([['server.txt', 13], ['new.txt', 11]]);
    expect((await readAll(fs, '/d/new.txt')).toString()).toBe('local bytes');
    expect(client.counts.readRange).toBe(0);
    expect(writes.pending.size).toBe(1);
  });

  it('when the upload lands, remoteChanged makes the server entry visible and reads go to the server', async () => {
    const { fs, client, writes } = withMemoryWrites();
    const fh = await fs.create('/up.txt', 0o644, O_CREAT | O_WRONLY);
    await fs.write('/up.txt', fh, Buffer.from('uploaded'), 0);
    await fs.release('/up.txt', fh);
    await writes.land('up.txt', (p, d) => client.upload(p, { buffer: d }), (e) => fs.remoteChanged(e));
    client.resetCounts();
    expect((await fs.getattr('/up.txt')).size).toBe(8);
    expect(client.counts.stat).toBe(0);
    expect((await readAll(fs, '/up.txt')).toString()).toBe('uploaded');
    expect(client.counts.readRange).toBe(1);
  });

  it('a folder with only pending files is not empty for rmdir', async () => {
    const { fs, client } = withMemoryWrites();
    client.serverMkdirs('d');
    await fs.readdir('/d');
    await fs.create('/d/p', 0o644, O_CREAT | O_WRONLY);
    await expectErrno(fs.rmdir('/d'), 'ENOTEMPTY');
    expect(client.counts.delete).toBe(0);
  });

  it('namespace operations consult the write layer first (unlink, rename, utimens) and report server moves', async () => {
    const { fs, client, writes } = withMemoryWrites();
    client.serverMkdirs('dir');
    await fs.create('/tmp.swp', 0o644, O_CREAT | O_WRONLY);
    await fs.rename('/tmp.swp', '/doc.txt'); // editor save: only local, no server move
    expect(client.counts.move).toBe(0);
    expect(writes.events).toContain('rename tmp.swp → doc.txt');
    await expectErrno(fs.getattr('/tmp.swp'), 'ENOENT');
    expect((await fs.getattr('/doc.txt')).kind).toBe('file');
    const when = new Date('2005-05-05T05:05:05Z');
    await fs.utimens('/doc.txt', null, when);
    expect(client.counts.setMtime).toBe(0);
    expect((await fs.getattr('/doc.txt')).mtime).toEqual(when);
    await fs.rename('/dir', '/dir2'); // a server folder: moved on the server, then reported
    expect(writes.events).toContain('renamed dir → dir2');
    await fs.unlink('/doc.txt');
    expect(writes.events).toContain('unlink doc.txt');
    expect(client.counts.delete).toBe(0);
    await expectErrno(fs.getattr('/doc.txt'), 'ENOENT');
  });

  it('writes are refused on a read-only mount before the write layer is asked', async () => {
    let asked = false;
    const layer = new ReadOnlyWrites();
    const s = setup({ readOnly: true }, {}, {
      writeLayer: () => Object.assign(layer, { create: async () => { asked = true; throw new FsError('EIO'); } }),
    });
    await expectErrno(s.fs.create('/x', 0o644, O_CREAT | O_WRONLY), 'EROFS');
    expect(asked).toBe(false);
  });
});
