// Acceptance: the official Files.com JavaScript SDK (npm `files.com`, which
// nobody here wrote) works unchanged against the emulator over HTTPS with an
// API key. The SDK runs in a child process that trusts the emulator's
// self-signed certificate through NODE_EXTRA_CA_CERTS.
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { testDir, useEmulator } from '../support/emulator.js';

const run = promisify(execFile);
const KEY = 'sdkAcceptanceKey0123456789';
const BOB_KEY = 'sdkAcceptanceBobKey98765';

describe('official JS SDK over HTTPS', () => {
  const emu = useEmulator({ tls: true, apiKey: KEY, apiKeys: [{ key: BOB_KEY, username: 'bob' }], users: [{ username: 'sdk', password: 'sdk-pass' }], migrationMs: 300 });

  it('creates, uploads, lists 1,050 entries, finds, downloads, moves, copies, deletes, gets typed errors, and uses metadata, locks and behaviors', async () => {
    expect(emu().url).toMatch(/^https:\/\/127\.0\.0\.1:\d+$/);
    expect(emu().caCertFile).toBe(`${emu().dataDir}/tls/cert.pem`);
    // The 1,050 entries of "Big" are made directly in the store (listing them is what is tested).
    const store = emu().internals.store;
    for (let i = 0; i < 1050; i++) store.mkdir(`Big/entry ${i}`, { parents: true });
    await store.sync();
    const script = fileURLToPath(new URL('./sdk/acceptance.mjs', import.meta.url));
    const { stdout } = await run(process.execPath, [script], {
      env: {
        ...process.env, NODE_EXTRA_CA_CERTS: emu().caCertFile, FILES_BASE_URL: emu().url, FILES_API_KEY: KEY, FILES_API_KEY_BOB: BOB_KEY,
        WORK_DIR: testDir('sdk-'), SDK_USER: 'sdk', SDK_PASSWORD: 'sdk-pass',
      },
      timeout: 60_000,
    });
    const report = JSON.parse(stdout.trim().split('\n').pop()!);
    expect(report.folder).toEqual({ path: 'SDK Test', type: 'directory' });
    expect(report.upload).toEqual({ path: 'SDK Test/Source.bin', size: 6 * 1024 * 1024 + 1234 });
    expect(report.uploadData).toEqual({ path: 'SDK Test/hello.txt', size: 18 });
    expect(report.list).toEqual({ count: 1050, unique: 1050, firstType: 'directory', lastType: 'directory' });
    expect(report.find).toMatchObject({ path: 'SDK Test/Source.bin', size: 6 * 1024 * 1024 + 1234, type: 'file', subfoldersLockedKey: false });
    expect(report.download).toEqual({ identical: true, hasUri: true });
    expect(report.downloadString).toBe('hello from the SDK');
    expect(report.move).toEqual({ status: 'completed' });
    expect(report.copy).toEqual({ status: 'completed' });
    expect(report.folderCopy.statuses[0]).toBe('pending');
    expect(report.folderCopy.statuses.at(-1)).toBe('completed');
    expect(report.folderCopy.copied).toEqual(['SDK Copy/Copy.bin', 'SDK Copy/hello.txt', 'SDK Copy/Moved.bin']);
    expect(report.delete).toBe('NotFoundError');
    expect(report.missing).toEqual({ name: 'NotFoundError', isNotFound: true, code: 404, type: 'not-found' });
    expect(report.exists).toEqual({ name: 'ProcessingFailure_DestinationExistsError', isTyped: true, code: 422, type: 'processing-failure/destination-exists' });
    expect(report.customMetadata).toEqual({ updated: { status: 'reviewed', round: '2' }, found: { status: 'reviewed', round: '2' } });
    expect(report.locks).toEqual({
      created: { path: 'SDK Test/Moved.bin', exclusive: true, hasToken: true, username: 'admin' },
      listed: [true],
      colleague: { name: 'ProcessingFailure_FileLockedError', code: 422, type: 'processing-failure/file-locked' },
      second: { name: 'ProcessingFailure_DestinationExistsError', code: 422, type: 'processing-failure/destination-exists' },
      afterRelease: 0,
    });
    expect(report.behaviors).toEqual({
      created: { behavior: 'override_upload_filename', path: 'SDK Behaviors', value: { filename_override_pattern: 'renamed-%Ff' } },
      renamed: 'SDK Behaviors/renamed-note.txt',
      refusedUpload: { name: 'ProcessingFailure_DestinationFolderLimitedError', code: 422, type: 'processing-failure/destination-folder-limited' },
      found: true,
      onFolder: ['limit_file_extensions', 'override_upload_filename'],
      afterDelete: ['override_upload_filename'],
    });
    expect(report.session.listed).toEqual(['Big', 'SDK Behaviors', 'SDK Copy', 'SDK Test']);
    // Source.bin (two parts), hello.txt, and the behaviors folder's note.txt; bob's refused upload and
    // image.png were refused when they were opened, before any part.
    expect(emu().stats().requests['PUT upload']).toBe(4);
  });
});
