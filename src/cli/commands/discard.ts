// `filesfs discard <mountpoint> <path>`: drops one pending upload on purpose
// (a file the server keeps refusing, a change you no longer want), or a
// folder made in the mount that is not on the server yet (with nothing
// pending inside it). The file's content is not deleted: the mount moves it
// to <cache dir>/discarded/ and says where. The mount then shows the
// server's version again, if it has one. Exit status: 0 when dropped; 1 when
// nothing is pending there (or it is open for writing), or no running
// filesfs mount serves the mountpoint; 2 for usage.
import { ConfigError } from '../../options/config-error.js';
import { canonicalMountpoint } from '../../fuse/mountinfo.js';
import { formatBytes } from '../../vfs/format-bytes.js';
import type { DiscardResult } from '../../vfs/index.js';
import { parseCommandLine } from '../args.js';
import type { Command } from '../command.js';
import { askMount, MountRequestError, pathInMount } from '../mount-request.js';

const usage = `Usage: filesfs discard <mountpoint> <path>

Drops the pending upload of one file (as filesfs status lists it, or a path
under the mountpoint): it will not be uploaded. Its content is moved to the
discarded folder of the mount's cache dir (printed), never deleted. The mount
then shows the server's version of the file again, if there is one. A folder
made in the mount and not created on the server yet can be dropped too, once
nothing is pending inside it.

Options:
  -h, --help            show this help`;

const TIMEOUT_MS = 30_000;

export const command: Command = {
  summary: 'drop one pending upload of a mount (its content is kept aside)',
  usage,
  async run(args) {
    const { positionals } = parseCommandLine(args, {});
    if (positionals.length !== 2) throw new ConfigError('discard: expected a mountpoint and a path (usage: filesfs discard <mountpoint> <path>)');
    const target = await canonicalMountpoint(positionals[0]!);
    const path = pathInMount(target, positionals[1]!);
    let result: DiscardResult;
    try {
      result = await askMount<DiscardResult>(target, 'discard', { path }, TIMEOUT_MS);
    } catch (err) {
      if (!(err instanceof MountRequestError)) throw err;
      process.stderr.write(`filesfs: ${err.message}\n`);
      return 1;
    }
    if (result.kind === 'folder') {
      process.stdout.write(`discarded folder ${result.path}: it will not be created on the server\n`);
      return 0;
    }
    const after = result.serverVersion ? 'the mount shows the server\'s version again' : 'it is gone from the mount (the server never had it)';
    process.stdout.write(`discarded ${result.path} (${formatBytes(result.size)} not uploaded); ${after}; its content is at ${result.keptAt}\n`);
    return 0;
  },
};
