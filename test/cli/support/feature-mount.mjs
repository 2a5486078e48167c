// A mount process with a test feature plugged into the lifecycle, for
// test/cli/lifecycle-hooks.test.ts: what `filesfs mount` runs (the built
// dist/), plus a feature standing in for write-back. It shows one pending
// file through its write layer, logs each hook as "EVENT <name>" on stderr,
// answers "status", and on unmount "drains" until its DRAIN_MS passes or the
// stop is forced. With CRASH_AFTER_MOUNT it throws from a timer once mounted.
//   node feature-mount.mjs <mountpoint> <base-url> <cache-dir>   (FILES_API_KEY, DRAIN_MS in env)
import { parseMountConfig } from '../../../dist/mount/mount-config.js';
import { runMount } from '../../../dist/mount/mount-process.js';
import { FilesFilesystem, ReadOnlyWrites } from '../../../dist/vfs/index.js';

const [mountpoint, baseUrl, cacheDir] = process.argv.slice(2);
const event = (text) => process.stderr.write(`EVENT ${text}\n`);

const PENDING = {
  path: 'pending.txt', name: 'pending.txt', type: 'file', size: 42, mtime: new Date('2024-01-02T03:04:05Z'),
  serverMtime: null, providedMtime: null, createdAt: null, md5: null, crc32: null, permissions: null,
};

/** A write layer that shows one pending file the server does not have. */
class OnePendingFile extends ReadOnlyWrites {
  localEntry(path) {
    return path === PENDING.path ? PENDING : undefined;
  }
  localChildren(dir) {
    return dir === '' ? [PENDING] : [];
  }
}

const feature = {
  name: 'test-feature',
  setup(ctx) {
    event(`setup cacheDir=${ctx.cacheDir}`);
    ctx.setWriteLayer(() => new OnePendingFile());
    ctx.afterMount('recover', async ({ filesystem, mountpoint: at }) => {
      event(`afterMount filesystem=${filesystem instanceof FilesFilesystem} mountpoint=${at}`);
      // A bug somewhere in the process: an exception nobody catches.
      if (process.env.CRASH_AFTER_MOUNT) setTimeout(() => { throw new Error('boom in a timer'); }, 200);
    });
    ctx.beforeUnmount('drain', async ({ force, signal, progress }) => {
      event(`beforeUnmount force=${force}`);
      progress('draining: 1 file, 42 bytes left', { files: 1, bytes: 42 });
      const finished = await new Promise((resolve) => {
        const timer = setTimeout(() => resolve(true), Number(process.env.DRAIN_MS ?? 0));
        signal.addEventListener('abort', () => { clearTimeout(timer); resolve(false); });
      });
      progress(finished ? 'drained' : 'forced: 1 upload stays in the journal and resumes at the next mount');
    });
    ctx.afterUnmount('close', async () => { event('afterUnmount'); });
    ctx.handle('status', async () => ({ pendingUploads: 1, pendingBytes: 42 }));
  },
};

const config = parseMountConfig({ 'base-url': baseUrl, 'cache-dir': cacheDir }, [mountpoint], process.env);
runMount(config, { features: [feature] }).then(
  (code) => { event(`exit ${code}`); process.exitCode = code; },
  (err) => { process.stderr.write(`filesfs: ${err.message}\n`); process.exitCode = 2; },
);
