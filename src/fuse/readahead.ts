// The kernel's read-ahead for a FUSE mount. libfuse 3 asks for up to 1 MiB
// (max_readahead), but the kernel also caps read-ahead at the mount's backing
// device info, /sys/class/bdi/<major:minor>/read_ahead_kb, which starts at
// 128 KiB: without raising it, a sequential reader still gets 128 KiB read
// requests, 8,192 round trips through the event loop per GiB, whatever
// max_read and max_pages allow. Raising it needs root (sysfs); otherwise
// the mount keeps 128 KiB reads, and the log says why at debug level.
import { readFile, writeFile } from 'node:fs/promises';
import type { Logger } from '../log/logger.js';
import { findMount } from './mountinfo.js';

/** Where the kernel keeps the read-ahead of the mount with device "major:minor". */
export function readaheadFile(device: string, root = '/sys/class/bdi'): string {
  return `${root}/${device}/read_ahead_kb`;
}

/** Raises (never lowers) the mount's read-ahead to `bytes`; resolves to the KiB in force, or undefined when unknown. */
export async function raiseReadahead(mountpoint: string, bytes: number, logger: Logger, root?: string): Promise<number | undefined> {
  const entry = await findMount(mountpoint);
  if (!entry) return undefined;
  const file = readaheadFile(entry.device, root);
  const wanted = Math.floor(bytes / 1024);
  try {
    const current = Number((await readFile(file, 'utf8')).trim());
    if (Number.isFinite(current) && current >= wanted) return current;
    await writeFile(file, `${wanted}\n`);
    return wanted;
  } catch (err) {
    logger.debug('kernel read-ahead of %s stays as it is (cannot set %s to %d KiB: %s)', mountpoint, file, wanted, (err as Error).message);
    return undefined;
  }
}
