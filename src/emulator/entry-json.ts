// A file or folder as the API shows it (docs/files-api.md §2): the fields of the
// 2024 recordings and of the SDKs' File model, with the real quirks kept —
// `subfolders_locked?` (the key ends with a question mark) on folders only,
// `size` null for folders, `mime_type`/`region` on files only, `crc32` in
// lowercase hex without zero padding, `md5`/`crc32` null until the background
// hasher has computed them. `custom_metadata` is the entry's own (always an
// object); `is_locked` says whether a live lock covers the path.
import { extname } from 'node:path';
import type { EmulatorContext } from './context.js';
import { formatTime } from './times.js';
import type { Node } from './store.js';

/** Where our "bucket" says it lives; the real service shows the site's S3 region. */
export const REGION = 'us-east-1';

const MIME: Record<string, string> = {
  '.txt': 'text/plain', '.md': 'text/markdown', '.csv': 'text/csv', '.json': 'application/json', '.html': 'text/html',
  '.pdf': 'application/pdf', '.png': 'image/png', '.jpg': 'image/jpeg', '.jpeg': 'image/jpeg', '.gif': 'image/gif',
  '.svg': 'image/svg+xml', '.zip': 'application/zip', '.gz': 'application/gzip', '.xml': 'application/xml', '.ppm': 'image/x-portable-pixmap',
};

export function mimeTypeOf(name: string): string {
  return MIME[extname(name).toLowerCase()] ?? 'application/octet-stream';
}

export function entryJson(node: Node, path: string, extra: Record<string, unknown> = {}): Record<string, unknown> {
  const isDir = node.type === 'directory';
  const base: Record<string, unknown> = {
    path,
    created_by_id: null,
    created_by_api_key_id: null,
    created_by_as2_incoming_message_id: null,
    created_by_automation_id: null,
    created_by_bundle_registration_id: null,
    created_by_inbox_id: null,
    created_by_remote_server_id: null,
    created_by_remote_server_sync_id: null,
    custom_metadata: node.meta ? { ...node.meta } : {},
    display_name: node.name,
    type: isDir ? 'directory' : 'file',
    size: isDir ? null : node.size,
    created_at: formatTime(node.created),
    last_modified_by_id: null,
    last_modified_by_api_key_id: null,
    last_modified_by_automation_id: null,
    last_modified_by_bundle_registration_id: null,
    last_modified_by_remote_server_id: null,
    last_modified_by_remote_server_sync_id: null,
    mtime: formatTime(node.mtime),
    provided_mtime: formatTime(node.provided),
    crc32: isDir ? null : node.crc32,
    md5: isDir ? null : node.md5,
    sha1: null,
    sha256: null,
  };
  if (!isDir) {
    base.mime_type = mimeTypeOf(node.name);
    base.region = REGION;
  }
  base.permissions = 'lrwd';
  if (isDir) base['subfolders_locked?'] = false;
  base.is_locked = false;
  base.priority_color = null;
  base.preview_id = null;
  base.preview = null;
  return { ...base, ...extra };
}

/** The entry at `path` with what only the running emulator knows (`is_locked`). */
export function entryFor(ctx: EmulatorContext, node: Node, path: string = ctx.store.pathOf(node), extra: Record<string, unknown> = {}): Record<string, unknown> {
  return entryJson(node, path, { is_locked: ctx.locks.isLocked(path), ...extra });
}
