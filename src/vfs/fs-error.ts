// The one error the filesystem layer rejects with: a POSIX errno code and the
// reason, in words. Every failure inside src/vfs (a server refusal, a full
// staging disk, a check of our own) leaves the layer as an FsError, decided by
// the one table in errno.ts; the FUSE adapter only encodes the code as the
// number the kernel wants. `unexpected` marks what deserves a warning with
// its reason (an EIO-class outcome, refused credentials, a full local disk):
// the user's tool shows only "Input/output error", so the log must say why.
// `cause` keeps the original error (a FilesError with the server's details).
import type { constants } from 'node:os';

/** An errno name this platform knows (ENOENT, EIO, ...). */
export type ErrnoCode = keyof typeof constants.errno;

export interface FsErrorOptions {
  cause?: unknown;
  /** Default: true for EIO, false otherwise. */
  unexpected?: boolean;
}

export class FsError extends Error {
  readonly code: ErrnoCode;
  readonly unexpected: boolean;

  constructor(code: ErrnoCode, message?: string, options: FsErrorOptions = {}) {
    super(message ?? code, options.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
    this.unexpected = options.unexpected ?? code === 'EIO';
  }

  override get name(): string {
    return 'FsError';
  }
}

export function isFsError(err: unknown, code?: ErrnoCode): err is FsError {
  return err instanceof FsError && (code === undefined || err.code === code);
}
