// The peer: Debian's rclone serving a local copy of the same data over
// loopback WebDAV (`rclone serve webdav`) and mounting it with
// `rclone mount --vfs-cache-mode writes`, so that rclone's FUSE layer and
// client do the same work filesfs does, against a server on the same machine.
//
// Settings that both programs have are set alike, the rest is rclone's default:
//   --vfs-write-back   = filesfs's upload delay (how long after close an upload starts)
//   --transfers        = filesfs's upload concurrency (uploads in parallel)
//   --attr-timeout 1s  = filesfs's kernel attribute/entry timeout (rclone's default too)
// The rclone config is an empty file in the work dir (a user's own config is
// never read), the remote a connection string (`:webdav:` + --webdav-url).
//
// Durable (its uploads done): every expected file has its full size in the
// backend folder, and rclone's remote control reports no upload queued or in
// progress (vfs/stats) and no transfer running (core/stats). Each alone is
// not enough: with --vfs-write-back 0s an upload runs before vfs/stats counts
// it, and the backend file grows in place while a PUT is under way.
import { stat, writeFile } from 'node:fs/promises';
import { createServer, type AddressInfo } from 'node:net';
import { join } from 'node:path';
import { request } from 'undici';
import { findMount, fusermount, waitForMount } from '../fuse/index.js';
import type { Janitor } from './procs.js';
import { startChild, stopChild, type Child } from './procs.js';
import { now, sleep } from './units.js';

/** How often durability is polled: fine enough for writes lasting seconds, cheap enough not to compete for CPU. */
const POLL_MS = 50;

export interface RcloneMountSettings {
  /** Seconds between close and upload start (filesfs's upload delay). */
  writeBackSeconds: number;
  /** Uploads in parallel (filesfs's upload concurrency). */
  transfers: number;
  /** --vfs-cache-mode: `writes` (the default here), or `full` (reads kept in its cache dir too, across restarts). */
  cacheMode?: 'writes' | 'full';
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

async function waitForHttp(url: string, child: Child, timeoutMs: number): Promise<void> {
  const deadline = now() + timeoutMs / 1000;
  while (now() < deadline) {
    if (child.hasExited()) throw new Error(`${child.name} exited: ${child.stderrTail()}`);
    try {
      const res = await request(url, { method: 'OPTIONS' });
      await res.body.dump();
      return;
    } catch {
      await sleep(100);
    }
  }
  throw new Error(`${child.name}: ${url} did not answer within ${timeoutMs / 1000} s: ${child.stderrTail()}`);
}

/** `rclone serve webdav` of a local folder on a loopback port. */
export class RcloneServer {
  private constructor(readonly url: string, readonly backendDir: string, private readonly child: Child) {}

  static async start(janitor: Janitor, rclone: string, configFile: string, backendDir: string): Promise<RcloneServer> {
    await writeFile(configFile, '');
    const port = await freePort();
    const child = startChild('rclone serve webdav', rclone, ['--config', configFile, 'serve', 'webdav', backendDir, '--addr', `127.0.0.1:${port}`]);
    janitor.defer('stop rclone serve webdav', () => stopChild(child));
    const url = `http://127.0.0.1:${port}/`;
    await waitForHttp(url, child, 20_000);
    return new RcloneServer(url, backendDir, child);
  }

  async stop(): Promise<void> {
    await stopChild(this.child);
  }
}

/** One `rclone mount` of a WebDAV URL (the server, or the delaying proxy in front of it). */
export class RcloneMount {
  private constructor(
    readonly mountpoint: string,
    private readonly child: Child,
    private readonly rcUrl: string,
    private readonly doUnmount: () => Promise<void>,
    private readonly forget: () => void,
  ) {}

  get pid(): number {
    return this.child.pid;
  }

  static async start(janitor: Janitor, rclone: string, configFile: string, webdavUrl: string, mountpoint: string, cacheDir: string, settings: RcloneMountSettings): Promise<RcloneMount> {
    const rcPort = await freePort();
    const args = [
      '--config', configFile,
      'mount', ':webdav:', mountpoint,
      '--webdav-url', webdavUrl,
      '--webdav-vendor', 'other',
      '--vfs-cache-mode', settings.cacheMode ?? 'writes',
      '--cache-dir', cacheDir,
      '--vfs-write-back', `${settings.writeBackSeconds}s`,
      '--transfers', String(settings.transfers),
      '--attr-timeout', '1s',
      '--rc', '--rc-addr', `127.0.0.1:${rcPort}`, '--rc-no-auth',
    ];
    const child = startChild('rclone mount', rclone, args);
    const unmount = async (): Promise<void> => {
      if (await findMount(mountpoint)) {
        const first = await fusermount(mountpoint, false);
        if (!first.ok) await fusermount(mountpoint, true);
        await waitForMount(mountpoint, false, 10_000);
      }
      await stopChild(child);
    };
    const forget = janitor.defer(`unmount rclone at ${mountpoint}`, unmount);
    const deadline = now() + 30;
    for (;;) {
      const entry = await findMount(mountpoint);
      if (entry && entry.fstype.startsWith('fuse')) break;
      if (child.hasExited()) throw new Error(`rclone mount exited: ${child.stderrTail()}`);
      if (now() > deadline) throw new Error(`rclone mount did not mount ${mountpoint} within 30 s: ${child.stderrTail()}`);
      await sleep(100);
    }
    return new RcloneMount(mountpoint, child, `http://127.0.0.1:${rcPort}/`, unmount, forget);
  }

  async unmount(): Promise<void> {
    await this.doUnmount();
    this.forget();
  }

  private async rc<T>(path: string): Promise<T> {
    const res = await request(this.rcUrl + path, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' });
    if (res.statusCode !== 200) {
      const text = await res.body.text();
      throw new Error(`rclone rc ${path}: HTTP ${res.statusCode} ${text.slice(0, 200)}`);
    }
    return (await res.body.json()) as T;
  }

  /** True when rclone reports no upload queued, in progress, or transferring. */
  async idle(): Promise<boolean> {
    const vfs = await this.rc<{ diskCache?: { uploadsInProgress?: number; uploadsQueued?: number; erroredFiles?: number } }>('vfs/stats');
    const core = await this.rc<{ transferring?: unknown[] | null }>('core/stats');
    const cache = vfs.diskCache ?? {};
    if ((cache.erroredFiles ?? 0) > 0) throw new Error(`rclone reports ${cache.erroredFiles} failed upload(s)`);
    return (cache.uploadsInProgress ?? 0) === 0 && (cache.uploadsQueued ?? 0) === 0 && (core.transferring ?? []).length === 0;
  }

  /**
   * Waits until every file is in the backend with its size and rclone is
   * idle. Returns the monotonic time at which that was first seen.
   */
  async waitDurable(backendDir: string, files: ReadonlyArray<{ path: string; size: number }>, timeoutMs: number): Promise<number> {
    const deadline = now() + timeoutMs / 1000;
    let done = 0;
    for (;;) {
      while (done < files.length) {
        const f = files[done]!;
        const info = await stat(join(backendDir, f.path)).catch(() => undefined);
        if (!info || info.size !== f.size) break;
        done++;
      }
      if (done === files.length && (await this.idle())) return now();
      if (this.child.hasExited()) throw new Error(`rclone mount exited: ${this.child.stderrTail()}`);
      if (now() > deadline) throw new Error(`rclone: uploads not done after ${timeoutMs / 1000} s (${done}/${files.length} files in the backend)`);
      await sleep(POLL_MS);
    }
  }
}
