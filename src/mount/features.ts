// The optional parts of a mount, in the order their hooks run (see
// lifecycle.ts for what a feature may register). Write-back
// (write-back.ts): its setup sets the write layer, recovers the journal after
// mount, drains before unmount and answers "status" on the control socket.
// Locks (locks.ts): releases the server locks after unmount, answers "locks".
// Remote changes (remote-changes.ts): polls every --poll-interval, answers
// "refresh" and "poll".
import type { MountFeature } from './lifecycle.js';
import { locksFeature } from './locks.js';
import { remoteChangesFeature } from './remote-changes.js';
import { writeBackFeature } from './write-back.js';

export const MOUNT_FEATURES: readonly MountFeature[] = [writeBackFeature, locksFeature, remoteChangesFeature];
