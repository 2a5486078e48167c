// What an HTTP request of the client was for, as a metric label: a small,
// fixed set of values (never a path), told apart by method and route as the
// client sends them (docs/files-api.md):
//   list          GET    /folders/<path>            a folder listing page
//   stat          GET    /file_actions/metadata/<p> an entry's metadata
//   download_url  GET    /files/<path>              a file with its download URL
//   mkdir         POST   /folders/<path>
//   delete        DELETE /files/<path>
//   set_mtime     PATCH  /files/<path>
//   begin_upload  POST   /file_actions/begin_upload/<path>
//   end_upload    POST   /files/<path>              completes an upload
//   move, copy    POST   /file_actions/move|copy/<path>
//   migration     GET    /file_migrations/<id>      waiting for a move or copy
//   session       POST/DELETE /sessions             log in, log out
//   api_other     any other API call
//   download      GET    a presigned download URL (file content)
//   upload_part   PUT/POST a presigned upload URL (file content)
// Anything not under the site's API prefix is a presigned URL, whatever its
// host (Files.com's storage, or the emulator's own /s3/ paths).

export const REQUEST_KINDS = [
  'list', 'stat', 'download_url', 'mkdir', 'delete', 'set_mtime', 'begin_upload', 'end_upload',
  'move', 'copy', 'migration', 'session', 'api_other', 'download', 'upload_part', 'other',
] as const;

export type RequestKind = (typeof REQUEST_KINDS)[number];

/** The API's path prefix (docs/files-api.md §1). */
const API_PREFIX = '/api/rest/v1';

export class RequestClassifier {
  readonly #apiOrigin: string;
  readonly #apiPath: string;

  /** `baseUrl`: the site, e.g. "https://example.files.com". */
  constructor(baseUrl: string) {
    const url = new URL(baseUrl);
    this.#apiOrigin = url.origin;
    this.#apiPath = url.pathname.replace(/\/+$/, '') + API_PREFIX + '/';
  }

  kindOf(method: string, origin: string, path: string): RequestKind {
    if (origin === this.#apiOrigin && path.startsWith(this.#apiPath)) return apiKind(method, path.slice(this.#apiPath.length));
    if (method === 'GET') return 'download';
    if (method === 'PUT' || method === 'POST') return 'upload_part';
    return 'other';
  }
}

function apiKind(method: string, route: string): RequestKind {
  const first = route.split('/', 1)[0];
  if (first === 'folders') return method === 'GET' ? 'list' : method === 'POST' ? 'mkdir' : 'api_other';
  if (first === 'files') {
    switch (method) {
      case 'GET': return 'download_url';
      case 'DELETE': return 'delete';
      case 'PATCH': return 'set_mtime';
      case 'POST': return 'end_upload';
      default: return 'api_other';
    }
  }
  if (first === 'file_actions') {
    const action = route.split('/', 2)[1];
    if (action === 'metadata') return 'stat';
    if (action === 'begin_upload') return 'begin_upload';
    if (action === 'move') return 'move';
    if (action === 'copy') return 'copy';
    return 'api_other';
  }
  if (first === 'file_migrations') return 'migration';
  if (first === 'sessions') return 'session';
  return 'api_other';
}
