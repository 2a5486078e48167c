// When a request stops waiting for a connection. undici queues a request in
// its pool while every connection is busy; a timer started when the request
// was made would count that wait as the server's silence, so a request queued
// behind others would look stalled (and be resent, losing its place). This
// dispatcher tells the caller the moment the request is written to a
// socket (undici's onConnect: "invoked before the request is dispatched on a
// socket"): the timers that judge the server (the hedge threshold, the stall
// watch's patience) and the latencies they learn from start there.
//
// The hook travels in the dispatch options under ON_SOCKET and is taken out
// before undici sees them; the handler is wrapped in a Proxy that calls it
// before the handler's own onConnect (or onRequestStart, in undici's newer
// handler shape), once. Not an undici interceptor (Agent.compose): compose
// converts every handler to undici's newer handler shape and back, and with
// that the mount's resident memory grew by 15-50 MiB under reads (bench
// memory cases: fio 186-195 → 233-237 MiB, also with an interceptor that
// only passed requests on). A dispatcher that inherits the agent and
// overrides dispatch() leaves the handler as undici made it.
import type { Agent, Dispatcher } from 'undici';

/** The dispatch option carrying the hook (a symbol: never sent, never clashing with undici's own). */
export const ON_SOCKET = Symbol('filesfs.onSocket');

export type WithSocketHook = Dispatcher.DispatchOptions & { [ON_SOCKET]?: () => void };

/** Wraps `handler` so that `hook` runs once, just before it learns its request got a socket. */
function hooked<H extends object>(handler: H, hook: () => void): H {
  let called = false;
  // Each method bound once (undici calls onData for every chunk of a body).
  const bound = new Map<PropertyKey, unknown>();
  return new Proxy(handler, {
    get(target, prop) {
      const known = bound.get(prop);
      if (known !== undefined) return known;
      const value: unknown = Reflect.get(target, prop, target);
      if (typeof value !== 'function') return value;
      const method = value as (...args: unknown[]) => unknown;
      const wrapped =
        prop === 'onConnect' || prop === 'onRequestStart'
          ? (...args: unknown[]) => {
              if (!called) {
                called = true;
                hook();
              }
              return method.apply(target, args);
            }
          : method.bind(target);
      bound.set(prop, wrapped);
      return wrapped;
    },
  });
}

/** `agent`, with the hook: requests through it may carry ON_SOCKET in their options. */
export function withSocketHook(agent: Agent): Dispatcher {
  const hookable = Object.create(agent) as Dispatcher;
  hookable.dispatch = (opts: Dispatcher.DispatchOptions, handler: Dispatcher.DispatchHandler): boolean => {
    const hook = (opts as WithSocketHook)[ON_SOCKET];
    if (!hook) return agent.dispatch(opts, handler);
    const rest: WithSocketHook = { ...opts };
    delete rest[ON_SOCKET];
    return agent.dispatch(rest, hooked(handler, hook));
  };
  return hookable;
}
