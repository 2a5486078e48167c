// A running mount's control channel: the private socket in its cache dir (also
// the cache dir's lock), the registry that maps a mountpoint to the process
// serving it, and the request function commands use.
//
//   const mount = await findMount('/mnt/files');            // undefined: no filesfs mount there
//   const status = await controlRequest(mount.socket, 'status', { onProgress: (p) => … });
//
// In the mount process: `ControlServer.bind(cacheDir, info)` then
// `server.handle(op, async (args, { progress, signal }) => result)`; the mount
// lifecycle (src/mount) does this and exposes `handle` to its features.
export { ControlServer, controlSocketPath } from './server.js';
export type { ControlHandler, HandlerContext } from './server.js';
export { controlRequest, ControlRequestError, ControlTimeoutError, ControlUnavailableError } from './client.js';
export type { ControlRequestOptions } from './client.js';
export { findMount, listMounts, processAlive, registerMount, registryDir } from './registry.js';
export type { MountRecord } from './registry.js';
export { CONTROL_SOCKET_NAME } from './protocol.js';
export type { MountInfo, ProgressUpdate } from './protocol.js';
