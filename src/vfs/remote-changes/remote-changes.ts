// Seeing changes made elsewhere sooner than the TTLs, at a known cost: the
// filesystem's one object for refresh (refresh.ts: on demand, for one path)
// and the poll (poller.ts: every --poll-interval, for the folders in use).
// The filesystem reports here which folders programs use (folder-use.ts).
import type { RemoteChangesDeps } from './apply.js';
import { FolderUse } from './folder-use.js';
import { ChangePoller, type PollRound, type PollStatus } from './poller.js';
import { describeRefresh } from './describe-refresh.js';
import { refresh, type RefreshOptions, type RefreshReport } from './refresh.js';

/** What `filesfs status` shows about seeing remote changes. */
export interface RemoteChangesStatus extends PollStatus {
  /** Refreshes asked for since the mount started, and the API requests they made. */
  refreshes: number;
  refreshRequests: number;
}

export class RemoteChanges {
  private readonly use: FolderUse;
  private readonly poller: ChangePoller;
  private refreshes = 0;
  private refreshRequests = 0;

  constructor(private readonly deps: RemoteChangesDeps) {
    this.use = new FolderUse(deps.options.clock);
    this.poller = new ChangePoller(deps, this.use);
  }

  /** A program listed the folder at `dirPath`, or opened a file in it. */
  used(dirPath: string): void {
    this.use.used(dirPath);
  }

  /** Forgets what is cached about a path (a kernel path: "/Reports") and asks the server again. */
  async refresh(kernelPath: string, options: RefreshOptions = {}): Promise<RefreshReport> {
    this.refreshes++;
    const report = await refresh(this.deps, kernelPath, options);
    this.refreshRequests += report.requests;
    this.deps.logger.info('%s%s; %d request%s', describeRefresh(report), report.recursive ? ' (recursive)' : '', report.requests, report.requests === 1 ? '' : 's');
    return report;
  }

  /** The folders a poll would ask about now (remote paths). */
  foldersInUse(): string[] {
    return this.poller.inUse();
  }

  /** One poll now, whether or not polling is on (tests; a poll in progress is joined). */
  pollOnce(): Promise<PollRound> {
    return this.poller.pollOnce();
  }

  /** Polls every --poll-interval from now on (nothing when it is off). */
  start(): void {
    this.poller.start();
  }

  stop(): Promise<void> {
    return this.poller.stop();
  }

  status(): RemoteChangesStatus {
    return { ...this.poller.status(), refreshes: this.refreshes, refreshRequests: this.refreshRequests };
  }
}

