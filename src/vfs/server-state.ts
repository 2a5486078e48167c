// What the filesystem layer needs to know about the server's state to serve
// from its caches when the server cannot answer (docs/semantics.md, "When the
// server is down"):
//   - whether the client counts the server as unreachable now (its health,
//     client/health.ts): then what was last seen answers at once, without a
//     request that could only wait for the next probe;
//   - whether a failure is transient (network, timeout, 429, 5xx, the server
//     unreachable): a definite answer (not found, refused, invalid) always
//     counts, but after a transient one the last answer seen is better than
//     EIO;
//   - the log: serving what was last seen is one warning per outage, and a
//     debug line for each answer served that way.
import { isFilesError, type FilesClient } from '../client/index.js';
import type { Logger } from '../log/logger.js';

/** True when trying again later might succeed: the server or the network failed, nothing was decided. */
export function isTransientFailure(err: unknown): boolean {
  return isFilesError(err) && err.transient;
}

export class ServerState {
  /** Set while an outage's warning has been logged; cleared when the server is back. */
  #warned = false;

  constructor(private readonly client: Pick<FilesClient, 'health' | 'onHealthChange'>, private readonly log: Logger) {
    client.onHealthChange?.((health) => {
      if (health.state === 'reachable') this.#warned = false;
    });
  }

  /** The client counts the server as unreachable (requests would fail fast). */
  get down(): boolean {
    return this.client.health?.state === 'unreachable';
  }

  /** What was last seen of `what` answers because the server could not (`why`). */
  servedStale(what: string, why: unknown): void {
    const reason = why instanceof Error ? why.message : String(why);
    if (this.down && !this.#warned) {
      this.#warned = true;
      this.log.warn('the server does not answer (%s); serving files and folders as last seen (cached metadata and contents, and pending files) until it does', reason);
      return;
    }
    this.log.debug('%s: the server could not answer (%s); serving what was last seen', what || '/', reason);
  }
}
