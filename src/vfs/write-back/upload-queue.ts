// Slots for uploads: how many run at once, and in which lane. The queue knows
// an upload port and nothing else: for an item, how many bytes its next
// attempt would send, how to start that attempt (the port snapshots what to
// send, or says "not now"), and where to report how its requests settled. It
// never looks inside an item; what an item is (a pending file), when it is
// added (after its upload delay, at once for fsync), and what an outcome means
// (landed, retry, refusal) belong to the port (uploads.ts). rclone's
// write-back queue, which knows a name, a size and a put function, is the
// model.
//
// Two p-queues: small items (at most SMALL_FILE_BYTES: the client reads them
// whole and sends them in three short requests, begin_upload, PUT and end) in
// a lane of `smallUploadConcurrency` (the mount makes it four times the
// client's connection pool: a small upload waiting to retry holds no
// connection), since a folder of small files is bound by round trips, not
// bandwidth; the
// others `uploadConcurrency` at a time, each with the client's parallel parts
// inside, and at most LARGE_UPLOADS_AT_ONCE larger than one part. A slot is
// free as soon as the attempt's requests are over: the port's bookkeeping
// after that (a journal record removed, a directory fsync) does not hold it.
import PQueue from 'p-queue';
import { MIN_PART_SIZE, SMALL_FILE_BYTES } from '../../client/index.js';
import type { Logger } from '../../log/logger.js';

/** One attempt the port started: its requests, then whatever the port records. */
export interface UploadTransfer {
  /** Bytes this attempt sends (decides whether it takes a large slot). */
  readonly bytes: number;
  /** The attempt's requests; resolves or rejects when they are over. */
  send(): Promise<unknown>;
}

/** What the queue may ask of the items it runs. */
export interface UploadPort<Item> {
  /** Bytes the item's next attempt would send (its lane). */
  bytes(item: Item): number;
  /** Starts one attempt (a snapshot of what to send), or null when the item must not start now. */
  begin(item: Item): Promise<UploadTransfer | null>;
  /** The attempt's requests are over: `error` is undefined when they succeeded with `result`. */
  settled(item: Item, transfer: UploadTransfer, result: unknown, error: unknown): Promise<void>;
  /** The item, for a log line. */
  describe(item: Item): string;
}

export interface UploadQueueOptions {
  uploadConcurrency: number;
  smallUploadConcurrency: number;
}

/**
 * Items larger than one part (the client's 5 MiB minimum) uploading at once,
 * at most. Each already sends the client's parallel parts (8 by default, each
 * reading ahead ~1 MiB of its staging file), which fill the link on their
 * own; more of them at once would only multiply the memory in flight. Small
 * items keep the other slots, so a folder of big files does not hold up the
 * small ones copied with it.
 */
const LARGE_UPLOADS_AT_ONCE = 2;
const LARGE = MIN_PART_SIZE;

type Lane = 'small' | 'other';

export class UploadQueue<Item> {
  private readonly lanes: Record<Lane, PQueue>;
  /** Items added and not yet taken from their lane. */
  private readonly waitingItems = new Set<Item>();
  /** Large attempts in flight, and large items waiting for one of their slots. */
  private largeRunning = 0;
  private readonly largeWaiting = new Set<Item>();
  private closed = false;

  constructor(private readonly port: UploadPort<Item>, options: UploadQueueOptions, private readonly log: Logger) {
    this.lanes = {
      small: new PQueue({ concurrency: options.smallUploadConcurrency }),
      other: new PQueue({ concurrency: options.uploadConcurrency }),
    };
  }

  /** Waits for a slot, then asks the port to start the item (once, however often it is added meanwhile). */
  add(item: Item): void {
    if (this.closed || this.waitingItems.has(item) || this.largeWaiting.has(item)) return;
    this.waitingItems.add(item);
    const lane = this.laneOf(item);
    void this.lanes[lane].add(() => this.run(item, lane)).catch((err: unknown) => {
      this.log.error('upload of %s: unexpected failure in the queue: %s', this.port.describe(item), err instanceof Error ? err.stack ?? err.message : String(err));
    });
  }

  /** True while the item waits for a slot. */
  has(item: Item): boolean {
    return this.waitingItems.has(item) || this.largeWaiting.has(item);
  }

  /** Items waiting for a slot. */
  get waiting(): number {
    return this.waitingItems.size + this.largeWaiting.size;
  }

  /** No item starts from now on (those in flight are the port's to abort). */
  close(): void {
    this.closed = true;
    for (const lane of Object.values(this.lanes)) lane.clear();
    this.waitingItems.clear();
    this.largeWaiting.clear();
  }

  private laneOf(item: Item): Lane {
    return this.port.bytes(item) <= SMALL_FILE_BYTES ? 'small' : 'other';
  }

  private async run(item: Item, lane: Lane): Promise<void> {
    this.waitingItems.delete(item);
    if (this.closed) return;
    // It grew or shrank while it waited (a fetched remote file, a forced upload of an open file).
    if (this.laneOf(item) !== lane) return this.add(item);
    if (this.port.bytes(item) > LARGE && this.largeRunning >= LARGE_UPLOADS_AT_ONCE) {
      // Its turn comes when a large upload ends (the slot goes to a small item meanwhile).
      this.largeWaiting.add(item);
      return;
    }
    const transfer = await this.port.begin(item);
    if (!transfer) return;
    const large = transfer.bytes > LARGE;
    if (large) this.largeRunning++;
    let result: unknown;
    let error: unknown;
    try {
      result = await transfer.send();
    } catch (err) {
      error = err ?? new Error('the upload failed without a reason');
    }
    if (large) this.largeDone();
    // The requests are over: the slot goes to the next item while the port records the outcome.
    void this.port.settled(item, transfer, result, error).catch((err: unknown) => {
      this.log.error('upload of %s: %s', this.port.describe(item), err instanceof Error ? err.stack ?? err.message : String(err));
    });
  }

  /** A large upload ended: the large items waiting try again, in order (those still over the limit wait again). */
  private largeDone(): void {
    this.largeRunning--;
    const again = [...this.largeWaiting];
    this.largeWaiting.clear();
    for (const item of again) this.add(item);
  }
}
