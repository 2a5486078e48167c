// `filesfs cache clear <mountpoint>`: empties the content cache of a running
// mount (the file blocks it keeps on disk in its cache dir). Pending uploads
// live beside it in the cache dir and are not cache: they stay, and so do
// files open for reading (they read on from the server). Finds the filesfs
// process serving the mountpoint (registry, src/control) and asks it over its
// control socket. Exit status: 0 once emptied, 1 when no running filesfs mount
// is there (or it cannot answer), 2 for usage.
import { ConfigError } from '../../options/config-error.js';
import { canonicalMountpoint } from '../../fuse/mountinfo.js';
import { formatBytes } from '../../vfs/format-bytes.js';
import { parseCommandLine } from '../args.js';
import type { Command } from '../command.js';
import { askMount, MountRequestError } from '../mount-request.js';

const usage = `Usage: filesfs cache clear <mountpoint>

Empties the content cache of a running mount: the blocks of files it keeps on
disk in its cache dir (--cache-size), so that the next reads come from the
server. Pending uploads are not cache: they stay and upload as before.

Options:
  --timeout S           give up after S seconds without an answer (default 60)
  -h, --help            show this help`;

const DEFAULT_TIMEOUT_S = 60;

const fail = (line: string): number => {
  process.stderr.write(`filesfs: ${line}\n`);
  return 1;
};

export const command: Command = {
  summary: 'empty the content cache of a mount (pending uploads stay)',
  usage,
  async run(args) {
    const { values, positionals } = parseCommandLine(args, { timeout: { type: 'string' } });
    if (positionals[0] !== 'clear' || positionals.length !== 2) throw new ConfigError('cache: expected `clear <mountpoint>` (usage: filesfs cache clear <mountpoint>)');
    const timeoutS = values.timeout === undefined ? DEFAULT_TIMEOUT_S : Number(values.timeout);
    if (!(timeoutS > 0)) throw new ConfigError(`--timeout: expected a number of seconds > 0, got ${JSON.stringify(values.timeout)}`);
    const target = await canonicalMountpoint(positionals[1]!);
    let cleared: { blocks: number; bytes: number };
    try {
      cleared = await askMount<{ blocks: number; bytes: number }>(target, 'cache-clear', {}, Math.round(timeoutS * 1000), { unknownMeans: 'has no content cache (an older filesfs)' });
    } catch (err) {
      if (err instanceof MountRequestError) return fail(err.message);
      throw err;
    }
    process.stdout.write(`${target}: content cache emptied (${formatBytes(cleared.bytes)} in ${cleared.blocks} block${cleared.blocks === 1 ? '' : 's'}); pending uploads untouched\n`);
    return 0;
  },
};
