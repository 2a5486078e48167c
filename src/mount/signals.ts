// Process-wide handlers of a mount process: the stop signals (counted, so that
// a second Ctrl-C can mean "now") and the last-resort guard for an exception
// nobody caught, which must not leave a dead mount behind.

/** SIGHUP too: closing the terminal of a foreground mount must not leave a dead mount. */
export const STOP_SIGNALS = ['SIGINT', 'SIGTERM', 'SIGHUP'] as const;
export type StopSignal = (typeof STOP_SIGNALS)[number];

/** Calls `onSignal` with the signal and how many stop signals arrived so far (1, 2, ...). */
export function installStopSignals(onSignal: (signal: StopSignal, count: number) => void): () => void {
  let count = 0;
  const handlers = STOP_SIGNALS.map((signal) => {
    const handler = (): void => onSignal(signal, ++count);
    process.on(signal, handler);
    return { signal, handler };
  });
  return () => {
    for (const { signal, handler } of handlers) process.off(signal, handler);
  };
}

/** Calls `onCrash` for an uncaught exception or unhandled rejection (instead of Node's exit). */
export function installCrashGuard(onCrash: (err: unknown, origin: string) => void): () => void {
  let crashed = false;
  const handler = (err: unknown, origin: string): void => {
    if (crashed) return;
    crashed = true;
    onCrash(err, origin);
  };
  process.on('uncaughtException', handler);
  return () => {
    process.off('uncaughtException', handler);
  };
}
