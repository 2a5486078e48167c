#!/usr/bin/env node
// `filesfs`: the command-line entry. Dispatches to one module per subcommand
// (src/cli/commands/*.ts), prints help, and turns a ConfigError into one clear
// line and exit status 2. Anything else that escapes a command is a bug or an
// unexpected failure: one line, exit status 1 (stack with --log-level debug).
import { ConfigError } from '../options/config-error.js';
import { redact } from '../log/logger.js';
import { VERSION } from '../version.js';
import type { Command } from './command.js';

const COMMANDS: Record<string, { summary: string; load: () => Promise<{ command: Command }> }> = {
  mount: { summary: 'mount a Files.com site (or the emulator) at a local folder', load: () => loadCommand('mount') },
  unmount: { summary: 'drain pending uploads, then unmount', load: () => loadCommand('unmount') },
  status: { summary: 'show pending, uploading and failed uploads of a mount', load: () => loadCommand('status') },
  emulator: { summary: 'run the local Files.com API emulator', load: () => loadCommand('emulator') },
  demo: { summary: 'start an emulator with demo content and mount it at ./mnt (npm start)', load: () => loadCommand('demo') },
};

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
  ].join('\n');
}

async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
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
