// Why a mount or unmount could not happen, as a message meant to be shown as
// is (it says what to do). A ConfigError, so the CLI prints it as one line;
// `reason` lets callers and tests tell the cases apart.
import { ConfigError } from '../options/config-error.js';

export type MountErrorReason =
  | 'fuse-unavailable'
  | 'mountpoint-missing'
  | 'mountpoint-not-directory'
  | 'mountpoint-inaccessible'
  | 'mountpoint-too-long'
  | 'mountpoint-not-empty'
  | 'stale-mount'
  | 'already-mounted'
  | 'allow-other-not-permitted'
  | 'mount-failed'
  | 'unmount-failed';

export class MountError extends ConfigError {
  readonly reason: MountErrorReason;

  constructor(reason: MountErrorReason, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.reason = reason;
  }

  override get name(): string {
    return 'MountError';
  }
}
