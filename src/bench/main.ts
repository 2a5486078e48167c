#!/usr/bin/env node
// `npm run bench [-- --quick] [-- --json FILE]`: filesfs measured beside the
// limit (raw HTTP to the same emulator) and the peer (rclone mount over
// loopback WebDAV), one run, one table on stdout (progress on stderr), and
// the same as JSON with --json. Cleans up everything it started (mounts
// first) on success, failure, Ctrl-C or SIGTERM.
//
// Exit status: 0 when every available measurement ran; 1 when one failed or
// the run could not complete; 2 for a bad argument; 130 when interrupted.
import { writeFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { DEFAULT_SCALE, scaled, type Scale } from './context.js';
import { Janitor, killRunningCommands } from './procs.js';
import { COLUMNS, formatTable, isMeasured, type Report, type Unavailable } from './report.js';
import { runBench, WORKLOADS } from './run.js';

const USAGE = `Usage: npm run bench [-- options]

Runs every workload through filesfs, as raw HTTP against the same emulator,
and through rclone mount over loopback WebDAV; prints a table.

Options:
  --quick        every workload at a tenth of its size (about a minute)
  --scale F      every workload at F times its size (e.g. 0.02); overrides --quick
  --json FILE    also write the results as JSON to FILE
  --only LIST    run only these workloads (comma-separated name prefixes, e.g.
                 seq_read,small_files); the names are those of the table
  -h, --help     show this help`;

/** The quick run: a tenth of every size. */
const QUICK_FACTOR = 0.1;

function log(line: string): void {
  process.stderr.write(`${line}\n`);
}

async function main(): Promise<number> {
  let args;
  try {
    args = parseArgs({
      options: {
        quick: { type: 'boolean', default: false },
        scale: { type: 'string' },
        json: { type: 'string' },
        only: { type: 'string' },
        help: { type: 'boolean', short: 'h', default: false },
      },
      allowPositionals: false,
    }).values;
  } catch (err) {
    log(`bench: ${err instanceof Error ? err.message : String(err)}\n\n${USAGE}`);
    return 2;
  }
  if (args.help) {
    console.log(USAGE);
    return 0;
  }
  let scale: Scale = args.quick ? scaled(QUICK_FACTOR) : DEFAULT_SCALE;
  if (args.scale !== undefined) {
    const factor = Number(args.scale);
    if (!(factor > 0 && factor <= 1)) {
      log(`bench: --scale: expected a number in (0, 1], got ${JSON.stringify(args.scale)}`);
      return 2;
    }
    scale = scaled(factor);
  }
  // npm runs scripts in the package root; a relative --json is meant from where npm was called.
  const only = args.only === undefined ? undefined : args.only.split(',').map((s) => s.trim()).filter(Boolean);
  const unknown = only?.filter((prefix) => !WORKLOADS.some((w) => w.startsWith(prefix)));
  if (unknown?.length) {
    log(`bench: --only: no workload starts with ${unknown.join(', ')} (workloads: ${WORKLOADS.join(', ')})`);
    return 2;
  }
  const jsonFile = args.json === undefined ? undefined : resolve(process.env.INIT_CWD ?? process.cwd(), args.json);

  const janitor = new Janitor();
  let interrupted = false;
  const onSignal = (signal: NodeJS.Signals): void => {
    if (interrupted) {
      log(`bench: ${signal} again: still cleaning up (mounts first), please wait`);
      return;
    }
    interrupted = true;
    log(`bench: ${signal}: stopping and cleaning up`);
    killRunningCommands();
    void janitor.cleanAll(log).finally(() => process.exit(130));
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  process.on('SIGHUP', onSignal);

  let report: Report;
  try {
    report = await runBench({ scale, quick: args.quick === true && args.scale === undefined, log, ...(only ? { only } : {}) }, janitor);
  } catch (err) {
    if (interrupted) return new Promise<number>(() => {}); // the signal handler exits
    log(`bench: ${err instanceof Error ? err.stack ?? err.message : String(err)}`);
    await janitor.cleanAll(log);
    return 1;
  }
  if (interrupted) return new Promise<number>(() => {});
  await janitor.cleanAll(log);

  console.log(formatTable(report));
  if (jsonFile) {
    await writeFile(jsonFile, `${JSON.stringify(report, null, 2)}\n`);
    log(`bench: wrote ${jsonFile}`);
  }
  const failures = report.results.flatMap((row) => COLUMNS.filter((c) => row[c] !== undefined && !isMeasured(row[c]) && (row[c] as Unavailable).failed));
  return failures.length ? 1 : 0;
}

main().then((code) => {
  process.exitCode = code;
});
