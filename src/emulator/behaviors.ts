// Folder behaviors ("Folder Settings", docs/files-api.md §13): records under
// /api/rest/v1/behaviors with the SDKs' Behavior model (`id, path, behavior,
// value, name, description, recursive, disable_parent_folder_behavior,
// attachment_url`). Every behavior belongs to a folder; `value` holds the
// type's settings and may arrive as an object or as a JSON-encoded string (the
// JS SDK insists on a string), in the legacy form (`{"extensions": […]}`) or
// wrapped under the type's name (`{"limit_file_extensions": {…}}`, the
// Terraform provider's newer form); it is stored and shown unwrapped.
//
// Types the emulator acts on (upload-behaviors.ts): `override_upload_filename`
// (renames uploads; it replaced the removed `append_timestamp`),
// `limit_file_extensions`, `limit_file_regex`, `limit_filename_length`. The
// other documented types are stored and listed but have no effect; an unknown
// type (including `append_timestamp`) is 400 `bad-request/request-params-invalid`.
//
// A behavior is attached to its folder node, so it follows the folder when it
// is moved and disappears with it; `copy_behaviors` on a folder copy copies
// the ones inside. Resolution (Files.com docs): the nearest folder with a
// behavior of the type wins — the upload's own folder, or an ancestor whose
// behavior is recursive; one with `disable_parent_folder_behavior` cancels it
// there. Kept in the store's "behaviors" table (journaled).
import { normalize } from '../path/index.js';
import { ApiError } from './errors.js';
import type { Node, Store, Table } from './store.js';
import { isTimeZone } from './rename-pattern.js';

/** Types that act on uploads, and whether they are always recursive (docs: limits apply to subfolders). */
export const ACTIVE_TYPES: Record<string, { alwaysRecursive: boolean }> = {
  override_upload_filename: { alwaysRecursive: false },
  limit_file_extensions: { alwaysRecursive: true },
  limit_file_regex: { alwaysRecursive: true },
  limit_filename_length: { alwaysRecursive: true },
};

/** Documented types that are stored without effect (the SDKs' and Terraform provider's list). */
const STORED_TYPES = [
  'webhook', 'file_expiration', 'auto_encrypt', 'lock_subfolders', 'storage_region', 'serve_publicly', 'create_user_folders',
  'remote_server_sync', 'inbox', 'amazon_sns', 'watermark', 'remote_server_mount', 'slack_webhook', 'auto_decrypt',
  'permission_fence', 'organize_files_into_subfolders', 'teams_webhook', 'google_pub_sub', 'archive_overwritten_or_deleted_files',
  'auto_recrypt', 'metadata_category', 'auto_unzip', 'remote_server_metadata_index', 'malware_scanning',
];

export interface BehaviorRecord {
  id: number;
  /** The folder's node id (the path is looked up when shown). */
  nodeId: number;
  behavior: string;
  value: unknown;
  name: string | null;
  description: string | null;
  recursive: boolean;
  disableParent: boolean;
}

export interface BehaviorInput {
  value?: unknown;
  name?: string | undefined;
  description?: string | undefined;
  recursive?: boolean | undefined;
  disableParent?: boolean | undefined;
}

const invalid = (message: string): ApiError => new ApiError('bad-request/request-params-invalid', message);

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** `value` as stored: JSON text parsed, the `{<type>: …}` wrapper removed, the active types' settings checked. */
export function parseValue(type: string, raw: unknown): unknown {
  let value = raw;
  if (typeof value === 'string' && /^\s*[[{"]/.test(value)) {
    try {
      value = JSON.parse(value);
    } catch {
      throw invalid('value is not valid JSON.');
    }
  }
  if (isObject(value) && Object.keys(value).length === 1 && type in value) value = value[type];
  switch (type) {
    case 'override_upload_filename': {
      if (!isObject(value)) throw invalid('override_upload_filename needs a value object (filename_override_pattern, …).');
      const strings = ['filename_override_pattern', 'filename_replace_from', 'filename_replace_to', 'filename_regex_replace_from', 'filename_regex_replace_to', 'time_zone'];
      for (const k of strings) if (value[k] !== undefined && value[k] !== null && typeof value[k] !== 'string') throw invalid(`${k} must be text.`);
      if (!value.filename_override_pattern && !value.filename_replace_from && !value.filename_regex_replace_from) {
        throw invalid('override_upload_filename needs filename_override_pattern, filename_replace_from or filename_regex_replace_from.');
      }
      if (typeof value.filename_regex_replace_from === 'string') compileRegex(value.filename_regex_replace_from, 'g');
      if (typeof value.time_zone === 'string' && value.time_zone !== '' && !isTimeZone(value.time_zone)) throw invalid(`Unknown time_zone ${JSON.stringify(value.time_zone)}.`);
      return value;
    }
    case 'limit_file_extensions': {
      if (!isObject(value)) throw invalid('limit_file_extensions needs a value object (extensions, mode).');
      const list = typeof value.extensions === 'string' ? value.extensions.split(',') : value.extensions;
      if (!Array.isArray(list) || !list.every((e) => typeof e === 'string')) throw invalid('extensions must be a list of file extensions.');
      const mode = value.mode ?? 'whitelist';
      if (mode !== 'whitelist' && mode !== 'blacklist') throw invalid('mode must be whitelist or blacklist.');
      return { extensions: list.map((e) => e.trim()).filter(Boolean), mode };
    }
    case 'limit_file_regex': {
      const list = typeof value === 'string' ? [value] : value;
      if (!Array.isArray(list) || !list.every((e) => typeof e === 'string')) throw invalid('limit_file_regex needs a list of regular expressions.');
      for (const r of list) compileRegex(r);
      return list;
    }
    case 'limit_filename_length': {
      if (!isObject(value)) throw invalid('limit_filename_length needs a value object (max_length, shorten).');
      const max = Number(value.max_length);
      if (!Number.isInteger(max) || max < 1) throw invalid('max_length must be a positive whole number.');
      return { max_length: max, shorten: value.shorten === true || value.shorten === 'true' };
    }
    default:
      return value ?? null;
  }
}

/**
 * A regular expression as the behaviors write them: `/pattern/flags` or a
 * bare pattern. Ruby's `\A`, `\z`, `\Z` anchors are translated.
 */
export function compileRegex(text: string, extraFlags = ''): RegExp {
  const m = /^\/(.*)\/([a-z]*)$/s.exec(text);
  const source = (m ? m[1]! : text).replace(/\\A/g, '^').replace(/\\[zZ]/g, '$');
  const flags = [...new Set(((m ? m[2]! : '') + extraFlags).replace(/[^gimsu]/g, ''))].join('');
  try {
    return new RegExp(source, flags);
  } catch {
    throw invalid(`Invalid regular expression ${JSON.stringify(text.slice(0, 80))}.`);
  }
}

export class Behaviors {
  private readonly table: Table<BehaviorRecord>;
  private nextId = 1;

  constructor(private readonly store: Store) {
    this.table = store.table<BehaviorRecord>('behaviors');
    for (const [, b] of this.table.entries()) this.nextId = Math.max(this.nextId, b.id + 1);
  }

  create(folder: Node, type: string, input: BehaviorInput): BehaviorRecord {
    if (!(type in ACTIVE_TYPES) && !STORED_TYPES.includes(type)) {
      throw invalid(`Unknown behavior ${JSON.stringify(type)}${type === 'append_timestamp' ? ' (removed; use override_upload_filename)' : ''}.`);
    }
    if (folder.type !== 'directory') throw new ApiError('bad-request/folder-must-not-be-a-file', 'Behaviors belong to folders; the path is a file.');
    const always = ACTIVE_TYPES[type]?.alwaysRecursive === true;
    const record: BehaviorRecord = {
      id: this.nextId++,
      nodeId: folder.id,
      behavior: type,
      value: parseValue(type, input.value),
      name: input.name ?? null,
      description: input.description ?? null,
      recursive: always || (input.recursive ?? false),
      disableParent: input.disableParent ?? false,
    };
    this.table.put(String(record.id), record);
    return record;
  }

  /** The live behavior `id`, or 404. */
  get(id: number): BehaviorRecord {
    const b = this.table.get(String(id));
    if (!b || !this.folderOf(b)) throw new ApiError('not-found', 'Not Found.  This may be related to your permissions.');
    return b;
  }

  update(id: number, input: BehaviorInput): BehaviorRecord {
    const b = { ...this.get(id) };
    if (input.value !== undefined) b.value = parseValue(b.behavior, input.value);
    if (input.name !== undefined) b.name = input.name;
    if (input.description !== undefined) b.description = input.description;
    if (input.recursive !== undefined) b.recursive = ACTIVE_TYPES[b.behavior]?.alwaysRecursive === true || input.recursive;
    if (input.disableParent !== undefined) b.disableParent = input.disableParent;
    this.table.put(String(b.id), b);
    return b;
  }

  delete(id: number): void {
    this.get(id);
    this.table.delete(String(id));
  }

  /** Every live behavior (optionally of one type), by id. */
  all(type?: string): BehaviorRecord[] {
    return this.sweep().filter((b) => !type || b.behavior === type).sort((a, b) => a.id - b.id);
  }

  /** Behaviors on `folder`, and with `ancestors` those above it, root first. */
  on(folder: Node, ancestors: boolean): BehaviorRecord[] {
    const chain: Node[] = [];
    for (let n: Node | null = folder; n; n = ancestors ? n.parent : null) chain.unshift(n);
    const ids = new Set(chain.map((n) => n.id));
    const live = this.sweep().filter((b) => ids.has(b.nodeId));
    return live.sort((a, b) => chain.findIndex((n) => n.id === a.nodeId) - chain.findIndex((n) => n.id === b.nodeId) || a.id - b.id);
  }

  /**
   * The behavior of `type` that applies to an entry placed in `folderPath`:
   * the nearest folder on the way up with one, if it is that folder itself or
   * the behavior is recursive; null when none applies or the nearest one
   * disables its parents'.
   */
  effective(type: string, folderPath: string): BehaviorRecord | null {
    if (this.table.size === 0) return null;
    const chain = this.existingChain(normalize(folderPath));
    const byNode = new Map<number, BehaviorRecord[]>();
    for (const b of this.sweep()) if (b.behavior === type) (byNode.get(b.nodeId) ?? byNode.set(b.nodeId, []).get(b.nodeId)!).push(b);
    for (let i = chain.nodes.length - 1; i >= 0; i--) {
      const here = chain.nodes[i]!;
      const direct = here === chain.nodes.at(-1) && chain.complete;
      // A disabling behavior works for its folder and everything below it (docs), whatever its `recursive`.
      const found = (byNode.get(here.id) ?? []).sort((a, b) => b.id - a.id).find((b) => direct || b.recursive || b.disableParent);
      if (found) return found.disableParent ? null : found;
    }
    return null;
  }

  /** After a folder copy with copy_behaviors: the behaviors inside `source` again inside `copy`. */
  copyInto(source: Node, copy: Node): void {
    for (const b of this.sweep()) {
      const from = this.store.byId(b.nodeId);
      if (!from || !this.store.isInside(from, source)) continue;
      const names: string[] = [];
      for (let n: Node | null = from; n && n !== source; n = n.parent) names.unshift(n.key);
      let target: Node | undefined = copy;
      for (const key of names) target = target?.children?.get(key);
      if (!target) continue;
      const record = { ...b, id: this.nextId++, nodeId: target.id };
      this.table.put(String(record.id), record);
    }
  }

  json(b: BehaviorRecord): Record<string, unknown> {
    const folder = this.folderOf(b);
    return {
      id: b.id,
      path: folder ? this.store.pathOf(folder) : null,
      attachment_url: null,
      behavior: b.behavior,
      name: b.name,
      description: b.description,
      value: b.value,
      disable_parent_folder_behavior: b.disableParent,
      recursive: b.recursive,
    };
  }

  private folderOf(b: BehaviorRecord): Node | undefined {
    const n = this.store.byId(b.nodeId);
    return n && n.type === 'directory' ? n : undefined;
  }

  /** Live behaviors; ones whose folder is gone are dropped (journaled). */
  private sweep(): BehaviorRecord[] {
    const live: BehaviorRecord[] = [];
    const gone: string[] = [];
    for (const [k, b] of this.table.entries()) (this.folderOf(b) ? live.push(b) : gone.push(k));
    for (const k of gone) this.table.delete(k);
    return live;
  }

  /** The existing folders from the root down `path`; `complete` when all of it exists. */
  private existingChain(path: string): { nodes: Node[]; complete: boolean } {
    const nodes: Node[] = [this.store.root];
    const segments = path === '' ? [] : path.split('/');
    for (const s of segments) {
      const parts = nodes.at(-1)!.children;
      const next = parts?.get(this.store.keyOf(s));
      if (!next || next.type !== 'directory') return { nodes, complete: false };
      nodes.push(next);
    }
    return { nodes, complete: true };
  }
}
