// `filesfs SITE MOUNTPOINT -o OPTIONS`: the mount as mount(8) and /etc/fstab
// start it. For `mount -t fuse.filesfs SITE DIR -o ...` (or an fstab line of
// type fuse.filesfs), the system's mount.fuse helper runs
//   /bin/sh -c "'filesfs' 'SITE' 'DIR' '-o' 'OPTIONS'"
// having dropped _netdev, nofail, noauto, user(s) and setuid= from OPTIONS and
// added "dev,suid" (unless nodev/nosuid); mount(8) has already removed
// comment= and x-* options and cleared PATH (main.ts restores a default one).
// `/sbin/mount.filesfs` (a link to filesfs, for `-t filesfs`) is called by
// mount(8) itself as `mount.filesfs SITE DIR [-sfnv] -o OPTIONS`.
//
// Either way: SITE is the site (options/site.ts), every filesfs option comes
// as its -o spelling (mount/option-spellings.ts), the API key only from a
// file no other user can read (api_key_file=; never on the line), and the
// mount runs in the background as mount(8) expects: this process returns once
// the filesystem is up (exit 0, silent), or with the failure on stderr and
// exit status 2 (a mistake to fix: option, key, mountpoint) or 1 (anything
// else, e.g. the site cannot be reached). The mount's log is
// <cache dir>/filesfs.log.
import { ConfigError } from '../../options/config-error.js';
import { parseSite } from '../../options/site.js';
import { createLogger } from '../../log/logger.js';
import { resolveCredentials } from '../../mount/credentials.js';
import { startDaemon } from '../../mount/daemon.js';
import { MOUNT_FLAGS, parseMountConfig } from '../../mount/mount-config.js';
import { parseCommandLine } from '../args.js';

export const MOUNT_HELPER_USAGE = `Usage: filesfs SITE MOUNTPOINT [-o OPTIONS]
       mount -t fuse.filesfs SITE MOUNTPOINT [-o OPTIONS]
       /etc/fstab:  SITE  MOUNTPOINT  fuse.filesfs  OPTIONS  0  0

Mounts SITE (https://example.files.com, or example.files.com) at MOUNTPOINT in
the background and returns once it is mounted, as mount(8) expects. Every
option of \`filesfs mount\` has an -o spelling: its name with "_" for "-",
e.g. api_key_file=/etc/filesfs/key, root=Reports, cache_dir=DIR, uid=1000,
gid=1000, umask=027, attr_ttl=10, read_only (or ro), allow_other,
metrics=127.0.0.1:9464. libfuse options (noatime, nonempty, ...) pass through;
_netdev, nofail, noauto and x-systemd.* are for mount(8) and systemd.

The API key comes from api_key_file=FILE, a file only its owner can read
(chmod 600): a key on the mount line is refused. The log is in the cache dir
(filesfs.log). \`umount MOUNTPOINT\` or \`filesfs unmount MOUNTPOINT\` unmounts.`;

const HELPER_FLAGS = {
  o: { type: 'string', short: 'o', multiple: true },
  // mount(8) passes these to /sbin/mount.<type> helpers.
  verbose: { type: 'boolean', short: 'v' },
  'no-mtab': { type: 'boolean', short: 'n' },
  sloppy: { type: 'boolean', short: 's' },
  type: { type: 'string', short: 't' },
} as const;

const OUR_TYPES = new Set(['filesfs', 'fuse.filesfs']);

export async function runMountHelper(args: string[]): Promise<number> {
  const { values, positionals } = parseCommandLine(args, HELPER_FLAGS);
  if (positionals.length !== 2) {
    throw new ConfigError(`expected SITE and MOUNTPOINT, got ${positionals.length} argument${positionals.length === 1 ? '' : 's'} (usage: filesfs SITE MOUNTPOINT -o OPTIONS; see filesfs --help)`);
  }
  if (values.type !== undefined && !OUR_TYPES.has(values.type)) throw new ConfigError(`-t ${values.type}: this helper mounts fuse.filesfs only`);
  const [site, mountpoint] = positionals as [string, string];
  const baseUrl = parseSite('the mount source', site);
  const lists = values.o ?? [];
  if (lists.some((list) => list.split(',').some((item) => item.trim().startsWith('base_url=')))) {
    throw new ConfigError(`-o base_url: the site is the mount source (${site}); drop base_url=`);
  }

  const mountArgs = [mountpoint, '--base-url', baseUrl, ...lists.flatMap((list) => ['-o', list])];
  const { values: flags, positionals: rest } = parseCommandLine(mountArgs, MOUNT_FLAGS);
  const config = parseMountConfig(flags, rest);
  // Here, in the caller's terminal (or the mount unit's log): what needs no server.
  resolveCredentials({ ...config.credentials, baseUrl: config.baseUrl, logger: createLogger({ level: config.logLevel }), privateKeyFile: true });
  return startDaemon(mountArgs, config.cacheDir, config.mountpoint, { quiet: values.verbose !== true });
}
