// The filesystem layer's own refusals, named by POSIX errno code. Client
// failures (FilesError, src/client/errors.ts) pass through the layer
// unchanged; src/fuse/errno.ts is the one table that turns both into the
// number the kernel gets.

export type ErrnoCode =
  | 'EPERM' | 'ENOENT' | 'EIO' | 'EBADF' | 'EAGAIN' | 'ENOMEM' | 'EACCES' | 'EBUSY' | 'EEXIST' | 'EXDEV'
  | 'ENOTDIR' | 'EISDIR' | 'EINVAL' | 'EMFILE' | 'EFBIG' | 'ENOSPC' | 'EROFS' | 'ENAMETOOLONG' | 'ENOSYS'
  | 'ENOTEMPTY' | 'ENOTSUP' | 'ETIMEDOUT' | 'ESTALE' | 'EINTR' | 'ENODATA' | 'ECANCELED';

export class FsError extends Error {
  readonly code: ErrnoCode;

  constructor(code: ErrnoCode, message?: string, options?: { cause?: unknown }) {
    super(message ?? code, options);
    this.code = code;
  }

  override get name(): string {
    return 'FsError';
  }
}

export function isFsError(err: unknown, code?: ErrnoCode): err is FsError {
  return err instanceof FsError && (code === undefined || err.code === code);
}
