// The doctor's mount(8) checks, for a mount listed in /etc/fstab: what
// mount(8) and umount(8) need to find, given that they run helpers with PATH
// removed from the environment:
//   mount.fuse runs `/bin/sh -c 'filesfs' SITE DIR -o ...`, and sh then looks
//   in its built-in list (/usr/local/sbin … /bin); filesfs starts with
//   `#!/usr/bin/env node`, and env without PATH looks in /bin and /usr/bin;
//   umount runs /sbin/umount.fuse.filesfs when it exists, which waits for
//   pending uploads like `filesfs unmount`.
import { accessSync, constants, existsSync } from 'node:fs';
import { join } from 'node:path';
import { ok, warn, fail, type CheckResult } from './check.js';

/** Where /bin/sh (dash, bash) looks when PATH is unset. */
const SHELL_DEFAULT_PATH = ['/usr/local/sbin', '/usr/local/bin', '/usr/sbin', '/usr/bin', '/sbin', '/bin'];
/** Where env(1) looks for node when PATH is unset (glibc's default search path). */
const EXEC_DEFAULT_PATH = ['/bin', '/usr/bin'];
export const UMOUNT_HELPER = '/sbin/umount.fuse.filesfs';

export interface HelperCheckOptions {
  /** Folders searched instead of the defaults (tests). */
  shellPath?: string[];
  execPath?: string[];
  umountHelper?: string;
}

function findIn(dirs: readonly string[], name: string): string | undefined {
  for (const dir of dirs) {
    const candidate = join(dir, name);
    try {
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {
      // not here
    }
  }
  return undefined;
}

export function checkMountHelpers(options: HelperCheckOptions = {}): CheckResult[] {
  const results: CheckResult[] = [];
  const filesfs = findIn(options.shellPath ?? SHELL_DEFAULT_PATH, 'filesfs');
  results.push(filesfs
    ? ok('mount helper', `mount.fuse finds ${filesfs}`)
    : fail('mount helper', `mount.fuse runs "filesfs" with a minimal PATH and would not find it (looked in ${(options.shellPath ?? SHELL_DEFAULT_PATH).join(':')})`, 'ln -s "$(command -v filesfs)" /usr/local/bin/filesfs'));
  const node = findIn(options.execPath ?? EXEC_DEFAULT_PATH, 'node');
  results.push(node
    ? ok('node for mount(8)', `${node} (what filesfs's "#!/usr/bin/env node" finds without PATH)`)
    : fail('node for mount(8)', `node is not in ${(options.execPath ?? EXEC_DEFAULT_PATH).join(' or ')}, where "#!/usr/bin/env node" looks without PATH`, 'ln -s "$(command -v node)" /usr/bin/node'));
  const helper = options.umountHelper ?? UMOUNT_HELPER;
  results.push(existsSync(helper)
    ? ok('umount helper', `${helper}: umount waits for pending uploads, like filesfs unmount`)
    : warn('umount helper', `no ${helper}: umount takes the mount away at once and its pending uploads finish in the background (or resume at the next mount)`, `ln -s "$(command -v filesfs)" ${helper}`));
  return results;
}
