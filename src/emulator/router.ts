// The route table: which handler answers which method and URL, under which
// statistics key. Paths are matched on the raw (still percent-encoded) URL,
// and the path parameter is then decoded, so `a%2Fb%2Fc.txt` and `a/b/c.txt`
// name the same file, and `/folders/%2F`, `/folders/` and `/folders` the root.
import type { Handler } from './context.js';
import { DOWNLOAD_PATH_PREFIX } from './downloads.js';
import type { StatKey } from './stats.js';
import { UPLOAD_PATH_PREFIX } from './upload-flow.js';
import { createFolder, listFolder } from './routes/folders.js';
import { deleteFile, downloadFile, patchFile, postFile } from './routes/files.js';
import { beginUpload, copy, metadata, move } from './routes/file-actions.js';
import { createSession, deleteSession, getMigration } from './routes/sessions.js';
import { getBlob, putPart } from './routes/transfers.js';
import { createLock, deleteLock, listLocks } from './routes/locks.js';
import { createBehavior, deleteBehavior, getBehavior, listBehaviors, listFolderBehaviors, updateBehavior } from './routes/behaviors.js';
import { currentApiKey } from './routes/api-key.js';

export type RouteKind = 'api' | 'session' | 'transfer';

export interface Route {
  method: string;
  pattern: RegExp;
  /** What the capture is: a file path, or an id (ref, blob, migration). */
  capture: 'path' | 'id' | 'none';
  stat: StatKey;
  kind: RouteKind;
  handler: Handler;
}

const API = '/api/rest/v1';
const pathRoute = (prefix: string): RegExp => new RegExp(`^${API}/${prefix}(?:/(.*))?$`);
const escape = (s: string): string => s.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');

export const ROUTES: Route[] = [
  { method: 'GET', pattern: pathRoute('folders'), capture: 'path', stat: 'GET /folders', kind: 'api', handler: listFolder },
  { method: 'POST', pattern: pathRoute('folders'), capture: 'path', stat: 'POST /folders', kind: 'api', handler: createFolder },
  { method: 'GET', pattern: pathRoute('files'), capture: 'path', stat: 'GET /files', kind: 'api', handler: downloadFile },
  { method: 'POST', pattern: pathRoute('files'), capture: 'path', stat: 'POST /files', kind: 'api', handler: postFile },
  { method: 'PATCH', pattern: pathRoute('files'), capture: 'path', stat: 'PATCH /files', kind: 'api', handler: patchFile },
  { method: 'DELETE', pattern: pathRoute('files'), capture: 'path', stat: 'DELETE /files', kind: 'api', handler: deleteFile },
  { method: 'GET', pattern: pathRoute('file_actions/metadata'), capture: 'path', stat: 'GET /file_actions/metadata', kind: 'api', handler: metadata },
  { method: 'POST', pattern: pathRoute('file_actions/begin_upload'), capture: 'path', stat: 'POST /file_actions/begin_upload', kind: 'api', handler: beginUpload },
  { method: 'POST', pattern: pathRoute('file_actions/move'), capture: 'path', stat: 'POST /file_actions/move', kind: 'api', handler: move },
  { method: 'POST', pattern: pathRoute('file_actions/copy'), capture: 'path', stat: 'POST /file_actions/copy', kind: 'api', handler: copy },
  { method: 'GET', pattern: new RegExp(`^${API}/file_migrations/([^/]+)$`), capture: 'id', stat: 'GET /file_migrations', kind: 'api', handler: getMigration },
  { method: 'GET', pattern: pathRoute('locks'), capture: 'path', stat: 'GET /locks', kind: 'api', handler: listLocks },
  { method: 'POST', pattern: pathRoute('locks'), capture: 'path', stat: 'POST /locks', kind: 'api', handler: createLock },
  { method: 'DELETE', pattern: pathRoute('locks'), capture: 'path', stat: 'DELETE /locks', kind: 'api', handler: deleteLock },
  { method: 'GET', pattern: pathRoute('behaviors/folders'), capture: 'path', stat: 'GET /behaviors', kind: 'api', handler: listFolderBehaviors },
  { method: 'GET', pattern: new RegExp(`^${API}/behaviors/?$`), capture: 'none', stat: 'GET /behaviors', kind: 'api', handler: listBehaviors },
  { method: 'POST', pattern: new RegExp(`^${API}/behaviors/?$`), capture: 'none', stat: 'POST /behaviors', kind: 'api', handler: createBehavior },
  { method: 'GET', pattern: new RegExp(`^${API}/behaviors/([^/]+)$`), capture: 'id', stat: 'GET /behaviors', kind: 'api', handler: getBehavior },
  { method: 'PATCH', pattern: new RegExp(`^${API}/behaviors/([^/]+)$`), capture: 'id', stat: 'PATCH /behaviors', kind: 'api', handler: updateBehavior },
  { method: 'DELETE', pattern: new RegExp(`^${API}/behaviors/([^/]+)$`), capture: 'id', stat: 'DELETE /behaviors', kind: 'api', handler: deleteBehavior },
  { method: 'GET', pattern: new RegExp(`^${API}/api_key/?$`), capture: 'none', stat: 'GET /api_key', kind: 'api', handler: currentApiKey },
  { method: 'POST', pattern: new RegExp(`^${API}/sessions/?$`), capture: 'none', stat: 'POST /sessions', kind: 'session', handler: createSession },
  { method: 'DELETE', pattern: new RegExp(`^${API}/sessions/?$`), capture: 'none', stat: 'DELETE /sessions', kind: 'session', handler: deleteSession },
  { method: 'PUT', pattern: new RegExp(`^${escape(UPLOAD_PATH_PREFIX)}([A-Za-z0-9-]+)$`), capture: 'id', stat: 'PUT upload', kind: 'transfer', handler: putPart },
  { method: 'GET', pattern: new RegExp(`^${escape(DOWNLOAD_PATH_PREFIX)}([0-9a-f]+)$`), capture: 'id', stat: 'GET download', kind: 'transfer', handler: getBlob },
  { method: 'HEAD', pattern: new RegExp(`^${escape(DOWNLOAD_PATH_PREFIX)}([0-9a-f]+)$`), capture: 'id', stat: 'GET download', kind: 'transfer', handler: getBlob },
];

export interface Match {
  route: Route;
  capture: string;
}

/** The route for method + raw path; `methodMismatch` when only the method is wrong. */
export function matchRoute(method: string, pathname: string): { match: Match | null; methodMismatch: boolean; kind: RouteKind } {
  let methodMismatch = false;
  let kind: RouteKind = 'api';
  for (const route of ROUTES) {
    const m = route.pattern.exec(pathname);
    if (!m) continue;
    if (route.method !== method) {
      methodMismatch = true;
      kind = route.kind;
      continue;
    }
    return { match: { route, capture: m[1] ?? '' }, methodMismatch: false, kind: route.kind };
  }
  if (pathname.startsWith('/s3/')) kind = 'transfer';
  return { match: null, methodMismatch, kind };
}
