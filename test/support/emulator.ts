// Test helper for every area: a running emulator with its data dir under the
// run's scratch root (FILESFS_TEST_ROOT), stopped after the test file.
//
//   const emu = useEmulator({ apiKey: 'k' });      // in a describe/file body
//   it('…', async () => { await fetch(`${emu().url}/api/rest/v1/folders/`) });
//
//   const emu = await startTestEmulator();          // manual; call emu.stop()
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll } from 'vitest';
import { startEmulator, type EmulatorOptions, type RunningEmulator } from '../../src/emulator/index.js';
import { HttpFilesClient } from '../../src/client/http-files-client.js';

/** A fresh directory under the test run's scratch root. */
export function testDir(prefix = 'emulator-'): string {
  return mkdtempSync(join(process.env.FILESFS_TEST_ROOT ?? tmpdir(), prefix));
}

/** Starts an emulator on a fresh data dir (unless options.dataDir is given). */
export function startTestEmulator(options: EmulatorOptions = {}): Promise<RunningEmulator> {
  return startEmulator({ dataDir: testDir(), ...options });
}

/**
 * Starts one emulator before the tests of the current file (or describe
 * block) and stops it after them. Returns an accessor: call it inside tests.
 */
export function useEmulator(options: EmulatorOptions = {}): () => RunningEmulator {
  let running: RunningEmulator | undefined;
  beforeAll(async () => {
    running = await startTestEmulator(options);
  });
  afterAll(async () => {
    await running?.stop();
  });
  return () => {
    if (!running) throw new Error('the emulator is not running yet (use it inside a test or hook)');
    return running;
  };
}

export const API_PREFIX = '/api/rest/v1';

/**
 * A client of the emulator per call, with the given key (silent logs), all
 * closed after the tests of the current file. Call after useEmulator.
 */
export function useEmulatorClients(emu: () => RunningEmulator, apiKey: string): () => HttpFilesClient {
  const clients: HttpFilesClient[] = [];
  afterAll(async () => {
    await Promise.all(clients.splice(0).map((c) => c.close()));
  });
  return () => {
    const c = new HttpFilesClient({ baseUrl: emu().url, credentials: { apiKey }, logLevel: 'silent' });
    clients.push(c);
    return c;
  };
}
