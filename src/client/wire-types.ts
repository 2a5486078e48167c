// The JSON shapes Files.com sends and receives, as docs/files-api.md records them
// (§2 entries, §5 upload parts, §6 file actions and migrations, §1 sessions).
// Every field is optional and loosely typed on purpose: responses are parsed
// defensively in entry.ts / upload.ts / migrations.ts, never trusted as is.

/** A file or folder (GET /folders, /file_actions/metadata, /files, POST /folders, end of upload). */
export interface WireEntry {
  path?: unknown;
  display_name?: unknown;
  type?: unknown;
  size?: unknown;
  mtime?: unknown;
  provided_mtime?: unknown;
  created_at?: unknown;
  crc32?: unknown;
  md5?: unknown;
  sha1?: unknown;
  sha256?: unknown;
  permissions?: unknown;
  is_locked?: unknown;
  /** An object of text keys and values (docs/files-api.md §13). */
  custom_metadata?: unknown;
  /** Only on GET /files/{path} (download). */
  download_uri?: unknown;
}

/** One element of the begin_upload response array. */
export interface WireUploadPart {
  upload_uri?: unknown;
  http_method?: unknown;
  /** Extra headers the part PUT must carry. */
  headers?: unknown;
  /** Extra query parameters for the part PUT. */
  parameters?: unknown;
  part_number?: unknown;
  partsize?: unknown;
  parallel_parts?: unknown;
  retry_parts?: unknown;
  /** True when something exists at the target path already. */
  ask_about_overwrites?: unknown;
  ref?: unknown;
  expires?: unknown;
  available_parts?: unknown;
}

/** Response of POST /file_actions/move|copy. */
export interface WireFileAction {
  status?: unknown;
  file_migration_id?: unknown;
}

/** GET /file_migrations/{id}. */
export interface WireFileMigration {
  id?: unknown;
  status?: unknown;
  failure_message?: unknown;
}

/** POST /sessions. */
export interface WireSession {
  id?: unknown;
}

/** Body of POST /files/{path} with action "end". */
export interface WireUploadEnd {
  action: 'end';
  ref: string;
  etags: { etag: string; part: number }[];
  size?: number;
  provided_mtime?: string;
  mkdir_parents: boolean;
}
