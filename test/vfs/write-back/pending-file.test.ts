// A pending file's lifecycle on its own: each move leads to the phase the
// facts call for, illegal moves are refused, and the invariants hold after
// every step (the test setup turns the checks on for every transition).
import { describe, expect, it } from 'vitest';
import { IllegalTransition, invariantChecks, PendingFile, type PendingFileInit, type StagingFile, type UploadFailure } from '../../../src/vfs/write-back/pending-file.js';
import { SharedFd } from '../../../src/vfs/write-back/shared-fd.js';

function stagingFile(name: string): StagingFile {
  return { name, path: `/nowhere/${name}`, fd: new SharedFd(async () => { throw new Error('no staging file in this test'); }) };
}

function file(init: Partial<PendingFileInit> = {}): PendingFile {
  const f = new PendingFile({
    id: 'a1b2c3d4', path: 'docs/a.txt', staging: stagingFile('a1b2c3d4.data'),
    size: 0, mtime: new Date(0), createdAt: null, generation: 1, landed: -1, journaled: -1, onServer: false, phase: 'staging',
    ...init,
  });
  return f;
}

/** A new file, written, committed and closed: waiting for its upload delay. */
function closedNewFile(): PendingFile {
  const f = file();
  f.opened(true);
  f.staged();
  f.changedContent(5, new Date(1_000));
  f.committed(f.snapshot());
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
    expect(f.needsCommit).toBe(true);
    expect(f.needsUpload).toBe(false); // nothing closed yet
    f.committed(f.snapshot());
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
    expect(f.idle).toBe(false); // its journal record is still there
    f.unjournaled();
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

  it('uploads send the closed version; changes while uploading go to the working one; a cancelled attempt rests the file', () => {
    const f = closedNewFile();
    f.due();
    const attempt = start(f);
    expect(attempt).toMatchObject({ generation: 2, size: 5 });
    f.opened(true);
    expect(f.mustCopyBeforeChangeAt(3)).toBe(true); // the closed bytes are never changed in place
    expect(f.mustCopyBeforeChangeAt(5)).toBe(false); // an append may share the staging file
    f.changedContent(9, new Date(6_000));
    f.changedMtime(new Date(5_000));
    expect(f.closedVersion).toMatchObject({ generation: 2, size: 5 });
    f.uploadCancelled(attempt);
    expect(f.phase).toBe('open');
    expect(f.needsCommit).toBe(true);
    const replaced = f.committed(f.snapshot());
    expect(replaced).toBeNull(); // the same staging file: the new version is the old one plus its append
    expect(f.closedVersion).toMatchObject({ generation: 4, size: 9 });
  });

  it('a damaged working version rolls back to the closed one', () => {
    const f = closedNewFile();
    f.opened(true);
    const copy = stagingFile('a1b2c3d4.1.data');
    f.copied(copy);
    f.changedContent(2, new Date(7_000));
    f.damaged(Object.assign(new Error('no space left on device'), { code: 'ENOSPC' }));
    expect(f.damage?.message).toBe('no space left on device');
    f.closed(true);
    expect(f.rolledBack()).toBe(copy); // the caller deletes the copy
    expect(f).toMatchObject({ size: 5, generation: 2, damage: null, phase: 'delayed' });
    expect(f.working).toBe(f.closedVersion?.staging);
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
    expect(() => f.committed({ ...f.snapshot(), generation: f.generation + 1 })).toThrow(IllegalTransition);
  });

  it('a file recovered as failed must carry its refusal', () => {
    expect(() => file({ phase: 'failed' })).toThrow(IllegalTransition);
    const staging = stagingFile('x.data');
    const closed = { staging, size: 0, mtime: new Date(0), generation: 1, contentGeneration: 1 };
    expect(file({ phase: 'failed', failure: refusal, journaled: 1, staging, closed }).phase).toBe('failed');
    expect(() => file({ phase: 'delayed', failure: refusal })).toThrow(IllegalTransition);
  });

  it('assertInvariants catches an inconsistent state', () => {
    // A file "delayed" with nothing to upload cannot exist.
    expect(() => file({ phase: 'delayed', generation: 3, landed: 3 })).toThrow(/invariant broken in phase delayed: waiting to upload with nothing to upload/);
  });
});
