#!/usr/bin/env node
// `filesfs`: the command-line entry. Dispatches to one module per subcommand
// (src/cli/commands/*.ts), prints help, and turns a ConfigError into one clear
// line and exit status 2. Anything else that escapes a command is a bug or an
// unexpected failure: one line, exit status 1 (stack with --log-level debug).
//
// Two more ways in, for mount(8): `filesfs SITE MOUNTPOINT -o OPTIONS` (what
// the system's mount.fuse runs for type fuse.filesfs; SITE must read as a URL
// or host name, so a mistyped command is still "unknown command"), and the
// names /sbin/mount.filesfs and /sbin/umount.fuse.filesfs (links to this
// program), by which mount(8) and umount(8) call their helpers.
import { basename } from 'node:path';
import { ConfigError } from '../options/config-error.js';
import { looksLikeSite } from '../options/site.js';
import { redact } from '../log/logger.js';
import { VERSION } from '../version.js';
import type { Command } from './command.js';

const COMMANDS: Record<string, { summary: string; load: () => Promise<{ command: Command }> }> = {
  mount: { summary: 'mount a Files.com site (or the emulator) at a local folder', load: () => loadCommand('mount') },
  unmount: { summary: 'drain pending uploads, then unmount', load: () => loadCommand('unmount') },
  status: { summary: 'show pending, uploading and failed uploads of a mount, the server\'s state and the content cache', load: () => loadCommand('status') },
  retry: { summary: 'try failed and retrying uploads of a mount now', load: () => loadCommand('retry') },
  discard: { summary: 'drop one pending upload of a mount (its content is kept aside)', load: () => loadCommand('discard') },
  refresh: { summary: 'make a mount forget what it holds about a path and ask the server again', load: () => loadCommand('refresh') },
  cache: { summary: 'empty the content cache of a mount (filesfs cache clear <mountpoint>)', load: () => loadCommand('cache') },
  emulator: { summary: 'run the local Files.com API emulator', load: () => loadCommand('emulator') },
  demo: { summary: 'start an emulator with demo content and mount it at ./mnt (npm start)', load: () => loadCommand('demo') },
  doctor: { summary: 'check FUSE, the native binding, credentials, the site and the cache dir', load: () => loadCommand('doctor') },
};

/**
 * mount(8) and umount(8) run helpers with PATH removed from the environment
 * (and /bin/sh then finds programs in its built-in list without exporting
 * it); fusermount and mountpoint must still be found, in the places a
 * distribution puts them.
 */
const DEFAULT_PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

/** Loads src/cli/commands/<name>.ts (compiled: dist/cli/commands/<name>.js). */
function loadCommand(name: string): Promise<{ command: Command }> {
  return import(new URL(`./commands/${name}.js`, import.meta.url).href) as Promise<{ command: Command }>;
}

function help(): string {
  const width = Math.max(...Object.keys(COMMANDS).map((n) => n.length));
  const lines = Object.entries(COMMANDS).map(([name, c]) => `  ${name.padEnd(width)}  ${c.summary}`);
  return [
    `filesfs ${VERSION}: mount a Files.com site as a local folder`,
    '',
    'Usage: filesfs <command> [options]',
    '',
    'Commands:',
    ...lines,
    '',
    'Run `filesfs <command> --help` for the options of a command.',
    '',
    'For mount(8) and /etc/fstab (type fuse.filesfs): filesfs SITE MOUNTPOINT -o OPTIONS',
    '(`filesfs SITE MOUNTPOINT --help` for its options).',
  ].join('\n');
}

async function main(argv: string[]): Promise<number> {
  if (!process.env.PATH) process.env.PATH = DEFAULT_PATH;
  const invokedAs = basename(process.argv[1] ?? '');
  if (invokedAs === 'mount.filesfs' || invokedAs === 'mount.fuse.filesfs') return mountHelper(argv);
  if (invokedAs === 'umount.fuse.filesfs' || invokedAs === 'umount.filesfs') {
    const { runUmountHelper } = await import('./commands/umount-helper.js');
    return runUmountHelper(argv);
  }
  const [name, ...rest] = argv;
  if (name && !(name in COMMANDS) && !name.startsWith('-') && looksLikeSite(name)) return mountHelper(argv);
  if (!name || name === '--help' || name === '-h' || name === 'help') {
    console.log(help());
    return name ? 0 : 2;
  }
  if (name === '--version' || name === '-V') {
    console.log(VERSION);
    return 0;
  }
  const entry = COMMANDS[name];
  if (!entry) {
    console.error(`filesfs: unknown command "${name}"\n\n${help()}`);
    return 2;
  }
  const { command } = await entry.load();
  if (rest.includes('--help') || rest.includes('-h')) {
    console.log(command.usage);
    return 0;
  }
  return command.run(rest);
}

async function mountHelper(argv: string[]): Promise<number> {
  const { runMountHelper, MOUNT_HELPER_USAGE } = await import('./commands/mount-helper.js');
  if (argv.includes('--help') || argv.includes('-h')) {
    console.log(MOUNT_HELPER_USAGE);
    return 0;
  }
  return runMountHelper(argv);
}

main(process.argv.slice(2)).then(
  (code) => { process.exitCode = code; },
  (err: unknown) => {
    if (err instanceof ConfigError) {
      console.error(`filesfs: ${redact(err.message)}`);
      process.exitCode = 2;
      return;
    }
    const message = err instanceof Error ? err.message : String(err);
    console.error(`filesfs: ${redact(message)}`);
    if (process.env.FILESFS_DEBUG && err instanceof Error && err.stack) console.error(redact(err.stack));
    process.exitCode = 1;
  },
);
