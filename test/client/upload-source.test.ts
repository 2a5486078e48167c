// Upload sources (src/client/upload-source.ts): a small file is read whole
// when the upload opens it, so its parts are buffers and its descriptor is
// closed at once; a larger one is read part by part from its open handle.
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { afterAll, describe, expect, it } from 'vitest';
import { openSource, SMALL_FILE_BYTES } from '../../src/client/upload-source.js';

const dir = mkdtempSync(join(tmpdir(), 'upload-source-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const openFds = () => readdirSync('/proc/self/fd').length;

async function collect(body: Buffer | Readable): Promise<Buffer> {
  if (Buffer.isBuffer(body)) return body;
  const chunks: Buffer[] = [];
  for await (const c of body) chunks.push(c as Buffer);
  return Buffer.concat(chunks);
}

describe('upload sources', () => {
  it('a file of at most SMALL_FILE_BYTES is read whole at open: buffer parts, no descriptor kept', async () => {
    const data = Buffer.alloc(SMALL_FILE_BYTES, 7);
    const file = join(dir, 'small.bin');
    writeFileSync(file, data);
    const before = openFds();
    const source = await openSource({ file });
    expect(openFds()).toBe(before);
    expect(source.kind).toBe('random');
    if (source.kind !== 'random') return;
    expect(source.size).toBe(data.length);
    // Changed afterwards: the upload sends what it read at open.
    writeFileSync(file, 'changed');
    const body = source.part(0, data.length)();
    expect(Buffer.isBuffer(body)).toBe(true);
    expect((body as Buffer).equals(data)).toBe(true);
    await source.close();
  });

  it('a larger file is read part by part through its open handle', async () => {
    const data = Buffer.alloc(SMALL_FILE_BYTES + 1, 9);
    const file = join(dir, 'larger.bin');
    writeFileSync(file, data);
    const before = openFds();
    const source = await openSource({ file });
    expect(openFds()).toBe(before + 1);
    if (source.kind !== 'random') throw new Error('expected a random-access source');
    const body = source.part(0, data.length)();
    expect(Buffer.isBuffer(body)).toBe(false);
    expect((await collect(body)).equals(data)).toBe(true);
    await source.close();
    expect(openFds()).toBe(before);
  });

  it('a fixed size sends only the first bytes (what was appended after that version stays out); a shorter file fails', async () => {
    const file = join(dir, 'appended.bin');
    for (const size of [1000, SMALL_FILE_BYTES + 5000]) {
      const data = Buffer.alloc(size + 77, 3);
      data.fill(4, size); // the bytes appended after the version being sent
      writeFileSync(file, data);
      const source = await openSource({ file, size });
      if (source.kind !== 'random') throw new Error('expected a random-access source');
      expect(source.size).toBe(size);
      expect((await collect(source.part(0, size)())).equals(data.subarray(0, size))).toBe(true);
      await source.close();
    }
    writeFileSync(file, 'short');
    await expect(openSource({ file, size: 10 })).rejects.toMatchObject({ code: 'ESHRUNK' });
  });
});
