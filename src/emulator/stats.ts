// Request counters for tests and benchmarks (GET /__emulator/stats): every
// API and transfer request counts under its route key, faulted ones too, and
// every accepted TCP (or TLS) connection counts in `connections`, every
// request that was given an injected fault in `faults`.

export const STAT_KEYS = [
  'GET /folders', 'GET /file_actions/metadata', 'GET /files', 'POST /files', 'POST /file_actions/begin_upload',
  'PUT upload', 'GET download', 'POST /folders', 'DELETE /files', 'POST /file_actions/move', 'POST /file_actions/copy',
  'PATCH /files', 'GET /file_migrations', 'POST /sessions', 'DELETE /sessions',
  'GET /locks', 'POST /locks', 'DELETE /locks', 'GET /behaviors', 'POST /behaviors', 'PATCH /behaviors', 'DELETE /behaviors', 'GET /api_key',
] as const;
export type StatKey = (typeof STAT_KEYS)[number] | 'other';

export interface EmulatorStats {
  total: number;
  requests: Record<string, number>;
  connections: number;
  faults: number;
}

export class Stats {
  private total = 0;
  private connections = 0;
  private faults = 0;
  private requests = new Map<string, number>();

  count(key: StatKey): void {
    this.total++;
    this.requests.set(key, (this.requests.get(key) ?? 0) + 1);
  }

  connection(): void {
    this.connections++;
  }

  fault(): void {
    this.faults++;
  }

  reset(): void {
    this.total = 0;
    this.connections = 0;
    this.faults = 0;
    this.requests.clear();
  }

  snapshot(): EmulatorStats {
    const requests: Record<string, number> = {};
    for (const k of STAT_KEYS) requests[k] = this.requests.get(k) ?? 0;
    const other = this.requests.get('other');
    if (other) requests.other = other;
    return { total: this.total, requests, connections: this.connections, faults: this.faults };
  }
}
