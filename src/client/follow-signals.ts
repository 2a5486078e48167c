// One AbortController that follows other signals (a caller's, the one that
// stops the losing half of a hedge): when any of them aborts, it aborts with
// the same reason. Used by the per-request timers (deadlines.ts,
// stall-watch.ts), which also abort it themselves. The listeners are removed
// by the returned function when the request is over: the parents (a mount's
// long-lived signals among them) must not keep every finished request alive.

/** Makes `controller` abort when any of `parents` does; returns the unlinking function. */
export function followSignals(controller: AbortController, parents: ReadonlyArray<AbortSignal | undefined>): () => void {
  const unlink: Array<() => void> = [];
  for (const parent of parents) {
    if (!parent) continue;
    if (parent.aborted) {
      controller.abort(parent.reason);
      break;
    }
    const onAbort = () => controller.abort(parent.reason);
    parent.addEventListener('abort', onAbort, { once: true });
    unlink.push(() => parent.removeEventListener('abort', onAbort));
  }
  return () => {
    for (const u of unlink.splice(0)) u();
  };
}
