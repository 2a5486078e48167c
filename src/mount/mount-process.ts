// One mount, from start to exit: the process that `filesfs mount` (and the
// demo) runs. In order:
//   credentials → client → one request to check key and root → cache dir
//   (0700) → control socket (the cache dir's lock) → features' setup →
//   the metrics endpoint (--metrics) → registry record → the filesystem (one
//   place: the write layer goes in here) → the kernel mount → "mounted" →
//   afterMount hooks in the background
// (the check comes first, so that a typo leaves no cache dir behind), and then
// waits for a stop: SIGINT/SIGTERM/SIGHUP, `filesfs unmount` over the
// control socket, or the mount disappearing (someone ran fusermount3 -u). The
// stop runs Shutdown's ordered steps (beforeUnmount hooks, unmount with a
// lazy fallback, afterUnmount hooks), then closes the socket, the registry
// record and the client. A second stop signal forces (skips the waiting), a
// third detaches the mount lazily and exits at once. An exception nobody
// caught is logged, the mount detached lazily, and the process exits 1: a
// mount process never leaves a dead mount behind when it can help it.
//
// Resolves to the exit status: 0 after a clean unmount, 1 when a step
// failed, 130 when stopped before the kernel mount was there (a stop that
// arrives while the kernel mounts is an ordinary stop once it has). Startup
// failures reject (ConfigError/MountError: the user's to fix; others: one
// line, status 1).
import { HttpFilesClient, type ClientCredentials } from '../client/index.js';
import { preparePrivateDir } from '../options/private-dir.js';
import { resolveCredentials, type Credentials } from './credentials.js';
import type { MountConfig } from './mount-config.js';
import { ControlServer, type MountInfo, registerMount } from '../control/index.js';
import { isMountpoint, lazyUnmount, mountFilesystem, type Mount } from '../fuse/index.js';
import { createLogger, type Logger } from '../log/logger.js';
import { MountMetrics, serveMetrics, type MetricsServer } from '../metrics/index.js';
import { VERSION } from '../version.js';
import { createFilesystem } from '../vfs/index.js';
import { notifyDaemonParent } from './daemon.js';
import { MOUNT_FEATURES } from './features.js';
import { LifecycleRegistry, type MountFeature } from './lifecycle.js';
import { verifyRemote } from './preflight.js';
import { Shutdown } from './shutdown.js';
import { installCrashGuard, installStopSignals, type StopSignal } from './signals.js';

/** How often the mount process checks that its mount is still there (an outside `fusermount3 -u`). */
const MOUNT_WATCH_INTERVAL_MS = 1_000;
/** Longest wait for the lazy unmount before a crashing process exits anyway. */
const EMERGENCY_EXIT_MS = 5_000;

export interface RunMountOptions {
  /** Default: MOUNT_FEATURES. */
  features?: readonly MountFeature[];
  /** Default: stderr at config.logLevel. */
  logger?: Logger;
  /** Called once the mount is usable (the demo prints what to try). */
  onMounted?: (info: MountedInfo) => void;
  /** Registry location (XDG_RUNTIME_DIR); default process.env. */
  env?: NodeJS.ProcessEnv;
}

export interface MountedInfo extends MountInfo {
  /** Files can be created and written (a write layer is set and the mount is not read-only). */
  contentWrites: boolean;
}

/** Stopped by a signal or `filesfs unmount` before the mount was up. */
class StartupInterrupted extends Error {}

function clientCredentials(credentials: Credentials): ClientCredentials {
  return credentials.kind === 'api-key' ? { apiKey: credentials.apiKey } : { username: credentials.username, password: credentials.password };
}

export async function runMount(config: MountConfig, options: RunMountOptions = {}): Promise<number> {
  const logger = options.logger ?? createLogger({ level: config.logLevel, component: 'mount' });
  const features = options.features ?? MOUNT_FEATURES;
  const startup = new AbortController();
  let shutdown: Shutdown | undefined;
  let mountedAt: string | undefined;

  const emergency = (why: string): void => {
    const target = mountedAt;
    logger.error('%s; %s', why, target ? `detaching ${target} (fusermount3 -uz) and exiting` : 'exiting');
    setTimeout(() => process.exit(1), EMERGENCY_EXIT_MS).unref();
    void (target ? lazyUnmount(target) : Promise.resolve(false)).catch((err: unknown) => {
      logger.error('could not detach %s: %s; run: fusermount3 -uz %s', target, (err as Error).message, target);
    }).finally(() => process.exit(1));
  };
  const uninstallSignals = installStopSignals((signal: StopSignal, count: number) => {
    if (!shutdown) {
      startup.abort(new StartupInterrupted(`${signal} received while starting`));
      if (count >= 3) emergency(`${signal} received ${count} times`);
      return;
    }
    if (count === 1) {
      if (shutdown.hasWaitingSteps) logger.info('(%s again to unmount at once, without waiting)', signal === 'SIGINT' ? 'Ctrl-C' : signal);
      void shutdown.request(`${signal} received`);
    } else if (count === 2) {
      void shutdown.request(`${signal} received again`, { force: true });
    } else {
      emergency(`${signal} received ${count} times`);
    }
  });
  const uninstallCrashGuard = installCrashGuard((err, origin) => {
    const message = err instanceof Error ? err.message : String(err);
    if (err instanceof Error && err.stack) logger.debug('%s', err.stack);
    emergency(`unexpected failure (${origin}): ${message}`);
  });

  const interrupted = (): void => {
    if (startup.signal.aborted) throw startup.signal.reason instanceof Error ? startup.signal.reason : new StartupInterrupted('stopped');
  };

  // What has been set up so far, released in reverse order on the way out.
  let control: ControlServer | undefined;
  let client: HttpFilesClient | undefined;
  let mount: Mount | undefined;
  let unregister: (() => Promise<void>) | undefined;
  let metricsServer: MetricsServer | undefined;
  const metrics = config.metrics ? new MountMetrics({ baseUrl: config.baseUrl, version: VERSION, root: config.remoteRoot }) : undefined;
  const release = async (): Promise<void> => {
    const steps: Array<[string, (() => Promise<unknown>) | undefined]> = [
      ['metrics endpoint', metricsServer && (() => metricsServer!.close())],
      ['registry record', unregister],
      ['control socket', control && (() => control!.close())],
      ['client', client && (() => client!.close())],
    ];
    for (const [what, step] of steps) await step?.().catch((err: unknown) => logger.debug('closing the %s: %s', what, (err as Error).message));
    metrics?.close();
    uninstallSignals();
    uninstallCrashGuard();
  };

  const registry = new LifecycleRegistry();
  let remoteRoot = config.remoteRoot;
  let filesystem: ReturnType<typeof createFilesystem>;
  try {
    const sources = { ...config.credentials, baseUrl: config.baseUrl, logger };
    const credentials = resolveCredentials(sources);
    client = new HttpFilesClient({
      ...config.client,
      credentials: clientCredentials(credentials),
      // After a 401 the client asks again: a key replaced in --api-key-file (or ~/.netrc) is used at once.
      credentialsSource: () => clientCredentials(resolveCredentials(sources)),
      logger: logger.child('client'),
      ...(metrics ? { observer: metrics.requestObserver } : {}),
    });
    remoteRoot = await verifyRemote(client, { baseUrl: config.baseUrl, remoteRoot: config.remoteRoot, credentialSource: credentials.source, signal: startup.signal })
      .catch((err: unknown) => { interrupted(); throw err; });
    interrupted();

    preparePrivateDir(config.cacheDir);
    const info: MountInfo = {
      pid: process.pid,
      mountpoint: config.mountpoint,
      cacheDir: config.cacheDir,
      baseUrl: config.baseUrl,
      root: remoteRoot,
      startedAt: new Date().toISOString(),
      version: VERSION,
    };
    control = await ControlServer.bind(config.cacheDir, info, logger.child('control'));
    control.handle('unmount', async (args, { progress }) => {
      if (!shutdown) {
        startup.abort(new StartupInterrupted('unmount requested while starting'));
        return { unmounted: true, mountpoint: config.mountpoint };
      }
      const unsubscribe = shutdown.subscribe(progress);
      try {
        const outcome = await shutdown.request('unmount requested (filesfs unmount)', { force: args.force === true });
        if (!outcome.unmounted) throw new Error(outcome.failures.join('; '));
        return { unmounted: true, mountpoint: mountedAt, failures: outcome.failures, leftUndone: outcome.leftUndone };
      } finally {
        unsubscribe();
      }
    });

    for (const feature of features) {
      await feature.setup(registry.contextFor(feature.name, { config, client, cacheDir: config.cacheDir, logger: logger.child(feature.name) }));
    }
    for (const { op, handler } of registry.handlers) control.handle(op, handler);
    if (metrics && config.metrics) {
      metricsServer = await serveMetrics(metrics, config.metrics, logger.child('metrics'), config.metrics.option);
      logger.info('metrics at %s', metricsServer.url);
    }
    // Before the kernel mount: once `mountpoint -q` succeeds, `filesfs unmount` finds this process.
    unregister = await registerMount({ ...info, socket: control.socketPath }, options.env);
    interrupted();

    filesystem = createFilesystem(client, { ...config.filesystem, remoteRoot, logger }, registry.writeLayer ? { writeLayer: registry.writeLayer } : {});
    // Cached file contents (`filesfs status`, `filesfs cache clear`); kept for the next mount once its writes are done.
    const contents = filesystem;
    control.handle('cache', async () => contents.contentStatus());
    control.handle('cache-clear', async () => contents.clearContentCache());
    registry.afterUnmount.push({ name: 'content cache: finish writing', hook: () => contents.close() });
    const remoteChanges = filesystem.remoteChanges;
    metrics?.watch({ cacheCounters: filesystem.cacheCounters, pollStatus: () => remoteChanges.status(), ...(registry.uploadStatus ? { uploadStatus: registry.uploadStatus } : {}) });
    mount = await mountFilesystem(filesystem, config.mountpoint, {
      ...config.mount, logger: logger.child('fuse'),
      ...(metrics ? { operationObserver: metrics.operationObserver } : {}),
    });
    mountedAt = mount.mountpoint;
    // No await from here to `shutdown`: a stop that arrived while the kernel
    // mounted is handled below as an ordinary stop.
  } catch (err) {
    await release();
    if (err instanceof StartupInterrupted) {
      logger.info('%s; stopped', err.message);
      return 130;
    }
    throw err;
  }

  // Up. From here every way out goes through `shutdown`.
  const mounted = mount;
  const running = new AbortController();
  shutdown = new Shutdown({
    beforeUnmount: registry.beforeUnmount,
    unmount: () => {
      running.abort();
      return unmountKernel(mounted, logger);
    },
    afterUnmount: registry.afterUnmount,
    logger,
  });
  if (startup.signal.aborted) {
    const reason = startup.signal.reason instanceof Error ? startup.signal.reason.message : 'stop requested while starting';
    void shutdown.request(reason);
  }
  const watcher = setInterval(() => {
    if (shutdown!.started) return;
    void isMountpoint(mounted.mountpoint).then((present) => {
      if (present || shutdown!.started) return;
      // umount(2) of a fuse mount tells the filesystem nothing (the kernel sends
      // DESTROY only to fuseblk): the mount is gone, the cache dir is not.
      logger.info('%s was unmounted from outside (umount or fusermount3 -u): pending uploads, if any, go on from the cache dir %s before this process exits; if it is stopped first, they stay in its journal and resume at the next mount', mounted.mountpoint, config.cacheDir);
      void shutdown!.request(`${mounted.mountpoint} was unmounted from outside`);
    }, () => undefined);
  }, MOUNT_WATCH_INTERVAL_MS);

  const what = remoteRoot ? `${config.baseUrl} folder "/${remoteRoot}"` : config.baseUrl;
  logger.info('mounted %s at %s (%scache dir %s); unmount with %sfilesfs unmount %s',
    what, mounted.mountpoint, config.mount.readOnly ? 'read-only; ' : '', config.cacheDir,
    process.stdin.isTTY && !config.daemon ? 'Ctrl-C or ' : '', mounted.mountpoint);
  notifyDaemonParent({ event: 'mounted', pid: process.pid, mountpoint: mounted.mountpoint });
  options.onMounted?.({
    pid: process.pid, mountpoint: mounted.mountpoint, cacheDir: config.cacheDir, baseUrl: config.baseUrl,
    root: remoteRoot, startedAt: new Date().toISOString(), version: VERSION,
    contentWrites: registry.writeLayer !== undefined && !config.mount.readOnly,
  });

  for (const { name, hook } of registry.afterMount) {
    void hook({ filesystem, mountpoint: mounted.mountpoint, signal: running.signal }).catch((err: unknown) => {
      logger.error('%s failed: %s', name, err instanceof Error ? err.message : String(err));
    });
  }

  const outcome = await shutdown.finished;
  clearInterval(watcher);
  await release();
  if (outcome.unmounted) logger.info('unmounted %s', mounted.mountpoint);
  return outcome.unmounted && outcome.failures.length === 0 ? 0 : 1;
}

/** fusermount3 -u (lazily when busy, inside Mount.unmount); if that fails, -uz; rejects if still mounted. */
async function unmountKernel(mount: Mount, logger: Logger): Promise<void> {
  try {
    await mount.unmount();
  } catch (err) {
    logger.warn('%s; detaching it lazily (fusermount3 -uz)', (err as Error).message);
    await lazyUnmount(mount.mountpoint);
    if (await isMountpoint(mount.mountpoint)) throw new Error(`${mount.mountpoint} is still mounted; run: fusermount3 -uz ${mount.mountpoint}`);
  }
}
