// The server as `filesfs status` shows it: the client's view of its health
// (reachable, or unreachable since when and why) and its counters (requests
// by kind and outcome, retries, hedges sent and won, stalls, bytes), as
// plain JSON with ISO times. Read when status is asked; a client without
// them (a test double) shows null.
import type { FilesClient } from '../client/index.js';
import type { ServerStatus } from '../vfs/index.js';

export function serverStatus(client: Pick<FilesClient, 'health' | 'stats'>): ServerStatus | null {
  const health = client.health;
  const stats = client.stats;
  if (!health || !stats) return null;
  const requests = Object.values(stats.requests).reduce((n, byOutcome) => n + Object.values(byOutcome).reduce((a, b) => a + b, 0), 0);
  return {
    state: health.state,
    since: health.since?.toISOString() ?? null,
    lastError: health.lastError,
    lastAnswer: health.lastAnswer?.toISOString() ?? null,
    consecutiveFailures: health.consecutiveFailures,
    requests,
    retries: stats.retries,
    hedges: { ...stats.hedges },
    stalls: stats.stalls,
    bytes: { ...stats.bytes },
    byKind: stats.requests,
  };
}
