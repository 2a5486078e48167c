// `filesfs retry <mountpoint> [path]`: try failed and retrying uploads now,
// rather than at their next attempt (a refused upload is tried again every
// 10 minutes, one after a network or server failure up to a minute later):
// after you removed the file that stood where a folder should be, fixed a
// permission or replaced the key. Every failed or retrying upload (and
// folder to create), or the one at `path`; waits for each outcome (up to
// --timeout) and prints it. Exit status: 0 when every one was uploaded; 1
// when one failed again, is still retrying or gave no answer in time, or no
// running filesfs mount serves the mountpoint; 2 for usage.
import { ConfigError } from '../../options/config-error.js';
import { canonicalMountpoint } from '../../fuse/mountinfo.js';
import type { RetryOutcome } from '../../vfs/index.js';
import { parseCommandLine } from '../args.js';
import type { Command } from '../command.js';
import { askMount, MountRequestError, pathInMount } from '../mount-request.js';

const usage = `Usage: filesfs retry <mountpoint> [path] [--timeout S]

Tries now the uploads that failed (refused by the server: retried every 10
minutes otherwise) or wait to retry (after a network or server failure), or
only the one at path (a file or a folder made in the mount; as filesfs status
prints it, or a path under the mountpoint). Waits for each outcome and prints
it.

Options:
  --timeout S           wait at most S seconds for the outcomes (default 60)
  -h, --help            show this help

Exit status: 0 when everything retried was uploaded; 1 otherwise.`;

const DEFAULT_TIMEOUT_S = 60;

export const command: Command = {
  summary: 'try failed and retrying uploads of a mount now',
  usage,
  async run(args) {
    const { values, positionals } = parseCommandLine(args, { timeout: { type: 'string' } });
    if (positionals.length < 1 || positionals.length > 2) throw new ConfigError('retry: expected a mountpoint and at most one path (usage: filesfs retry <mountpoint> [path])');
    const timeoutS = values.timeout === undefined ? DEFAULT_TIMEOUT_S : Number(values.timeout);
    if (!(timeoutS > 0)) throw new ConfigError(`--timeout: expected a number of seconds > 0, got ${JSON.stringify(values.timeout)}`);
    const target = await canonicalMountpoint(positionals[0]!);
    const path = positionals[1] === undefined ? undefined : pathInMount(target, positionals[1]);
    let outcomes: RetryOutcome[];
    try {
      // The answer comes once the outcomes are in: give the request that long and a little more.
      ({ outcomes } = await askMount<{ outcomes: RetryOutcome[] }>(target, 'retry', { ...(path ? { path } : {}), timeoutMs: Math.round(timeoutS * 1000) }, Math.round(timeoutS * 1000) + 10_000));
    } catch (err) {
      if (!(err instanceof MountRequestError)) throw err;
      process.stderr.write(`filesfs: ${err.message}\n`);
      return 1;
    }
    if (outcomes.length === 0) {
      process.stdout.write(`${target}: nothing failed or waiting to retry\n`);
      return 0;
    }
    for (const o of outcomes) process.stdout.write(`${describe(o)}\n`);
    return outcomes.every((o) => o.outcome === 'uploaded') ? 0 : 1;
  },
};

function describe(o: RetryOutcome): string {
  const what = o.kind === 'folder' ? `folder ${o.path}` : o.path;
  switch (o.outcome) {
    case 'uploaded':
      return `${o.kind === 'folder' ? 'created' : 'uploaded'}  ${what}`;
    case 'failed':
      return `failed    ${what}: refused again: ${o.error}`;
    case 'retrying':
      return `retrying  ${what}: ${o.error} (it goes on retrying in the background)`;
    default:
      return `waiting   ${what}: no outcome yet (it goes on in the background; filesfs status shows it)`;
  }
}
