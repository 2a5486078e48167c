// A file open for reading sees what programs here write to it, as on a local
// disk (the reader opened the server's version; the change is local, then
// lands), but not the file a rename puts at its path once it was unlinked.
import { describe, expect, it } from 'vitest';
import { MockFilesClient } from '../../support/mock-files-client.js';
import { mockSetup, O_APPEND, O_RDONLY, O_TRUNC, O_WRONLY, until, writeFile } from './helpers.js';

async function pread(fs: Awaited<ReturnType<typeof mockSetup>>['fs'], path: string, fh: number, length: number, position: number): Promise<string> {
  const buf = Buffer.alloc(length);
  const n = await fs.read(path, fh, buf, position);
  return buf.subarray(0, n).toString();
}

describe('readers follow the changes made here', () => {
  it('a reader of the server version sees a rewrite (O_TRUNC) and an append made here, before and after they land', async () => {
    const client = new MockFilesClient();
    client.serverPut('f', 'V'.repeat(3000));
    client.serverPut('log', 'line1\n');
    const { fs, writeBack } = await mockSetup({ client, writeBack: { uploadDelayMs: 0 } });
    const r = await fs.open('/f', O_RDONLY);
    expect(await pread(fs, '/f', r, 1, 0)).toBe('V');
    await writeFile(fs, '/f', 'N'.repeat(10), { flags: O_WRONLY | O_TRUNC });
    expect((await fs.fgetattr('/f', r)).size).toBe(10);
    expect(await pread(fs, '/f', r, 100, 0)).toBe('N'.repeat(10));
    await writeBack.drain();
    await until(() => writeBack.status().pendingUploads === 0, 5_000, 'landed');
    expect(await pread(fs, '/f', r, 100, 0)).toBe('N'.repeat(10));
    await fs.release('/f', r);

    // tail -f: read to the end, then another program here appends.
    const t = await fs.open('/log', O_RDONLY);
    expect(await pread(fs, '/log', t, 100, 0)).toBe('line1\n');
    for (const line of ['line2\n', 'line3\n']) {
      const w = await fs.open('/log', O_WRONLY | O_APPEND);
      await fs.write('/log', w, Buffer.from(line), 0);
      await fs.flush('/log', w);
      await fs.release('/log', w);
    }
    expect((await fs.fgetattr('/log', t)).size).toBe(18);
    expect(await pread(fs, '/log', t, 100, 6)).toBe('line2\nline3\n');
    await writeBack.drain();
    await until(() => writeBack.status().pendingUploads === 0, 5_000, 'landed');
    expect(await pread(fs, '/log', t, 100, 0)).toBe('line1\nline2\nline3\n');
    await fs.release('/log', t);
  });

  it('a reader whose file was renamed over keeps its file: its size and bytes, not the new file\'s', async () => {
    const client = new MockFilesClient();
    client.serverPut('d/victim', 'V'.repeat(3000));
    client.serverPut('d/src', 'S'.repeat(10));
    const { fs } = await mockSetup({ client, writeBack: { uploadDelayMs: 0 } });
    const r = await fs.open('/d/victim', O_RDONLY);
    expect(await pread(fs, '/d/victim', r, 1, 0)).toBe('V');
    // What libfuse does for a rename over an open file: the open one goes to a hidden name first.
    const hidden = '/d/.fuse_hidden0000000a00000001';
    await fs.rename('/d/victim', hidden);
    await fs.rename('/d/src', '/d/victim');
    expect((await fs.fgetattr(hidden, r)).size).toBe(3000);
    expect((await fs.fgetattr(hidden, r)).nlink).toBe(0);
    expect(await pread(fs, hidden, r, 4000, 0)).toBe('V'.repeat(3000));
    await fs.release(hidden, r);
    expect(client.serverRead('d/victim').toString()).toBe('S'.repeat(10));
  });
});

describe('files unlinked while open', () => {
  it('keep answering fstat after their folder is renamed', async () => {
    const { fs } = await mockSetup({ writeBack: { uploadDelayMs: 60_000 } });
    await fs.mkdir('/dir', 0o755);
    await writeFile(fs, '/dir/f', 'hello');
    const fh = await fs.open('/dir/f', O_RDONLY);
    expect(await pread(fs, '/dir/f', fh, 5, 0)).toBe('hello');
    const hidden = '/dir/.fuse_hidden0000000b00000001';
    await fs.rename('/dir/f', hidden); // libfuse's unlink of an open file
    await fs.rename('/dir', '/dir2');
    const moved = '/dir2/.fuse_hidden0000000b00000001';
    expect(await fs.getattr(moved)).toMatchObject({ size: 5, nlink: 0 });
    expect(await fs.fgetattr(moved, fh)).toMatchObject({ size: 5, nlink: 0 });
    expect(await pread(fs, moved, fh, 5, 0)).toBe('hello');
    await fs.release(moved, fh);
    await fs.unlink(moved);
    await expect(fs.getattr(moved)).rejects.toMatchObject({ code: 'ENOENT' });
  });
});
