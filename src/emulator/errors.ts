// The emulator's API errors, shaped as Files.com answers them (docs/files-api.md §7):
// a JSON body with `error`, `http-code`, `instance`, `title`, `type`, and the
// `X-Files-Error-Class` header repeating `type`. Route code throws ApiError;
// the server turns it into the response. The HTTP status follows the type's
// group, except where a recording shows otherwise (409 for a missing
// destination parent).

const GROUP_STATUS: Record<string, number> = {
  'bad-request': 400,
  'not-authenticated': 401,
  'not-authorized': 403,
  'not-found': 404,
  'processing-failure': 422,
  'rate-limited': 429,
  'service-unavailable': 503,
  'internal-server-error': 500,
};

const STATUS_OVERRIDES: Record<string, number> = {
  'processing-failure/destination-parent-does-not-exist': 409,
};

/** The message the real service gives for every missing path (recorded). */
export const NOT_FOUND_MESSAGE = 'Not Found.  This may be related to your permissions.';

export class ApiError extends Error {
  readonly status: number;
  readonly type: string;
  readonly headers: Record<string, string>;

  constructor(type: string, message: string, options: { status?: number; headers?: Record<string, string> } = {}) {
    super(message);
    this.type = type;
    this.status = options.status ?? STATUS_OVERRIDES[type] ?? GROUP_STATUS[type.split('/')[0]!] ?? 400;
    this.headers = options.headers ?? {};
  }

  /** "processing-failure/destination-exists" → "Destination Exists". */
  get title(): string {
    const last = this.type.split('/').pop()!;
    return last.split('-').map((w) => (w ? w[0]!.toUpperCase() + w.slice(1) : w)).join(' ');
  }

  body(instance: string): Record<string, unknown> {
    return { error: this.message, 'http-code': this.status, instance, title: this.title, type: this.type };
  }
}

export const notFound = (): ApiError => new ApiError('not-found', NOT_FOUND_MESSAGE);
export const destinationExists = (): ApiError => new ApiError('processing-failure/destination-exists', 'The destination exists.');
export const parentMissing = (): ApiError =>
  new ApiError('processing-failure/destination-parent-does-not-exist', 'The destination parent folder does not exist.');
export const parentConflict = (path: string): ApiError =>
  new ApiError('processing-failure/destination-parent-conflict', `A parent of ${path} is a file, not a folder.`);
export const uploadNotFound = (): ApiError => new ApiError('not-found/file-upload-not-found', 'File Upload Not Found');
export const badRequest = (specific: string, message: string): ApiError => new ApiError(`bad-request/${specific}`, message);
