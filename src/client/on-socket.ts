// When a request stops waiting for a connection. undici queues a request in
// its pool while every connection is busy; a timer started when the request
// was made would count that wait as the server's silence, so a request queued
// behind others would look stalled (and be resent, losing its place). This
// undici interceptor tells the caller the moment the request is written to a
// socket (undici's onConnect: "invoked before the request is dispatched on a
// socket"): the timers that judge the server (the hedge threshold, the stall
// watch's patience) and the latencies they learn from start there.
//
// The hook travels in the dispatch options under ON_SOCKET and is taken out
// before undici sees them; the handler is wrapped in a Proxy that calls it
// before the handler's own onConnect (or onRequestStart, in undici's newer
// handler shape), once.
import type { Dispatcher } from 'undici';

/** The dispatch option carrying the hook (a symbol: never sent, never clashing with undici's own). */
export const ON_SOCKET = Symbol('filesfs.onSocket');

export type WithSocketHook = Dispatcher.DispatchOptions & { [ON_SOCKET]?: () => void };

/** Wraps `handler` so that `hook` runs once, just before it learns its request got a socket. */
function hooked<H extends object>(handler: H, hook: () => void): H {
  let called = false;
  return new Proxy(handler, {
    get(target, prop) {
      const value: unknown = Reflect.get(target, prop, target);
      if (typeof value !== 'function') return value;
      const method = value as (...args: unknown[]) => unknown;
      if (prop === 'onConnect' || prop === 'onRequestStart') {
        return (...args: unknown[]) => {
          if (!called) {
            called = true;
            hook();
          }
          return method.apply(target, args);
        };
      }
      return method.bind(target);
    },
  });
}

/** The interceptor: compose it onto an Agent (`agent.compose(reportSocket)`). */
export const reportSocket: Dispatcher.DispatcherComposeInterceptor = (dispatch) => (opts, handler) => {
  const hook = (opts as WithSocketHook)[ON_SOCKET];
  if (!hook) return dispatch(opts, handler);
  const rest: WithSocketHook = { ...opts };
  delete rest[ON_SOCKET];
  return dispatch(rest, hooked(handler, hook));
};
