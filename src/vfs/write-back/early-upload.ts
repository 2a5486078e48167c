// Uploading a file while it is being written (docs/semantics.md, "Writing"):
// a program that writes a new file front to back (cp, tar, a download) has
// its multipart upload under way before it closes the file. Each part of
// the client's growing schedule (PartialUpload, 5 MiB parts first) goes up
// as soon as the writes have gone past its end, read from the staging file;
// at the last close only the tail and the `end` call remain, so "written
// and durable" takes about the longer of the copy and the upload, not their
// sum.
//
// Only what cannot change is sent: a part's bytes are final once written,
// as long as nothing writes below the parts sent (the frontier). A write or
// a truncate below the frontier, a file renamed or removed, a failed part:
// the early upload is abandoned (nothing is published; the server forgets
// its parts) and the file uploads after its close as any other, so nothing
// the server keeps is sent twice. The journal is untouched: only closed
// versions have records, and a crash before the close loses nothing that
// was closed (the next mount uploads from the staging file).
//
// Small files never start one (the first part is 5 MiB), so the upload
// delay still coalesces them and editors' bursts of saves.
import type { FilesClient, PartialUpload } from '../../client/index.js';
import { partialUploadRange } from '../../client/index.js';
import type { Logger } from '../../log/logger.js';

export class EarlyUpload {
  private session: PartialUpload | undefined;
  private opening: Promise<void> | undefined;
  /** The next part to send, and where it starts: nothing below it may change any more. */
  private nextPart = 1;
  private frontier = 0;
  /** The end of the furthest write. */
  private written = 0;
  private abandoned: string | undefined;
  private taken = false;

  constructor(
    private readonly client: Required<Pick<FilesClient, 'beginPartialUpload'>>,
    readonly path: string,
    readonly stagingPath: string,
    private readonly log: Logger,
  ) {}

  /** Bytes the server has acknowledged so far. */
  get uploadedBytes(): number {
    return this.session?.uploadedBytes ?? 0;
  }

  /** Whether parts are (or will be) on their way. */
  get active(): boolean {
    return this.abandoned === undefined && !this.taken && (this.session !== undefined || this.opening !== undefined);
  }

  /** Bytes [offset, end) of the working version were written. */
  wrote(offset: number, end: number): void {
    if (this.abandoned !== undefined || this.taken) return;
    if (offset < this.frontier) {
      this.abandon(`bytes already sent were written again (at ${offset})`);
      return;
    }
    if (end > this.written) this.written = end;
    this.pump();
  }

  /** The working version was truncated (or extended) to `size` bytes. */
  resized(size: number): void {
    if (size < this.frontier) this.abandon(`truncated below the bytes already sent (to ${size})`);
    else if (size > this.written) this.written = size;
  }

  /**
   * The upload for the version now closed at `path` from `stagingPath`:
   * hands the session over (once) when it can publish that version, else
   * abandons it.
   */
  async take(path: string, stagingPath: string): Promise<PartialUpload | undefined> {
    if (this.taken || this.abandoned !== undefined) return undefined;
    if (path !== this.path || stagingPath !== this.stagingPath) {
      this.abandon(path !== this.path ? 'the file was renamed' : 'its content moved to another staging file');
      return undefined;
    }
    this.taken = true;
    await this.opening;
    const session = this.session;
    if (!session || session.failed) {
      if (session) this.log.debug('%s: the early upload failed (%s); uploading it after its close', this.path, session.failed!.message);
      return undefined;
    }
    return session;
  }

  /** Stops it: nothing is published. */
  abandon(reason: string): void {
    if (this.abandoned !== undefined || this.taken) return;
    this.abandoned = reason;
    if (this.session || this.opening) this.log.debug('%s: early upload abandoned (%s); it uploads after its close', this.path, reason);
    this.session?.abort();
  }

  private pump(): void {
    let range = partialUploadRange(this.nextPart);
    if (this.written < range.end) return;
    if (!this.session) {
      this.opening ??= this.client.beginPartialUpload(this.path, this.stagingPath).then(
        (session) => {
          this.session = session;
          this.opening = undefined;
          if (this.abandoned !== undefined) session.abort();
          else this.pump();
        },
        (err: unknown) => {
          this.opening = undefined;
          this.abandon(`it could not begin: ${(err as Error).message}`);
        },
      );
      return;
    }
    while (this.written >= range.end && this.abandoned === undefined) {
      this.session.send(this.nextPart);
      this.frontier = range.end;
      this.nextPart++;
      range = partialUploadRange(this.nextPart);
    }
  }
}
