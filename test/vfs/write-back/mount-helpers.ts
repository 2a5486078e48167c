// Helpers for write-back tests on real mounts (the built CLI in its own
// process, test/support/mount.ts): the mount's status through
// `filesfs status --json`, waiting until nothing is pending, and hashes of
// what the emulator holds.
import { createHash } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import type { FilesClient } from '../../../src/client/files-client.js';
import type { WriteBackStatus } from '../../../src/vfs/write-back/status.js';
import { runCli, type MountProcess } from '../../support/mount.js';
import { sha256Of, type SetFile } from './file-set.js';

export async function statusOf(m: MountProcess): Promise<WriteBackStatus> {
  const r = await runCli(['status', m.mountpoint, '--json'], { env: m.env });
  if (r.code !== 0) throw new Error(`filesfs status failed (${r.code}): ${r.stderr}`);
  return JSON.parse(r.stdout) as WriteBackStatus;
}

/** Polls `filesfs status` until nothing is pending. */
export async function waitDrained(m: MountProcess, timeoutMs = 120_000): Promise<WriteBackStatus> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const s = await statusOf(m);
    if (s.pendingUploads === 0) return s;
    if (Date.now() > deadline) throw new Error(`still pending after ${timeoutMs} ms: ${JSON.stringify(s.files.slice(0, 5))}`);
    await sleep(100);
  }
}

export async function serverSha256(client: FilesClient, path: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of await client.createReadStream(path)) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

/** Paths of the set whose content on the server differs from what was written (empty = all equal). */
export async function mismatches(client: FilesClient, root: string, files: SetFile[]): Promise<string[]> {
  const bad: string[] = [];
  for (const file of files) {
    const got = await serverSha256(client, `${root}/${file.path}`).catch((err: Error) => `error: ${err.message}`);
    if (got !== sha256Of(file)) bad.push(`${file.path}: ${got.startsWith('error') ? got : 'content differs'}`);
  }
  return bad;
}
