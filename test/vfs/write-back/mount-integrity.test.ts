// Data integrity through a real mount, with the tools people use: a cache
// disk that fills up never publishes a truncated file over a good one (cp
// fails, the server keeps what it had, status says the disk is full), and
// names that are not valid UTF-8 are refused instead of merging into one file.
import { afterAll, afterEach, beforeAll, describe, expect, test } from 'vitest';
import { HttpFilesClient } from '../../../src/client/http-files-client.js';
import { useEmulator } from '../../support/emulator.js';
import { q, runCli, runProgram, scratch, sh, startMount, stopMounts } from '../../support/mount.js';
import { mountTmpfs, type Tmpfs } from '../../support/tmpfs.js';
import { serverSha256, statusOf } from './mount-helpers.js';

const API_KEY = 'integrityMountKey42';
const emu = useEmulator({ apiKey: API_KEY });
let client: HttpFilesClient;
let disk: Tmpfs | undefined;
const MiB = 1024 * 1024;

beforeAll(() => {
  client = new HttpFilesClient({ baseUrl: emu().url, credentials: { apiKey: API_KEY }, logLevel: 'silent' });
});
afterEach(async () => {
  await stopMounts();
  disk?.unmount();
  disk = undefined;
});
afterAll(async () => {
  await client?.close();
});

describe('a full cache disk', () => {
  test('cp of a file larger than the disk, and over good server files, fails and publishes nothing; status says why', async () => {
    disk = mountTmpfs(24 * MiB, 'small-cache');
    const src = scratch('integrity-src');
    await sh(`head -c ${40 * MiB} /dev/urandom > ${q(`${src}/big.bin`)} && head -c ${10 * MiB} /dev/urandom > ${q(`${src}/ten.bin`)} && head -c ${30 * MiB} /dev/urandom > ${q(`${src}/thirty.bin`)}`);
    await client.mkdir('full');
    await client.upload('full/good1.bin', { buffer: Buffer.alloc(10 * MiB, 1) });
    await client.upload('full/good2.bin', { buffer: Buffer.alloc(10 * MiB, 2) });
    const good1 = await serverSha256(client, 'full/good1.bin');
    const good2 = await serverSha256(client, 'full/good2.bin');

    const m = await startMount({ url: emu().url, apiKey: API_KEY, cacheDir: `${disk.dir}/c`, args: ['--upload-delay', '0'] });
    const big = await sh(`LC_ALL=C cp ${q(`${src}/big.bin`)} ${q(`${m.mountpoint}/full/big.bin`)}`);
    expect(big.code).not.toBe(0);
    expect(big.stderr).toMatch(/No space left on device/);
    // Two good files overwritten, one too large to fit: cp reports the failure, the server keeps both.
    const over = await sh(`LC_ALL=C cp ${q(`${src}/thirty.bin`)} ${q(`${m.mountpoint}/full/good1.bin`)}; LC_ALL=C cp ${q(`${src}/thirty.bin`)} ${q(`${m.mountpoint}/full/good2.bin`)}`);
    expect(over.stderr).toMatch(/No space left on device/);
    const status = await statusOf(m);
    expect(status.writeProblems).toBeGreaterThanOrEqual(2);
    expect(status.problems.map((p) => p.path)).toEqual(expect.arrayContaining(['/full/big.bin', '/full/good1.bin']));
    const human = await runCli(['status', m.mountpoint], { env: m.env });
    expect(human.stdout).toMatch(/WARNING: \d+ changes could not be kept/);

    // A file that fits still goes through once space is free again.
    await sh(`cp ${q(`${src}/ten.bin`)} ${q(`${m.mountpoint}/full/ten.bin`)}`);
    const unmount = await runCli(['unmount', m.mountpoint], { env: m.env, timeoutMs: 60_000 });
    expect(unmount.code, unmount.stderr).toBe(0);
    await expect(client.stat('full/big.bin')).rejects.toMatchObject({ kind: 'not-found' });
    expect(await serverSha256(client, 'full/good1.bin')).toBe(good1);
    expect(await serverSha256(client, 'full/good2.bin')).toBe(good2);
    expect(await serverSha256(client, 'full/ten.bin')).toBe((await runProgram('sha256sum', [`${src}/ten.bin`])).stdout.split(' ')[0]);
  }, 180_000);
});

describe('names that are not valid UTF-8', () => {
  test('are refused with EINVAL, so two such names never become one file', async () => {
    const m = await startMount({ url: emu().url, apiKey: API_KEY });
    await client.mkdir('names');
    const script = [
      'import os, errno',
      `os.chdir(${JSON.stringify(`${m.mountpoint}/names`)})`,
      'for name in (b"bad\\xff.txt", b"bad\\xfe.txt"):',
      '    try:',
      '        os.close(os.open(name, os.O_WRONLY | os.O_CREAT, 0o644))',
      '        print("created")',
      '    except OSError as e:',
      '        print(errno.errorcode[e.errno])',
      'os.close(os.open("good.txt", os.O_WRONLY | os.O_CREAT, 0o644))',
      'try:',
      '    os.rename("good.txt", b"also\\xffbad.txt")',
      'except OSError as e:',
      '    print(errno.errorcode[e.errno])',
      'print(sorted(os.listdir(".")))',
    ].join('\n');
    const r = await runProgram('python3', ['-c', script]);
    expect(r.stdout.trim().split('\n')).toEqual(['EINVAL', 'EINVAL', 'EINVAL', "['good.txt']"]);
  });
});
