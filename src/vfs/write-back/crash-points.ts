// Named places in the write-back path where the crash-consistency suite can
// make a mount process die, as kill -9 or a power cut would, at exactly that
// step (a failpoint, as databases have). Set FILESFS_CRASH_AT=<point> (the
// first time the point is reached) or <point>:<n> (the n-th time); the
// process then sends itself SIGKILL: no cleanup, no unmount, no flush of
// anything. Unset, a crash point costs one comparison.
//
// The suite (test/vfs/write-back/crash-consistency.test.ts) enumerates every
// point below against every workload, then mounts again and checks that the
// server holds the last closed version of every file, or the one before it
// where a close had not returned, and never anything else.

/** Every crash point, in the order a file meets them. */
export const CRASH_POINTS = [
  /** A write reached the working staging file (not synced). */
  'write',
  /** A change below the closed size made its copy, before the file moved to it. */
  'copy',
  /** A commit (close, fsync) began: nothing of it is durable yet. */
  'commit-start',
  /** The data and the record's temp file are synced; the record is not renamed into place yet. */
  'commit-prepared',
  /** The record is durable; close(2) has not returned yet. */
  'commit-done',
  /** A rename of a local pending file moved it in memory; its record still names the old path. */
  'rename-moved',
  /** The moved file's record names the new path; the record of the file it replaced is still there. */
  'rename-recorded',
  /** An upload's requests are about to start. */
  'upload-start',
  /** The server confirmed an upload; its record is still there. */
  'upload-landed',
  /** The record of an uploaded file is gone; its staging file is still there. */
  'record-removed',
] as const;

export type CrashPoint = (typeof CRASH_POINTS)[number];

const [armedPoint, armedCount] = parse(process.env.FILESFS_CRASH_AT);
let reached = 0;

function parse(spec: string | undefined): [string | null, number] {
  if (!spec) return [null, 0];
  const [name, n] = spec.split(':');
  if (!(CRASH_POINTS as readonly string[]).includes(name!)) throw new Error(`FILESFS_CRASH_AT: unknown crash point ${JSON.stringify(name)} (known: ${CRASH_POINTS.join(', ')})`);
  const count = n === undefined ? 1 : Number(n);
  if (!Number.isInteger(count) || count < 1) throw new Error(`FILESFS_CRASH_AT: expected <point>[:<n ≥ 1>], got ${JSON.stringify(spec)}`);
  return [name!, count];
}

/** Dies here (SIGKILL) when this is the armed crash point's n-th arrival. */
export function crashPoint(point: CrashPoint): void {
  if (point !== armedPoint) return;
  if (++reached < armedCount) return;
  process.stderr.write(`filesfs: crash point ${point} reached (${reached}); killing this process as FILESFS_CRASH_AT asks\n`);
  process.kill(process.pid, 'SIGKILL');
}
