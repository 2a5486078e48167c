// Folder moves and copies run asynchronously, as on the real service
// (docs/files-api.md §6): the request answers `pending` with a `file_migration_id`,
// and GET /file_migrations/{id} reports `pending`, then `in_progress`, then
// `completed` (or `failed` with a message). The tree changes only when the
// work is done, so a client has to poll before it sees the result. Migrations
// are kept in memory only: after a restart an unfinished one is lost.
import type { Logger } from '../log/logger.js';
import { ApiError } from './errors.js';
import { REGION } from './entry-json.js';

export type MigrationStatus = 'pending' | 'in_progress' | 'completed' | 'failed';

export interface Migration {
  id: number;
  path: string;
  dest_path: string;
  operation: 'move' | 'copy';
  status: MigrationStatus;
  files_moved: number;
  files_total: number;
  failure_message: string | null;
}

/** Default time a folder move/copy takes (first third pending, rest in progress). */
export const DEFAULT_MIGRATION_MS = 300;
/** Finished migrations are forgotten after this long. */
const KEEP_FINISHED_MS = 60 * 60 * 1000;

export class Migrations {
  private readonly items = new Map<number, Migration & { finishedAt?: number }>();
  private readonly timers = new Set<NodeJS.Timeout>();
  private nextId = 1;

  constructor(private durationMs: number, private readonly logger: Logger) {}

  /** Starts one; `work` runs at the end and resolves to the number of files it handled (once durable). */
  start(operation: 'move' | 'copy', path: string, dest: string, filesTotal: number, work: () => Promise<number>): Migration {
    this.prune();
    const m: Migration = {
      id: this.nextId++, path, dest_path: dest, operation, status: 'pending', files_moved: 0, files_total: filesTotal, failure_message: null,
    };
    this.items.set(m.id, m);
    this.later(this.durationMs / 3, () => {
      if (m.status === 'pending') m.status = 'in_progress';
    });
    this.later(this.durationMs, async () => {
      try {
        m.files_moved = await work();
        m.status = 'completed';
      } catch (err) {
        m.status = 'failed';
        m.failure_message = err instanceof ApiError ? `${err.type}: ${err.message}` : String(err);
        this.logger.info('%s of %s failed: %s', operation, path, m.failure_message);
      }
      this.items.get(m.id)!.finishedAt = Date.now();
    });
    return m;
  }

  get(id: number): Migration {
    const m = this.items.get(id);
    if (!m) throw new ApiError('not-found', 'Not Found.  This may be related to your permissions.');
    return m;
  }

  json(m: Migration): Record<string, unknown> {
    return {
      id: m.id, path: m.path, dest_path: m.dest_path, files_moved: m.files_moved, files_total: m.files_total,
      operation: m.operation, region: REGION, status: m.status, log_url: null, failure_message: m.failure_message,
    };
  }

  stop(): void {
    for (const t of this.timers) clearTimeout(t);
    this.timers.clear();
  }

  private later(ms: number, fn: () => void | Promise<void>): void {
    const t = setTimeout(() => {
      this.timers.delete(t);
      void fn();
    }, ms);
    this.timers.add(t);
  }

  private prune(): void {
    const now = Date.now();
    for (const [id, m] of this.items) if (m.finishedAt && now - m.finishedAt > KEEP_FINISHED_MS) this.items.delete(id);
  }
}
