// The seams of a running mount: what optional parts (features, e.g.
// write-back) may plug into, and in which order they run.
//
//   setup          before the filesystem is built: setWriteLayer(factory)
//   afterMount     once the kernel has the mount; run in the background
//                  while the mount is usable (e.g. journal recovery)
//   beforeUnmount  in registration order when the mount is asked to stop
//                  (SIGINT/SIGTERM, `filesfs unmount`, an outside unmount),
//                  before the kernel mount goes (e.g. drain pending uploads)
//   afterUnmount   once the kernel mount is gone, before the process exits
//                  (e.g. close the journal)
//   handle(op)     control socket requests (e.g. "status")
//   setUploadStatus  what is waiting to upload, read when metrics are scraped
//
// A feature is `{ name, setup(context) }` listed in features.ts; setup only
// registers. Nothing here knows about any feature.
import type { ControlHandler } from '../control/index.js';
import type { MountConfig } from './mount-config.js';
import type { FilesClient } from '../client/index.js';
import type { Logger } from '../log/logger.js';
import type { FilesFilesystem, VfsContext, WriteBackStatus, WriteLayer } from '../vfs/index.js';

/** What a beforeUnmount hook receives. */
export interface ShutdownContext {
  /**
   * true when the stop must not wait (a second SIGINT/SIGTERM, `filesfs
   * unmount --force`): record what is left (it resumes at the next mount),
   * say so through `progress`, and return at once.
   */
  readonly force: boolean;
  /** Aborted when a forced stop arrives while the hook runs; it then has a short grace to return. */
  readonly signal: AbortSignal;
  /** One progress line: logged at info, and streamed to every `filesfs unmount` waiting. */
  progress(message: string, data?: Record<string, unknown>): void;
  /**
   * Work this step leaves undone (uploads left in the journal, one line):
   * the mount still goes, and `filesfs unmount` says so and exits with its
   * own status.
   */
  leftUndone(summary: string): void;
}

export type ShutdownHook = (context: ShutdownContext) => Promise<void>;

/** What an afterMount hook receives. */
export interface MountedContext {
  readonly filesystem: FilesFilesystem;
  /** Absolute mountpoint. */
  readonly mountpoint: string;
  /** Aborted when the mount starts to stop. */
  readonly signal: AbortSignal;
}

export type StartupHook = (context: MountedContext) => Promise<void>;

/** Given to each feature's setup(). */
export interface FeatureContext {
  readonly config: MountConfig;
  readonly client: FilesClient;
  /** The mount's private cache dir (0700), already locked by this mount. */
  readonly cacheDir: string;
  readonly logger: Logger;
  /** The write layer the filesystem is built with; at most one feature sets it. */
  setWriteLayer(factory: (context: VfsContext) => WriteLayer): void;
  afterMount(name: string, hook: StartupHook): void;
  beforeUnmount(name: string, hook: ShutdownHook): void;
  afterUnmount(name: string, hook: () => Promise<void>): void;
  /** Answers control socket requests `op` (see src/control). */
  handle(op: string, handler: ControlHandler): void;
  /** The write-back status at this instant (for metrics); at most one feature sets it. */
  setUploadStatus(read: () => WriteBackStatus): void;
}

export interface MountFeature {
  readonly name: string;
  setup(context: FeatureContext): void | Promise<void>;
}

export interface Named<T> {
  name: string;
  hook: T;
}

/** Everything features registered, in order. */
export class LifecycleRegistry {
  writeLayer: ((context: VfsContext) => WriteLayer) | undefined;
  #writeLayerOwner: string | undefined;
  readonly afterMount: Named<StartupHook>[] = [];
  readonly beforeUnmount: Named<ShutdownHook>[] = [];
  readonly afterUnmount: Named<() => Promise<void>>[] = [];
  readonly handlers: Array<{ op: string; handler: ControlHandler }> = [];
  uploadStatus: (() => WriteBackStatus) | undefined;

  /** The context handed to one feature's setup. */
  contextFor(feature: string, base: Pick<FeatureContext, 'config' | 'client' | 'cacheDir' | 'logger'>): FeatureContext {
    return {
      ...base,
      setWriteLayer: (factory) => {
        if (this.#writeLayerOwner) throw new Error(`features ${this.#writeLayerOwner} and ${feature} both set the write layer`);
        this.#writeLayerOwner = feature;
        this.writeLayer = factory;
      },
      afterMount: (name, hook) => { this.afterMount.push({ name: `${feature}: ${name}`, hook }); },
      beforeUnmount: (name, hook) => { this.beforeUnmount.push({ name: `${feature}: ${name}`, hook }); },
      afterUnmount: (name, hook) => { this.afterUnmount.push({ name: `${feature}: ${name}`, hook }); },
      handle: (op, handler) => { this.handlers.push({ op, handler }); },
      setUploadStatus: (read) => { this.uploadStatus = read; },
    };
  }
}
