// What a request is, for deadlines, hedging and statistics. Small API calls
// are judged by how long their answer takes (a per-attempt deadline, see
// deadlines.ts); data transfers by whether bytes move (a stall deadline, see
// stall-watch.ts), since a large part over a slow link may rightly take
// minutes.
//
//   metadata      GET file_actions/metadata (stat), GET file_migrations (polls)
//   listing       GET folders, one page
//   download-url  GET files/{path}: the entry with its presigned download URL
//   change        every other API call: mkdir, delete, move, copy, PATCH,
//                 begin_upload, end of upload, locks, sessions
//   probe         the health probe while the server is unreachable (health.ts)
//   range         GET of a byte range from a presigned URL
//   stream        GET of a streamed download (createReadStream), resumed on failure
//   part          PUT of one upload part to a presigned URL

export const API_KINDS = ['metadata', 'listing', 'download-url', 'change', 'probe'] as const;
export const DATA_KINDS = ['range', 'stream', 'part'] as const;
export const REQUEST_KINDS = [...API_KINDS, ...DATA_KINDS] as const;

export type ApiKind = (typeof API_KINDS)[number];
export type DataKind = (typeof DATA_KINDS)[number];
export type RequestKind = (typeof REQUEST_KINDS)[number];

/**
 * Calls that may be sent again while an earlier copy has no answer, but not
 * twice at once (hedging.ts resends them in place of the first):
 *   upload-begin  POST begin_upload: an upload opened and never ended leaves
 *                 no file, and a continued one only gets its URLs again
 *   upload-end    the end of a one-part upload: the server completes it
 *                 quickly, and an end repeated after it worked is answered
 *                 with the file or confirmed by a stat (upload.ts)
 * Each has its own latency window: their answers take other times than the
 * rest of 'change'.
 */
export type ResendKind = 'upload-begin' | 'upload-end';

/** Whose recent latencies a threshold is taken from: a request kind, or a resendable call's own. */
export type LatencyKind = RequestKind | ResendKind;

/** Kinds that may be sent twice at once (idempotent reads): a hedge is the same GET again. */
export const HEDGED_KINDS: ReadonlySet<RequestKind> = new Set<RequestKind>(['metadata', 'listing', 'download-url', 'range']);
