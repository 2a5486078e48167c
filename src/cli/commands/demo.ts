// `filesfs demo` (what `npm start` runs after setup): a local Files.com
// emulator with demo content, mounted at ./mnt in the foreground, with a few
// commands to try. Ctrl-C unmounts, stops the emulator and removes its temp
// dir. The emulator runs as a child process in its own process group (so the
// terminal's Ctrl-C reaches only us, and the unmount can still talk to it);
// its API key is generated here and passed through the environment, never
// argv, so `ps` does not show it. Every way out of the demo (Ctrl-C, SIGTERM,
// an error, process exit) stops the emulator; only a SIGKILLed demo leaves it
// running (its command line names the temp data dir).
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, rm, rmdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, relative, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { ConfigError } from '../../options/config-error.js';
import { parseChoice } from '../../options/parse.js';
import { parseMountConfig } from '../../mount/mount-config.js';
import { isMountpoint } from '../../fuse/index.js';
import { LOG_LEVELS, registerSecret } from '../../log/logger.js';
import { runMount, type MountedInfo } from '../../mount/mount-process.js';
import { parseCommandLine } from '../args.js';
import type { Command } from '../command.js';

const usage = `Usage: filesfs demo [options]     (npm start)

Starts a local Files.com emulator with demo content and mounts it at ./mnt in
the foreground. Ctrl-C unmounts, stops the emulator and deletes its data.

Options:
  --mountpoint DIR      where to mount (default ./mnt; created if missing)
  --log-level L         ${LOG_LEVELS.join(', ')} (default info)
  -h, --help            show this help`;

/** How long the emulator may take to print its URL. */
const EMULATOR_START_MS = 30_000;
/** How long the emulator may take to stop after SIGTERM before SIGKILL. */
const EMULATOR_STOP_MS = 5_000;

interface Emulator {
  url: string;
  child: ChildProcess;
}

function startEmulator(dataDir: string, apiKey: string): Promise<Emulator> {
  const entry = process.argv[1]!;
  const child = spawn(process.execPath, [entry, 'emulator', '--seed-demo', '--data', dataDir, '--log-level', 'warn'], {
    detached: true,
    stdio: ['ignore', 'pipe', 'inherit'],
    env: { ...process.env, FILES_EMULATOR_API_KEY: apiKey },
  });
  return new Promise((resolvePromise, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`the emulator did not start within ${EMULATOR_START_MS / 1000} s`));
    }, EMULATOR_START_MS);
    const lines = createInterface({ input: child.stdout! });
    lines.once('line', (url) => {
      clearTimeout(timer);
      lines.close();
      child.stdout!.resume();
      resolvePromise({ url: url.trim(), child });
    });
    child.once('exit', (code, signal) => {
      clearTimeout(timer);
      reject(new Error(`the emulator exited before it was ready (${signal ?? `exit status ${code}`})`));
    });
    child.once('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
  });
}

async function stopEmulator(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), EMULATOR_STOP_MS);
  await exited;
  clearTimeout(timer);
}

function tips(mnt: string, info: MountedInfo): string {
  // Short when it is below the current folder (./mnt), absolute otherwise.
  const rel = relative(process.cwd(), mnt);
  const m = rel && !rel.startsWith('..') ? rel : mnt;
  const q = (s: string): string => (/^[\w./-]+$/.test(s) ? s : `"${s}"`);
  const lines = [
    '',
    `filesfs demo: the emulator's demo site is mounted at ${m} (emulator ${info.baseUrl})`,
    '',
    'Try, in another terminal here:',
    `  ls -l ${m}`,
    `  cat ${q(`${m}/README.txt`)}`,
    `  cat ${q(`${m}/reports/q1 resume.txt`)}      # any case, any accents: Reports/Q1 Résumé.txt`,
    `  find ${m} -type f`,
    `  sha256sum ${q(`${m}/Data/random-3MiB.bin`)}`,
    `  cp -r ${q(`${m}/Photos`)} /tmp/filesfs-photos`,
    `  mkdir ${q(`${m}/Scratch`)} && mv ${q(`${m}/Scratch`)} ${q(`${m}/Archive`)} && rmdir ${q(`${m}/Archive`)}`,
    `  touch -d 2020-02-02 ${q(`${m}/README.txt`)} && ls -l ${q(`${m}/README.txt`)}`,
    info.contentWrites
      ? `  cp /etc/hosts ${q(`${m}/hosts.txt`)} && cat ${q(`${m}/hosts.txt`)}`
      : '  (writing file content is refused with "Read-only file system" in this version: create, move, rename and delete work)',
    '',
    'Ctrl-C here unmounts, stops the emulator and deletes its data.',
    '',
  ];
  return lines.join('\n');
}

export const command: Command = {
  summary: 'start an emulator with demo content and mount it at ./mnt (npm start)',
  usage,
  async run(args) {
    const { values, positionals } = parseCommandLine(args, {
      mountpoint: { type: 'string' },
      'log-level': { type: 'string' },
    });
    if (positionals.length) throw new ConfigError(`demo: unexpected argument ${JSON.stringify(positionals[0])}`);
    const logLevel = values['log-level'] === undefined ? 'info' : parseChoice('--log-level', values['log-level'], LOG_LEVELS);
    const mnt = resolve(values.mountpoint ?? 'mnt');

    let created = false;
    if (await isMountpoint(mnt)) {
      throw new ConfigError(`${mnt} is already mounted (another demo still running?); stop that one with Ctrl-C, or run: filesfs unmount ${mnt}`);
    }
    if (!existsSync(mnt)) {
      await mkdir(mnt, { recursive: true });
      created = true;
    }

    const temp = await mkdtemp(join(tmpdir(), 'filesfs-demo-'));
    const apiKey = randomBytes(18).toString('hex');
    registerSecret(apiKey);
    let emulator: Emulator | undefined;
    const killOnExit = (): void => { emulator?.child.kill('SIGKILL'); };
    process.on('exit', killOnExit);
    try {
      emulator = await startEmulator(join(temp, 'data'), apiKey);
      const config = parseMountConfig(
        { 'base-url': emulator.url, 'cache-dir': join(temp, 'cache'), 'log-level': logLevel },
        [mnt],
        { ...process.env, FILES_API_KEY: apiKey },
      );
      return await runMount(config, { onMounted: (info) => process.stdout.write(tips(mnt, info)) });
    } finally {
      if (emulator) await stopEmulator(emulator.child);
      process.off('exit', killOnExit);
      await rm(temp, { recursive: true, force: true });
      if (created && !(await isMountpoint(mnt))) await rmdir(mnt).catch(() => undefined);
    }
  },
};
