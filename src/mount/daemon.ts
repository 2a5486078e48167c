// `filesfs mount --daemon`: the same mount in a detached process. The parent
// starts `filesfs mount` again with the same arguments minus --daemon, in a
// new session (setsid: no terminal, no Ctrl-C from it), stdout and stderr
// appended to <cache dir>/filesfs.log (0600), and waits until the child says
// it is mounted (over an IPC channel it then closes) or exits. It prints
// where the log is and exits 0, or prints what the child logged and exits
// with the child's status.
import { spawn } from 'node:child_process';
import { closeSync, existsSync, fchmodSync, fstatSync, openSync, readSync, renameSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { preparePrivateDir } from '../options/private-dir.js';

export const LOG_FILE_NAME = 'filesfs.log';
/** The log is moved to filesfs.log.1 at a start when it is larger than this. */
const MAX_LOG_BYTES = 10 * 1024 * 1024;
/** Marks the detached child in its environment. */
const CHILD_ENV = 'FILESFS_DAEMON_CHILD';

export interface DaemonReady {
  event: 'mounted';
  pid: number;
  mountpoint: string;
}

export function isDaemonChild(): boolean {
  return process.env[CHILD_ENV] === '1' && typeof process.send === 'function';
}

/** In the child: tells the waiting parent the mount is ready, then drops the channel. */
export function notifyDaemonParent(message: DaemonReady): void {
  if (!isDaemonChild()) return;
  delete process.env[CHILD_ENV];
  process.send!(message, undefined, {}, () => {
    if (process.connected) process.disconnect();
  });
}

function openLog(cacheDir: string): { fd: number; path: string; offset: number } {
  preparePrivateDir(cacheDir);
  const path = join(cacheDir, LOG_FILE_NAME);
  try {
    if (statSync(path).size > MAX_LOG_BYTES) renameSync(path, `${path}.1`);
  } catch {
    // No log yet.
  }
  const fd = openSync(path, 'a', 0o600);
  fchmodSync(fd, 0o600);
  return { fd, path, offset: fstatSync(fd).size };
}

function readFrom(path: string, offset: number): string {
  const fd = openSync(path, 'r');
  try {
    const size = fstatSync(fd).size;
    const buffer = Buffer.alloc(Math.max(0, size - offset));
    readSync(fd, buffer, 0, buffer.length, offset);
    return buffer.toString('utf8');
  } finally {
    closeSync(fd);
  }
}

/**
 * The CLI's own script (dist/cli/main.js), never the name we were started
 * under: as a mount helper that is /sbin/mount.filesfs, which would start a
 * mount helper again.
 */
function cliScript(): string | undefined {
  const main = fileURLToPath(new URL('../cli/main.js', import.meta.url));
  return existsSync(main) ? main : process.argv[1];
}

export interface DaemonOptions {
  /** Print nothing once mounted (mount(8) helpers are silent on success). */
  quiet?: boolean;
}

/**
 * Starts the detached mount. `childArgs` are the `mount` command's arguments
 * without --daemon. Resolves to the exit status for the parent.
 */
export async function startDaemon(childArgs: string[], cacheDir: string, mountpoint: string, options: DaemonOptions = {}): Promise<number> {
  const log = openLog(cacheDir);
  const entry = cliScript();
  if (!entry) throw new Error('cannot tell which script to start for --daemon');
  const child = spawn(process.execPath, [entry, 'mount', ...childArgs], {
    detached: true,
    stdio: ['ignore', log.fd, log.fd, 'ipc'],
    env: { ...process.env, [CHILD_ENV]: '1' },
  });
  closeSync(log.fd);

  const onInterrupt = (): void => {
    process.stderr.write(`filesfs: stopped waiting; the mount of ${mountpoint} goes on starting in the background (log: ${log.path})\n`);
    process.exit(130);
  };
  process.once('SIGINT', onInterrupt);
  const outcome = await new Promise<{ ready: DaemonReady } | { exit: number | null; signal: NodeJS.Signals | null } | { error: Error }>((resolve) => {
    child.on('message', (message: DaemonReady) => {
      if (message?.event === 'mounted') resolve({ ready: message });
    });
    child.on('exit', (code, signal) => resolve({ exit: code, signal }));
    child.on('error', (error) => resolve({ error }));
  });
  process.off('SIGINT', onInterrupt);

  if ('ready' in outcome) {
    child.unref();
    if (child.connected) child.disconnect();
    if (options.quiet) return 0;
    process.stdout.write(`filesfs: mounted at ${outcome.ready.mountpoint} in the background (pid ${outcome.ready.pid}); log: ${log.path}\n`
      + `filesfs: unmount with: filesfs unmount ${outcome.ready.mountpoint}\n`);
    return 0;
  }
  if ('error' in outcome) throw new Error(`cannot start the background mount: ${outcome.error.message}`);
  // The child failed before mounting: what it said is in the log, show it here.
  const said = readFrom(log.path, log.offset).trimEnd();
  if (said) process.stderr.write(said + '\n');
  process.stderr.write(`filesfs: the background mount did not start (${outcome.signal ?? `exit status ${outcome.exit}`}); log: ${log.path}\n`);
  return outcome.exit && outcome.exit > 0 ? outcome.exit : 1;
}
