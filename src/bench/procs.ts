// Processes the benchmark starts, and the cleanup that undoes everything it
// set up, whatever happens (a failure, Ctrl-C, SIGTERM).
//
// Every long-lived child (emulator, filesfs mount, rclone serve/mount) is
// started in its own process group (detached), so a Ctrl-C in the terminal
// reaches only the benchmark, which then tears things down in order: mounts
// first (a server stopped under a live mount would leave it hanging), then
// the servers, then the work dir. Children are ended by their own pid (and
// their group), never by name.
import { spawn, type ChildProcess, type SpawnOptions } from 'node:child_process';
import { now, sleepUnref } from './units.js';

/** Lines of a child's stderr kept to explain a failure. */
const STDERR_TAIL_LINES = 30;
/** How long one cleanup step may take before the next one runs anyway. */
const CLEANUP_STEP_TIMEOUT_MS = 60_000;

type Step = { name: string; run: () => Promise<void> };

/** Cleanup steps, run last-registered first. */
export class Janitor {
  private readonly steps = new Map<number, Step>();
  private next = 0;

  /** Registers a step; the returned function unregisters it (when it was done normally). */
  defer(name: string, run: () => Promise<void>): () => void {
    const id = this.next++;
    this.steps.set(id, { name, run });
    return () => {
      this.steps.delete(id);
    };
  }

  /** Runs every remaining step, newest first; failures are reported, never thrown. */
  async cleanAll(report: (line: string) => void): Promise<void> {
    const ids = [...this.steps.keys()].sort((a, b) => b - a);
    for (const id of ids) {
      const step = this.steps.get(id);
      this.steps.delete(id);
      if (!step) continue;
      let timer: NodeJS.Timeout | undefined;
      try {
        await Promise.race([
          step.run(),
          new Promise<void>((_, reject) => {
            timer = setTimeout(() => reject(new Error(`took over ${CLEANUP_STEP_TIMEOUT_MS / 1000} s`)), CLEANUP_STEP_TIMEOUT_MS);
          }),
        ]);
      } catch (err) {
        report(`cleanup: ${step.name}: ${err instanceof Error ? err.message : String(err)}`);
      } finally {
        clearTimeout(timer);
      }
    }
  }
}

export interface Child {
  readonly name: string;
  readonly process: ChildProcess;
  readonly pid: number;
  /** Resolves with the exit code (or the signal's name) once the process has exited. */
  readonly exited: Promise<number | string>;
  hasExited(): boolean;
  /** The last lines the child wrote to stderr. */
  stderrTail(): string;
}

/** Starts a long-lived child in its own process group; stdout is piped (first-line readers), stderr kept as a tail. */
export function startChild(name: string, command: string, args: readonly string[], options: SpawnOptions = {}): Child {
  const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'], detached: true, ...options });
  const tail: string[] = [];
  let partial = '';
  child.stderr?.setEncoding('utf8');
  child.stderr?.on('data', (chunk: string) => {
    const lines = (partial + chunk).split('\n');
    partial = lines.pop() ?? '';
    tail.push(...lines);
    if (tail.length > STDERR_TAIL_LINES) tail.splice(0, tail.length - STDERR_TAIL_LINES);
  });
  let done = false;
  const exited = new Promise<number | string>((resolve) => {
    child.on('exit', (code, signal) => {
      done = true;
      resolve(code ?? signal ?? 'unknown');
    });
    child.on('error', (err) => {
      done = true;
      tail.push(`spawn failed: ${err.message}`);
      resolve('spawn-error');
    });
  });
  if (child.pid === undefined) {
    // spawn failed synchronously (ENOENT arrives as 'error'): give a pid that kills nothing.
    return { name, process: child, pid: -1, exited, hasExited: () => true, stderrTail: () => [...tail, partial].join('\n') };
  }
  return {
    name,
    process: child,
    pid: child.pid,
    exited,
    hasExited: () => done,
    stderrTail: () => [...tail, partial].filter(Boolean).join('\n'),
  };
}

/** The first line a child prints on stdout (e.g. a server's URL), or a failure with its stderr. */
export function firstLine(child: Child, timeoutMs: number): Promise<string> {
  return new Promise((resolve, reject) => {
    let buffered = '';
    const stdout = child.process.stdout;
    const timer = setTimeout(() => finish(new Error(`${child.name}: no output within ${timeoutMs / 1000} s\n${child.stderrTail()}`)), timeoutMs);
    const onData = (chunk: Buffer): void => {
      buffered += chunk.toString('utf8');
      const nl = buffered.indexOf('\n');
      if (nl >= 0) finish(null, buffered.slice(0, nl).trim());
    };
    const onExit = (): void => finish(new Error(`${child.name} exited before it was ready\n${child.stderrTail()}`));
    function finish(err: Error | null, line?: string): void {
      clearTimeout(timer);
      stdout?.off('data', onData);
      child.process.off('exit', onExit);
      // Keep draining stdout so the child never blocks on a full pipe.
      stdout?.resume();
      if (err) reject(err);
      else resolve(line!);
    }
    stdout?.on('data', onData);
    child.process.once('exit', onExit);
  });
}

/** Ends a child: `signal` to its process group, then SIGKILL after `graceMs`. */
export async function stopChild(child: Child, signal: NodeJS.Signals = 'SIGTERM', graceMs = 10_000): Promise<void> {
  if (child.hasExited() || child.pid < 0) return;
  const send = (s: NodeJS.Signals): void => {
    try {
      process.kill(-child.pid, s);
    } catch {
      try {
        process.kill(child.pid, s);
      } catch {
        // already gone
      }
    }
  };
  send(signal);
  const exited = await Promise.race([child.exited.then(() => true), sleepUnref(graceMs).then(() => false)]);
  if (!exited) {
    send('SIGKILL');
    await Promise.race([child.exited, sleepUnref(5_000)]);
  }
}

export interface RunResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  /** From spawn to exit, by the monotonic clock. */
  seconds: number;
}

/** Children of run() still going: ended first on Ctrl-C so the mounts can be released. */
const running = new Set<ChildProcess>();

export function killRunningCommands(): void {
  for (const child of running) {
    try {
      child.kill('SIGKILL');
    } catch {
      // already gone
    }
  }
}

/** Runs a command to completion (a shell tool under test, or a helper), timing it. */
export function run(command: string, args: readonly string[], options: SpawnOptions & { input?: string; timeoutMs?: number } = {}): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const started = now();
    const child = spawn(command, args, { stdio: [options.input === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'], ...options });
    running.add(child);
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout?.on('data', (b: Buffer) => out.push(b));
    child.stderr?.on('data', (b: Buffer) => err.push(b));
    const timer = options.timeoutMs ? setTimeout(() => child.kill('SIGKILL'), options.timeoutMs) : undefined;
    child.on('error', (e) => {
      running.delete(child);
      clearTimeout(timer);
      reject(new Error(`${command}: ${e.message}`));
    });
    child.on('close', (code, signal) => {
      const seconds = now() - started;
      running.delete(child);
      clearTimeout(timer);
      resolve({ code, signal, stdout: Buffer.concat(out).toString('utf8'), stderr: Buffer.concat(err).toString('utf8'), seconds });
    });
    if (options.input !== undefined) {
      child.stdin?.on('error', () => {}); // a child that exits without reading its input
      child.stdin?.end(options.input);
    }
  });
}

/** run() that fails unless the command exits 0. */
export async function runOk(command: string, args: readonly string[], options: SpawnOptions & { input?: string; timeoutMs?: number } = {}): Promise<RunResult> {
  const result = await run(command, args, options);
  if (result.code !== 0) {
    const why = result.signal ? `killed by ${result.signal}` : `exit ${result.code}`;
    throw new Error(`${command} ${args.join(' ')}: ${why}: ${result.stderr.trim().split('\n').slice(-5).join(' | ')}`);
  }
  return result;
}

/** The path of an executable on PATH, or undefined. */
export async function which(name: string): Promise<string | undefined> {
  const result = await run('sh', ['-c', `command -v ${name}`]).catch(() => undefined);
  const path = result?.stdout.trim();
  return result?.code === 0 && path ? path : undefined;
}
