// The remote-changes feature of a mount: plugs refresh and --poll-interval
// (src/vfs/remote-changes) into the mount lifecycle (lifecycle.ts).
//   afterMount     starts polling every --poll-interval (when set); stops
//                  when the mount starts to stop
//   "refresh"      answers `filesfs refresh`: args {path, recursive}, path
//                  relative to the mountpoint ("/Reports"); the result is the
//                  RefreshReport
//   "poll"         the poll's counters and the refreshes' (RemoteChangesStatus),
//                  which `filesfs status` shows
import type { FilesFilesystem, RemoteChangesStatus } from '../vfs/index.js';
import type { MountFeature } from './lifecycle.js';

export const remoteChangesFeature: MountFeature = {
  name: 'remote-changes',
  setup(ctx) {
    let filesystem: FilesFilesystem | undefined;
    ctx.afterMount('poll for remote changes', async ({ filesystem: fs, signal }) => {
      filesystem = fs;
      const seconds = (ctx.config.filesystem.pollIntervalMs ?? 0) / 1000;
      if (seconds <= 0) return;
      fs.remoteChanges.start();
      ctx.logger.info('asking the server every %s s what changed in the folders in use (--poll-interval)', seconds);
      signal.addEventListener('abort', () => void fs.remoteChanges.stop(), { once: true });
    });
    ctx.handle('refresh', async (args) => {
      if (!filesystem) throw new Error('the mount is not up yet');
      const path = typeof args.path === 'string' && args.path.startsWith('/') ? args.path : undefined;
      if (path === undefined) throw new Error('refresh: expected a path relative to the mountpoint, starting with "/"');
      return filesystem.refresh(path, { recursive: args.recursive === true });
    });
    ctx.handle('poll', async (): Promise<RemoteChangesStatus | null> => filesystem?.remoteChanges.status() ?? null);
  },
};
