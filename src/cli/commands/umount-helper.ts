// `/sbin/umount.fuse.filesfs` (a link to filesfs): what `umount DIR` runs for
// a filesfs mount, so that umount waits for pending uploads like
// `filesfs unmount` instead of cutting the mount away from under them.
//
// umount(8) calls `/sbin/umount.<type> DIR [-flnrv] [-t type]` for a mount of
// type fuse.filesfs when it looks the mount up in the mount table: always
// under systemd (it runs `umount -c`), for `umount -l`/`-f`/`-v`, and for a
// plain `umount DIR` when the mount has a utab entry, which mount(8) writes
// for mounts with options such as _netdev or x-systemd.*. A plain `umount
// DIR` of a mount without one takes a shortcut (statfs) that knows the type
// only as "fuse" and calls no helper: the kernel then removes the mount at
// once (for a fuse mount it sends the filesystem nothing), and the filesfs
// process, which watches its mount, uploads what is pending in the
// background before it exits; what it cannot finish stays in the journal
// and resumes at the next mount.
//
//   -f   force: do not wait for pending uploads (they stay in the journal)
//   -l   lazy: filesfs detaches a busy mount lazily anyway
//   -n, -r, -v, -t TYPE: accepted (no mtab to write; nothing to remount)
import { ConfigError } from '../../options/config-error.js';
import { parseCommandLine } from '../args.js';
import { command as unmount, EXIT_LEFT_UNDONE } from './unmount.js';

const HELPER_FLAGS = {
  force: { type: 'boolean', short: 'f' },
  lazy: { type: 'boolean', short: 'l' },
  'no-mtab': { type: 'boolean', short: 'n' },
  'read-only-on-failure': { type: 'boolean', short: 'r' },
  verbose: { type: 'boolean', short: 'v' },
  type: { type: 'string', short: 't' },
} as const;

export async function runUmountHelper(args: string[]): Promise<number> {
  const { values, positionals } = parseCommandLine(args, HELPER_FLAGS);
  if (positionals.length !== 1) throw new ConfigError(`expected one mountpoint, got ${positionals.length} (usage: umount.fuse.filesfs MOUNTPOINT [-f] [-l] [-v])`);
  if (values.type !== undefined && !['fuse.filesfs', 'filesfs'].includes(values.type)) throw new ConfigError(`-t ${values.type}: this helper unmounts fuse.filesfs only`);
  const status = await unmount.run([positionals[0]!, ...(values.force ? ['--force'] : [])]);
  // umount(8) and systemd read any other status as "not unmounted"; it was (what is left is said, and resumes at the next mount).
  return status === EXIT_LEFT_UNDONE ? 0 : status;
}
