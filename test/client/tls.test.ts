// HTTPS: the emulator with a self-signed certificate, trusted through caFile
// (which adds to the default roots) or NODE_EXTRA_CA_CERTS.
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { connect, rootCertificates } from 'node:tls';
import { describe, expect, it } from 'vitest';
import { TlsVerificationError } from '../../src/client/errors.js';
import { secureContextWithExtraCa } from '../../src/client/tls.js';
import { testDir, useEmulator } from '../support/emulator.js';
import { API_KEY, clientFor, collect, MiB, patternChunk, sha256 } from './support.js';

/** Whether a TLS handshake with `port` succeeds using `context`. */
function handshake(port: number, context: ReturnType<typeof secureContextWithExtraCa>): Promise<boolean> {
  return new Promise((resolve) => {
    const s = connect({ host: '127.0.0.1', port, secureContext: context!, servername: 'localhost' }, () => {
      s.end();
      resolve(true);
    });
    s.on('error', () => resolve(false));
  });
}

describe('HTTPS', () => {
  const emu = useEmulator({ apiKey: API_KEY, tls: true, migrationMs: 50 });
  const other = useEmulator({ tls: true });

  it('runs the operations over HTTPS with caFile', async () => {
    expect(emu().url).toMatch(/^https:/);
    const c = clientFor(emu(), { caFile: emu().caCertFile! });
    const data = patternChunk(0, 11 * MiB, 4);
    await c.mkdir('Tls/dir', { parents: true });
    expect((await c.upload('Tls/dir/data.bin', { buffer: data }, { mtime: new Date('2019-09-09T09:09:09Z') })).size).toBe(data.length);
    expect((await c.stat('tls/DIR/data.bin')).mtime.toISOString()).toBe('2019-09-09T09:09:09.000Z');
    expect(await collect(c.list('Tls/dir'))).toEqual(['Tls/dir/data.bin']);
    expect((await c.readRange('Tls/dir/data.bin', 100, 50)).equals(data.subarray(100, 150))).toBe(true);
    expect(await sha256(await c.createReadStream('Tls/dir/data.bin'))).toBe(await sha256([data]));
    await c.setMtime('Tls/dir/data.bin', new Date('2018-01-01T00:00:00Z'));
    await c.copy('Tls/dir', 'Tls/copy');
    await c.move('Tls/copy/data.bin', 'Tls/moved.bin');
    await c.delete('Tls', { recursive: true });
    await expect(c.stat('Tls')).rejects.toMatchObject({ kind: 'not-found' });
  });

  it('without the CA the certificate is refused at once, not retried', async () => {
    const c = clientFor(emu(), { caFile: undefined });
    emu().resetStats();
    const started = performance.now();
    const err = await c.stat('x').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(TlsVerificationError);
    expect((err as Error).message).toMatch(/not trusted/);
    expect(performance.now() - started).toBeLessThan(400);
    expect(emu().stats().total).toBe(0);
  });

  it('caFile adds to the default store and to NODE_EXTRA_CA_CERTS instead of replacing them', async () => {
    // (Both emulators' certificates carry the same subject name, which one
    // trust store cannot hold twice; so each check pairs one of them with an
    // unrelated CA.)
    const dir = testDir('tls-');
    const unrelated = join(dir, 'unrelated.pem');
    writeFileSync(unrelated, rootCertificates[0]!);
    const caA = readFileSync(emu().caCertFile!, 'utf8');
    // The extra file is trusted, and so is NODE_EXTRA_CA_CERTS …
    expect(await handshake(emu().port, secureContextWithExtraCa(caA, undefined, { NODE_EXTRA_CA_CERTS: unrelated }))).toBe(true);
    expect(await handshake(other().port, secureContextWithExtraCa(rootCertificates[1]!, undefined, { NODE_EXTRA_CA_CERTS: other().caCertFile! }))).toBe(true);
    // … but nothing else.
    expect(await handshake(other().port, secureContextWithExtraCa(caA, undefined, {}))).toBe(false);
    expect(secureContextWithExtraCa(undefined)).toBeUndefined();
  });
});
