// Encoding an errno name as the number the kernel gets. Which errno a failure
// means is decided in the filesystem layer (src/vfs/errno.ts); this module only
// looks the name up in the platform's table (os.constants.errno) and negates
// it, as fuse-native callbacks take it.
import { constants } from 'node:os';

const ERRNO = constants.errno as Readonly<Record<string, number | undefined>>;

/** The negative errno for a code name; EIO for a name this platform lacks. */
export function errnoOf(code: string): number {
  return -(ERRNO[code] ?? ERRNO.EIO ?? 5);
}
