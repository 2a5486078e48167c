// `filesfs doctor [MOUNTPOINT] [options]`: checks, in order, everything a
// mount needs and prints one line per check, with what to do for each
// failure (src/doctor). It takes the options of `filesfs mount` (the site,
// credentials, root, cache dir, ...), so that it checks the mount you are
// about to make; given the MOUNTPOINT of a filesfs line in /etc/fstab, it
// checks that mount with that line's site and options. Exit status 0 when no
// check failed (warnings allowed), 1 otherwise, 2 for a bad option.
import { ConfigError } from '../../options/config-error.js';
import { findFstabEntry } from '../../mount/fstab.js';
import { MOUNT_FLAGS, parseMountConfig } from '../../mount/mount-config.js';
import { parseSite } from '../../options/site.js';
import { formatResult, summarize } from '../../doctor/check.js';
import { runDoctor } from '../../doctor/run.js';
import { VERSION } from '../../version.js';
import { parseCommandLine } from '../args.js';
import type { Command } from '../command.js';

const usage = `Usage: filesfs doctor [MOUNTPOINT] [options]

Checks, in order, what a mount needs, one line each, with what to do about
each failure:
  FUSE          /dev/fuse, the FUSE library, fusermount, allow_other if asked
  native binding  built with our patch, and it loads
  mount(8)      for an /etc/fstab mount: filesfs and node where mount.fuse
                looks, and the umount helper
  credentials   which ones, from where (never the secret)
  site          it answers; TLS chain and trust; this clock against its Date
  permission    the credentials may list the folder to mount
  cache dir     free space; uploads still waiting in its journal
Exit status 0 when nothing failed (warnings allowed), 1 otherwise.

  MOUNTPOINT            a mountpoint with a filesfs line in /etc/fstab:
                        check that mount, with the line's site and options
  --fstab FILE          read FILE instead of /etc/fstab

Options as for \`filesfs mount\` (see filesfs mount --help), e.g.
  --base-url URL, --api-key-file FILE, --root PATH, --cache-dir DIR,
  --allow-other, --ca-file FILE, --source-ip IP, --connect-timeout S,
  -o OPTS (the -o spellings: -o api_key_file=FILE,root=PATH)`;

const DOCTOR_FLAGS = { ...MOUNT_FLAGS, fstab: { type: 'string' } } as const;

export const command: Command = {
  summary: 'check FUSE, the native binding, credentials, the site and the cache dir',
  usage,
  async run(args) {
    const { values, positionals } = parseCommandLine(args, DOCTOR_FLAGS);
    if (positionals.length > 1) throw new ConfigError(`doctor: at most one mountpoint, got ${positionals.length}`);
    const { fstab: fstabFile, ...flags } = values;
    const mountpoint = positionals[0];
    const entry = mountpoint === undefined ? undefined : findFstabEntry(mountpoint, fstabFile);
    if (fstabFile !== undefined && mountpoint !== undefined && !entry) throw new ConfigError(`${fstabFile} has no filesfs line for ${mountpoint}`);

    let config;
    if (entry) {
      // The line's site and options first; options given here add to them.
      if (flags['base-url'] !== undefined) throw new ConfigError(`--base-url: the site of ${mountpoint} is its mount source in ${fstabFile ?? '/etc/fstab'} (${entry.site})`);
      const lineOptions = entry.options === 'defaults' ? [] : [entry.options];
      const fromLine = { ...flags, 'base-url': parseSite(`the mount source of ${mountpoint}`, entry.site), o: [...lineOptions, ...((flags.o as string[] | undefined) ?? [])] };
      config = parseMountConfig(fromLine, [entry.mountpoint]);
      console.log(`filesfs ${VERSION} doctor: ${entry.mountpoint} from ${fstabFile ?? '/etc/fstab'} line ${entry.line} (${config.baseUrl}${config.remoteRoot ? `, folder /${config.remoteRoot}` : ''})`);
    } else {
      config = parseMountConfig(flags, [mountpoint ?? '.']);
      console.log(`filesfs ${VERSION} doctor: ${config.baseUrl}${config.remoteRoot ? `, folder /${config.remoteRoot}` : ''}`);
    }
    const results = await runDoctor({ config, fstab: entry !== undefined, onResult: (r) => console.log(formatResult(r)) });
    console.log(summarize(results));
    return results.some((r) => r.status === 'fail') ? 1 : 0;
  },
};
