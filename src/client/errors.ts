// Every way a Files.com call can fail, as one class per kind, chosen from the
// response's `type` ("group/specific", docs/files-api.md §7) and, when a body has
// none, from the HTTP status. The filesystem layer and the errno table decide
// on `kind` (and, for a few specific cases, on `type`); the retry policy
// decides on `transient`. Errors carry only what the server said and what we
// did: never a header, a key, a password or a session id (server-supplied
// text is passed through the logger's redact() in case a server echoes one).
import { redact } from '../log/logger.js';

export type FilesErrorKind =
  | 'not-found'
  | 'destination-exists'
  | 'folder-not-empty'
  | 'parent-missing'
  | 'not-authenticated'
  | 'not-authorized'
  | 'rate-limited'
  | 'bad-request'
  | 'processing-failure'
  | 'service-unavailable'
  | 'server-error'
  | 'network'
  | 'timeout';

export interface FilesErrorDetails {
  message: string;
  /** HTTP status; absent for network errors and timeouts. */
  status?: number;
  /** The server's `type`, e.g. "processing-failure/destination-exists". */
  type?: string;
  title?: string;
  /** The server's request id (`instance`), for support tickets. */
  instance?: string;
  /** From Retry-After, when the server sent one. */
  retryAfterMs?: number;
  /** What we were doing, e.g. "GET /folders/a%2Fb". Never includes secrets. */
  operation?: string;
  cause?: unknown;
}

export abstract class FilesError extends Error {
  abstract readonly kind: FilesErrorKind;
  readonly status: number | undefined;
  readonly type: string | undefined;
  readonly title: string | undefined;
  readonly instance: string | undefined;
  readonly retryAfterMs: number | undefined;
  readonly operation: string | undefined;

  constructor(details: FilesErrorDetails) {
    super(details.message, details.cause === undefined ? undefined : { cause: details.cause });
    this.status = details.status;
    this.type = details.type;
    this.title = details.title;
    this.instance = details.instance;
    this.retryAfterMs = details.retryAfterMs;
    this.operation = details.operation;
  }

  override get name(): string {
    return this.constructor.name;
  }

  /** True when the same request may succeed if tried again later. */
  get transient(): boolean {
    return false;
  }

  /** Safe, complete description for logs and `JSON.stringify`. */
  toJSON(): Record<string, unknown> {
    return {
      name: this.name,
      kind: this.kind,
      message: this.message,
      status: this.status,
      type: this.type,
      title: this.title,
      instance: this.instance,
      operation: this.operation,
    };
  }
}

export class NotFoundError extends FilesError { readonly kind = 'not-found' as const; }
export class DestinationExistsError extends FilesError { readonly kind = 'destination-exists' as const; }
export class FolderNotEmptyError extends FilesError { readonly kind = 'folder-not-empty' as const; }
export class ParentMissingError extends FilesError { readonly kind = 'parent-missing' as const; }
export class NotAuthenticatedError extends FilesError { readonly kind = 'not-authenticated' as const; }
export class NotAuthorizedError extends FilesError { readonly kind = 'not-authorized' as const; }
export class BadRequestError extends FilesError { readonly kind = 'bad-request' as const; }
export class ProcessingFailureError extends FilesError { readonly kind = 'processing-failure' as const; }

export class RateLimitedError extends FilesError {
  readonly kind = 'rate-limited' as const;
  override get transient(): boolean { return true; }
}
export class ServiceUnavailableError extends FilesError {
  readonly kind = 'service-unavailable' as const;
  override get transient(): boolean { return true; }
}
/**
 * The bytes of a file changed while we were reading it: a range answer's
 * Content-Range total or ETag differs from the version the cached download
 * URL was issued for, or a refreshed URL describes another version. The
 * client has already forgotten the URL; the reader must start over (its
 * earlier bytes belong to the old version). Kind `processing-failure`, type
 * "filesfs/content-changed" (a client-side type, never sent by the server).
 */
export class ContentChangedError extends ProcessingFailureError {
  static readonly TYPE = 'filesfs/content-changed';
  constructor(details: Omit<FilesErrorDetails, 'type'>) {
    super({ ...details, type: ContentChangedError.TYPE });
  }
}

/** A 5xx other than 503 (500, 502, 504, ...). */
export class ServerError extends FilesError {
  readonly kind = 'server-error' as const;
  override get transient(): boolean { return true; }
}
/** The connection failed or dropped (refused, reset, DNS, TLS). */
export class NetworkError extends FilesError {
  readonly kind = 'network' as const;
  override get transient(): boolean { return true; }
}
/**
 * The server's TLS certificate is not trusted (self-signed, unknown CA, wrong
 * name, expired). A connection failure, but trying again cannot help: fix the
 * CA (caFile / NODE_EXTRA_CA_CERTS) or the URL.
 */
export class TlsVerificationError extends NetworkError {
  override get transient(): boolean { return false; }
}

/**
 * An API call not sent because the server is unreachable (health.ts: several
 * requests in a row got no answer, and the probe got none either).
 */
export class ServerUnreachableError extends NetworkError {}

/** No answer within the configured connect or read timeout. */
export class TimeoutError extends FilesError {
  readonly kind = 'timeout' as const;
  override get transient(): boolean { return true; }
}

type ErrorClass = new (details: FilesErrorDetails) => FilesError;

/** Specific types with their own class; checked before the group. */
const BY_TYPE: Record<string, ErrorClass> = {
  'processing-failure/destination-exists': DestinationExistsError,
  'processing-failure/folder-not-empty': FolderNotEmptyError,
  'processing-failure/destination-parent-does-not-exist': ParentMissingError,
};

const BY_GROUP: Record<string, ErrorClass> = {
  'bad-request': BadRequestError,
  'not-authenticated': NotAuthenticatedError,
  'not-authorized': NotAuthorizedError,
  'not-found': NotFoundError,
  'processing-failure': ProcessingFailureError,
  'rate-limited': RateLimitedError,
  'service-unavailable': ServiceUnavailableError,
  // Site configuration problems (e.g. a disabled site or feature) are
  // refusals the user must fix on the site; treat as not authorised.
  'site-configuration': NotAuthorizedError,
};

function classForStatus(status: number): ErrorClass {
  if (status === 400) return BadRequestError;
  if (status === 401) return NotAuthenticatedError;
  if (status === 403) return NotAuthorizedError;
  if (status === 404) return NotFoundError;
  if (status === 429) return RateLimitedError;
  if (status === 503) return ServiceUnavailableError;
  if (status >= 500) return ServerError;
  if (status === 408) return TimeoutError;
  return ProcessingFailureError;
}

/** The error body fields of docs/files-api.md §7 (all optional, tolerant of shapes). */
interface ErrorBody {
  error?: unknown;
  'http-code'?: unknown;
  instance?: unknown;
  title?: unknown;
  type?: unknown;
  detail?: unknown;
}

const str = (v: unknown): string | undefined => (typeof v === 'string' && v !== '' ? v : undefined);
const clean = (v: string | undefined): string | undefined => (v === undefined ? undefined : redact(v));

/**
 * Builds the error for a non-2xx response. `body` is the parsed JSON (or
 * undefined when the body was not JSON); `errorClassHeader` is
 * X-Files-Error-Class, which repeats `type` when the body lacks it.
 */
export function errorFromResponse(
  status: number,
  body: unknown,
  options: { errorClassHeader?: string; retryAfterMs?: number; operation?: string; statusText?: string } = {},
): FilesError {
  const first = Array.isArray(body) ? body[0] : body;
  const fields: ErrorBody = first && typeof first === 'object' ? (first as ErrorBody) : {};
  const type = str(fields.type) ?? str(options.errorClassHeader);
  const title = clean(str(fields.title));
  const message = clean(str(fields.error) ?? str(fields.detail) ?? title ?? options.statusText ?? `HTTP ${status}`) ?? `HTTP ${status}`;
  const group = type?.split('/')[0];
  const Class = (type && BY_TYPE[type]) || (group && BY_GROUP[group]) || classForStatus(status);
  return new Class({
    message,
    status,
    type,
    title,
    instance: clean(str(fields.instance)),
    retryAfterMs: options.retryAfterMs,
    operation: options.operation,
  });
}

export function isFilesError(err: unknown): err is FilesError {
  return err instanceof FilesError;
}

/** True when `err` is a FilesError whose server type is `type` or starts with `type/`. */
export function hasType(err: unknown, type: string): boolean {
  return err instanceof FilesError && !!err.type && (err.type === type || err.type.startsWith(type + '/'));
}
