// Changes made elsewhere while a file is open here (filesystem layer on the
// real client and the emulator): a reader keeps reading the version it opened,
// whole, for as long as the server still gives it; when it cannot, the read
// fails with ESTALE, never a silent short read. New opens read the new
// version.
import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { FilesFilesystem } from '../../src/vfs/filesystem.js';
import { createLogger } from '../../src/log/logger.js';
import { useEmulator, useEmulatorClients } from '../support/emulator.js';
import { O_RDONLY, pattern, readAt } from './helpers.js';

const API_KEY = 'remoteChangesKey42';
const emu = useEmulator({ apiKey: API_KEY });
const client = useEmulatorClients(emu, API_KEY);
const MiB = 1024 * 1024;
const sha = (b: Buffer): string => createHash('sha256').update(b).digest('hex');

/** Reads a handle to its end in 128 KiB reads; the bytes, or the errno that stopped it. */
async function readToEnd(fs: FilesFilesystem, path: string, fh: number, from = 0): Promise<{ data: Buffer; error?: string }> {
  const parts: Buffer[] = [];
  for (let at = from; ; ) {
    let got: Buffer;
    try {
      got = await readAt(fs, path, fh, at, 128 * 1024);
    } catch (err) {
      return { data: Buffer.concat(parts), error: (err as { code?: string }).code ?? String(err) };
    }
    if (got.length === 0) return { data: Buffer.concat(parts) };
    parts.push(got);
    at += got.length;
  }
}

describe('a file rewritten elsewhere while open here', () => {
  it.each([['smaller', 12 * MiB], ['larger', 28 * MiB]])('rewritten %s: the reader gets the whole old version or ESTALE, never a short read; a new open reads the new one', async (_how, newSize) => {
    const writer = client();
    const name = `changing-${newSize}.bin`;
    const old = pattern(20 * MiB, 1);
    await writer.upload(name, { buffer: old });
    const fs = new FilesFilesystem(client(), { logger: createLogger({ level: 'silent' }), attrTtlMs: 0, dirTtlMs: 0 });
    const fh = await fs.open(`/${name}`, O_RDONLY);
    const head = await readAt(fs, `/${name}`, fh, 0, 1 * MiB);
    const fresh = pattern(newSize, 2);
    await writer.upload(name, { buffer: fresh }); // another client rewrites it
    // The kernel asks the handle for its size on its way (revalidation): still the version it reads.
    expect((await fs.fgetattr(`/${name}`, fh)).size).toBe(20 * MiB);
    const rest = await readToEnd(fs, `/${name}`, fh, head.length);
    const got = Buffer.concat([head, rest.data]);
    if (rest.error === undefined) {
      expect(got.length).toBe(old.length);
      expect(sha(got)).toBe(sha(old));
    } else {
      expect(rest.error).toBe('ESTALE');
      expect(old.subarray(0, got.length).equals(got)).toBe(true); // what came before the error was the old version's
    }
    await fs.release(`/${name}`, fh);
    const again = await fs.open(`/${name}`, O_RDONLY);
    const whole = await readToEnd(fs, `/${name}`, again);
    expect(whole.error).toBeUndefined();
    expect(sha(whole.data)).toBe(sha(fresh));
    await fs.release(`/${name}`, again);
  });
});
