// The locks feature of a mount: the server locks the filesystem holds for
// programs here (src/vfs/locks) are released once the kernel mount is gone
// (no program can hold one any more), and `filesfs status` lists them
// through the "locks" control request. A mount with --local-locks has none.
import type { HeldLock, LockManager } from '../vfs/index.js';
import type { MountFeature } from './lifecycle.js';

export const locksFeature: MountFeature = {
  name: 'locks',
  setup(ctx) {
    let locks: LockManager | undefined;
    ctx.afterMount('hold locks', async ({ filesystem }) => {
      locks = filesystem.locks;
    });
    ctx.afterUnmount('release locks', async () => {
      await locks?.close();
    });
    ctx.handle('locks', async (): Promise<HeldLock[]> => locks?.status() ?? []);
  },
};
