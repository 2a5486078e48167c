// Test helper for real mounts: runs the built CLI (`node dist/cli/main.js
// mount …`) as a child process against an emulator, waits until
// `mountpoint -q` succeeds, and stops it with SIGTERM, falling back to SIGKILL
// and `fusermount3 -uz`, so that a failing test never leaves a mount or a
// process behind (call stopMounts() in afterEach/afterAll; the global
// teardown also detaches leftovers under FILESFS_TEST_ROOT).
//
// Everything here is asynchronous on purpose: the emulator usually runs in
// the test process, and a synchronous child (execSync) touching the mount
// would block the event loop the emulator answers on: a deadlock. Children
// never start with their working folder inside a mount.
//
// The CLI runs from dist/: build first (`npm run build`; `npm test` does it
// through scripts/setup). assertBuilt() warns when src/ is newer than dist/.
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { isMountpoint as inMountTable } from '../../src/fuse/mountinfo.js';

export const REPO = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
export const CLI = join(REPO, 'dist', 'cli', 'main.js');

/** A fresh folder under the run's scratch root. */
export function scratch(prefix: string): string {
  return mkdtempSync(join(process.env.FILESFS_TEST_ROOT ?? tmpdir(), `${prefix}-`));
}

function newestMtime(dir: string): number {
  let newest = 0;
  for (const name of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, name.name);
    newest = Math.max(newest, name.isDirectory() ? newestMtime(path) : statSync(path).mtimeMs);
  }
  return newest;
}

let warnedStale = false;

/**
 * Throws unless dist/ is built; warns (once) when src/ changed after the
 * build: the CLI under test is then older than the sources.
 */
export function assertBuilt(): void {
  const stamp = join(REPO, 'dist', '.build-stamp');
  if (!existsSync(CLI) || !existsSync(stamp)) throw new Error('dist/ is not built: run `npm run build` (npm test does it)');
  if (!warnedStale && newestMtime(join(REPO, 'src')) > statSync(stamp).mtimeMs) {
    warnedStale = true;
    console.warn('test/support/mount.ts: src/ changed after the last build; the mount tests run the CLI in dist/ (npm run build)');
  }
}

/**
 * Environment for CLI children: the mount registry (XDG_RUNTIME_DIR) and the
 * default cache dirs (XDG_CACHE_HOME) in a private folder of this test file,
 * never the user's; no credentials inherited from the caller.
 */
export function cliEnv(extra: Record<string, string | undefined> = {}): NodeJS.ProcessEnv {
  const base = scratch('cli-env');
  mkdirSync(join(base, 'run'), { mode: 0o700 });
  const env: NodeJS.ProcessEnv = { ...process.env, XDG_RUNTIME_DIR: join(base, 'run'), XDG_CACHE_HOME: join(base, 'cache'), HOME: base };
  for (const name of ['FILES_API_KEY', 'FILESCOM_API_KEY', 'FILES_USERNAME', 'FILES_PASSWORD', 'FILES_BASE_URL', 'FILESCOM_BASE_URL', 'NETRC']) delete env[name];
  for (const [k, v] of Object.entries(extra)) {
    if (v === undefined) delete env[k];
    else env[k] = v;
  }
  return env;
}

export interface RunResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/** Runs a program asynchronously (never blocks the event loop). */
export function runProgram(file: string, args: string[], options: { env?: NodeJS.ProcessEnv; cwd?: string; timeoutMs?: number } = {}): Promise<RunResult> {
  return new Promise((resolve) => {
    execFile(file, args, { env: options.env ?? process.env, cwd: options.cwd ?? REPO, timeout: options.timeoutMs ?? 60_000, maxBuffer: 64 * 1024 * 1024, encoding: 'utf8' }, (err, stdout, stderr) => {
      const e = err as (NodeJS.ErrnoException & { code?: number | string; signal?: NodeJS.Signals }) | null;
      resolve({ code: e ? (typeof e.code === 'number' ? e.code : null) : 0, signal: e?.signal ?? null, stdout, stderr });
    });
  });
}

/** `filesfs <args>` from dist/, to completion. */
export function runCli(args: string[], options: { env?: NodeJS.ProcessEnv; cwd?: string; timeoutMs?: number } = {}): Promise<RunResult> {
  return runProgram(process.execPath, [CLI, ...args], options);
}

/** A shell command line, asynchronously (cwd: the repo, never a mount). */
export function sh(script: string, options: { env?: NodeJS.ProcessEnv; timeoutMs?: number } = {}): Promise<RunResult> {
  return runProgram('bash', ['-c', script], options);
}

/** Single-quotes for a shell command line. */
export const q = (s: string): string => `'${s.replace(/'/g, `'\\''`)}'`;

export async function isMounted(path: string): Promise<boolean> {
  return (await runProgram('mountpoint', ['-q', path], { timeoutMs: 10_000 })).code === 0;
}

export interface StartMountOptions {
  /** Emulator (or site) base URL. */
  url: string;
  /** Put into FILES_API_KEY of the child. */
  apiKey?: string;
  /** More `filesfs mount` arguments. */
  args?: string[];
  /** Environment (default: cliEnv()). */
  env?: NodeJS.ProcessEnv;
  /** Default: a fresh empty folder. */
  mountpoint?: string;
  /** Default: a fresh folder (so that two mounts of one site do not share one). */
  cacheDir?: string;
  /** How long to wait for the mount. Default 30 s. */
  timeoutMs?: number;
  /** Run this instead of `dist/cli/main.js mount <mnt> --base-url … --cache-dir …` (node arguments). */
  argv?: (mountpoint: string, cacheDir: string) => string[];
}

export interface MountProcess {
  readonly mountpoint: string;
  readonly cacheDir: string;
  readonly env: NodeJS.ProcessEnv;
  readonly child: ChildProcess;
  readonly pid: number;
  /** Everything the mount process wrote to stderr so far. */
  stderr(): string;
  /** Resolves with the exit status once the process has exited. */
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** SIGTERM (or `signal`), wait; then SIGKILL and fusermount3 -uz if need be. Safe to call twice. */
  stop(signal?: NodeJS.Signals): Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

const running = new Set<MountProcess>();

/** How long stop() waits for the process to exit after its signal. */
const STOP_WAIT_MS = 20_000;

async function waitFor(condition: () => Promise<boolean>, timeoutMs: number, intervalMs = 50): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await condition()) return true;
    if (Date.now() >= deadline) return false;
    await new Promise((r) => setTimeout(r, intervalMs));
  }
}

/** Starts `filesfs mount` and resolves once `mountpoint -q` succeeds; rejects with its stderr if it exits first. */
export async function startMount(options: StartMountOptions): Promise<MountProcess> {
  assertBuilt();
  const mountpoint = options.mountpoint ?? join(scratch('mount'), 'mnt');
  mkdirSync(mountpoint, { recursive: true });
  const cacheDir = options.cacheDir ?? join(scratch('cache'), 'c');
  const env = { ...(options.env ?? cliEnv()), ...(options.apiKey !== undefined ? { FILES_API_KEY: options.apiKey } : {}) };
  const argv = options.argv?.(mountpoint, cacheDir) ?? [CLI, 'mount', mountpoint, '--base-url', options.url, '--cache-dir', cacheDir, ...(options.args ?? [])];
  const child = spawn(process.execPath, argv, {
    cwd: REPO,
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stderr = '';
  child.stderr!.setEncoding('utf8').on('data', (chunk: string) => { stderr += chunk; });
  child.stdout!.resume();
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
    child.once('exit', (code, signal) => resolve({ code, signal }));
  });
  let stopping: Promise<{ code: number | null; signal: NodeJS.Signals | null }> | undefined;
  const handle: MountProcess = {
    mountpoint,
    cacheDir,
    env,
    child,
    pid: child.pid!,
    stderr: () => stderr,
    exited,
    stop(signal: NodeJS.Signals = 'SIGTERM') {
      stopping ??= (async () => {
        if (child.exitCode === null && child.signalCode === null) child.kill(signal);
        let timer: NodeJS.Timeout | undefined;
        const late = new Promise<'late'>((r) => { timer = setTimeout(() => r('late'), STOP_WAIT_MS); });
        const first = await Promise.race([exited, late]);
        clearTimeout(timer);
        if (first === 'late') child.kill('SIGKILL');
        const result = await exited;
        // The kernel's table, not `mountpoint -q`: a stale mount fails that test.
        if (await inMountTable(mountpoint)) await runProgram('fusermount3', ['-uz', mountpoint]);
        running.delete(handle);
        return result;
      })();
      return stopping;
    },
  };
  running.add(handle);
  let gone: { code: number | null; signal: NodeJS.Signals | null } | undefined;
  void exited.then((how) => { gone = how; });
  const up = await waitFor(async () => gone !== undefined || (await isMounted(mountpoint)), options.timeoutMs ?? 30_000);
  if (gone || !up) {
    await handle.stop('SIGKILL');
    const why = gone ? `it exited: ${gone.signal ?? `status ${gone.code}`}` : 'timeout';
    throw new Error(`filesfs mount did not come up (${why}); its stderr:\n${stderr}`);
  }
  return handle;
}

/** Stops every mount started by this test file that is still running. */
export async function stopMounts(): Promise<void> {
  await Promise.all([...running].map((m) => m.stop()));
}

/** Waits until `path` is no longer in the kernel's mount table. */
export function waitUnmounted(path: string, timeoutMs = 20_000): Promise<boolean> {
  return waitFor(async () => !(await inMountTable(path)), timeoutMs);
}

export { inMountTable };
