// A pending file's lifecycle on its own: each move leads to the phase the
// facts call for, illegal moves are refused, and the invariants hold after
// every step (the test setup turns the checks on for every transition).
import { describe, expect, it } from 'vitest';
import { IllegalTransition, invariantChecks, PendingFile, type PendingFileInit, type UploadFailure } from '../../../src/vfs/write-back/pending-file.js';
import { SharedFd } from '../../../src/vfs/write-back/shared-fd.js';

function file(init: Partial<PendingFileInit> = {}): PendingFile {
  const f = new PendingFile({
    id: 'a1b2c3d4', path: 'docs/a.txt', stagingName: 'a1b2c3d4.data', stagingPath: '/nowhere/a1b2c3d4.data',
    file: new SharedFd(async () => { throw new Error('no staging file in this test'); }),
    size: 0, mtime: new Date(0), createdAt: null, generation: 1, landed: -1, journaled: -1, onServer: false, phase: 'staging',
    ...init,
  });
  return f;
}

/** A new file, written and closed: waiting for its upload delay. */
function closedNewFile(): PendingFile {
  const f = file();
  f.opened(true);
  f.staged();
  f.changedContent(5, new Date(1_000));
  f.closed(true);
  return f;
}

function start(f: PendingFile) {
  return f.startUpload(new AbortController(), Promise.resolve());
}

const transient: UploadFailure = { message: '503', permanent: false, attempts: 1, at: new Date() };
const refusal: UploadFailure = { message: 'invalid name', permanent: true, attempts: 1, at: new Date() };

describe('PendingFile lifecycle', () => {
  it('checks its invariants on every transition in the tests', () => {
    expect(invariantChecks.enabled).toBe(true);
  });

  it('staging → open → delayed → queued → uploading → landed', () => {
    const f = file();
    expect(f.phase).toBe('staging');
    f.opened(true);
    f.staged();
    expect(f.phase).toBe('open');
    f.changedContent(5, new Date(1_500));
    expect(f.mtime.getTime()).toBe(1_000); // whole seconds, as the server keeps them
    expect(f.closed(true)).toBe(true);
    expect(f.phase).toBe('delayed');
    f.due();
    expect(f.phase).toBe('queued');
    const attempt = start(f);
    expect(f.phase).toBe('uploading');
    expect(attempt).toMatchObject({ generation: 2, size: 5, kind: 'content' });
    f.uploadLanded(attempt);
    expect(f.phase).toBe('uploading'); // until its record is gone
    expect(f.needsUpload).toBe(false);
    f.attemptOver(attempt);
    expect(f.phase).toBe('landed');
    expect(f.idle).toBe(true);
  });

  it('a file open for writing does not start unless forced, and a forced one does', () => {
    const f = closedNewFile();
    f.opened(true);
    expect(f.phase).toBe('open');
    expect(f.mayStart).toBe(false);
    f.force();
    expect(f.phase).toBe('queued');
    expect(f.mayStart).toBe(true);
    start(f);
    expect(f.forced).toBe(false);
  });

  it('a transient failure retries; a refusal is failed and kept; reopening rests the file as open', () => {
    const f = closedNewFile();
    f.due();
    let attempt = start(f);
    f.uploadFailed(attempt, transient);
    expect(f.phase).toBe('retrying');
    f.due();
    attempt = start(f);
    f.uploadFailed(attempt, refusal);
    expect(f.phase).toBe('failed');
    expect(f.failure?.message).toBe('invalid name');
    f.opened(true);
    expect(f.phase).toBe('open');
    expect(f.failure?.message).toBe('invalid name'); // still shown until an attempt lands
  });

  it('a cancelled attempt rests the file again; a change while uploading is refused (abort first)', () => {
    const f = closedNewFile();
    f.due();
    const attempt = start(f);
    expect(() => f.changedContent(9, new Date())).toThrow(IllegalTransition);
    f.changedMtime(new Date(5_000)); // a new time may arrive while uploading: it uploads after
    f.uploadCancelled(attempt);
    expect(f.phase).toBe('delayed');
    expect(f.generation).toBe(3);
  });

  it('a rename holds it: nothing starts until released, and an upload in flight finishes as held', () => {
    const f = closedNewFile();
    f.due();
    const attempt = start(f);
    f.hold();
    expect(f.phase).toBe('uploading');
    f.uploadCancelled(attempt);
    expect(f.phase).toBe('held');
    expect(f.mayStart).toBe(false);
    f.due(); // a stale timer does nothing
    expect(f.phase).toBe('held');
    f.unhold();
    expect(f.phase).toBe('delayed');
  });

  it('removal is final, satisfies fsync waiters, and refuses to come back', async () => {
    const f = closedNewFile();
    const waiting = f.waitForLanding(f.generation, 60_000, () => new Error('timeout'));
    f.remove('deleted');
    await expect(waiting).resolves.toBeUndefined();
    expect(f.phase).toBe('removed');
    f.opened(true); // a handle raced with the unlink: it writes to an orphan
    f.staged(); // a staging that finished after the unlink changes nothing
    f.due();
    f.force();
    expect(f.phase).toBe('removed');
  });

  it('refuses moves the lifecycle does not allow', () => {
    const f = closedNewFile();
    expect(() => start(f)).toThrow(IllegalTransition); // delayed, not queued
    expect(() => f.closed(false)).toThrow(IllegalTransition); // no handle is open
    expect(() => f.unhold()).toThrow(IllegalTransition);
    expect(() => f.staged()).toThrow(IllegalTransition); // it was staged long ago
    f.due();
    const attempt = start(f);
    const other = { ...attempt };
    expect(() => f.uploadLanded(other)).toThrow(IllegalTransition);
    expect(() => f.journaledAt(f.generation + 1)).toThrow(IllegalTransition);
  });

  it('a file recovered as failed must carry its refusal', () => {
    expect(() => file({ phase: 'failed' })).toThrow(IllegalTransition);
    expect(file({ phase: 'failed', failure: refusal, journaled: 1 }).phase).toBe('failed');
    expect(() => file({ phase: 'delayed', failure: refusal })).toThrow(IllegalTransition);
  });

  it('assertInvariants catches an inconsistent state', () => {
    // A file "delayed" with nothing to upload cannot exist.
    expect(() => file({ phase: 'delayed', generation: 3, landed: 3 })).toThrow(/invariant broken in phase delayed: waiting to upload with nothing to upload/);
  });
});
