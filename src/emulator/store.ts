// The file tree: every file and folder the emulator holds, in memory, made
// durable through the journal (journal.ts). All lookups and mutations are
// synchronous, so each API call checks and changes the tree in one step that
// no other request can interleave with (Node runs one callback at a time);
// the caller then awaits `sync()` before answering, so a success is on disk.
//
// Identity is the Files.com PathUtil comparison (src/path): names are stored
// as given and looked up by `normalizeForComparison`, so `REPORTS/q1.PDF`
// finds `Reports/Q1.pdf`. Nodes reference their parent, so moving a folder is
// one record whatever its size. File content lives in blobs (blobs.ts); the
// store only counts references to them.
//
// Besides the tree, the store keeps small side tables (locks, behaviors) in
// the same journal, so they are as durable as the tree and survive restarts.
import { baseName, normalize, normalizeForComparison, parentPath } from '../path/index.js';
import type { Logger } from '../log/logger.js';
import { ApiError, destinationExists, notFound, parentConflict, parentMissing } from './errors.js';
import { Journal, type JournalEntry, type JournalRecord, type NodeRecord, type Snapshot, type TableRow } from './journal.js';
import { checkNewPath } from './names.js';
import { nowSeconds, type EpochSeconds } from './times.js';

export interface Node {
  id: number;
  parent: Node | null;
  name: string;
  /** normalizeForComparison(name): the key in the parent's `children`. */
  key: string;
  type: 'file' | 'directory';
  size: number;
  /** Content blob id (files); null for folders. */
  blob: string | null;
  /** S3-style ETag of the content (quoted form without quotes), e.g. "<md5>-3". */
  etag: string | null;
  md5: string | null;
  crc32: string | null;
  created: EpochSeconds;
  mtime: EpochSeconds;
  provided: EpochSeconds | null;
  /** custom_metadata (string keys and values); null when empty. */
  meta: Record<string, string> | null;
  /** Folders only. */
  children: Map<string, Node> | null;
  /** Sorted listings cached per sort (paging.ts), dropped on any change of a child. */
  sortCache: Map<string, Node[]> | null;
}

export interface FileContent {
  blob: string;
  size: number;
  etag: string;
  md5?: string | null;
  crc32?: string | null;
}

/** Where a move or copy would go, checked against the current tree. */
export interface TransferPlan {
  source: Node;
  destParent: Node;
  destName: string;
  existing: Node | undefined;
}

export type BlobListener = (blob: string, references: number) => void;

function key(name: string): string {
  return normalizeForComparison(name);
}

/** A persisted key → JSON value table (see Store.table). */
export interface Table<V> {
  get(key: string): V | undefined;
  entries(): IterableIterator<[string, V]>;
  readonly size: number;
  /** Sets a row; durable with the next `sync()`. */
  put(key: string, value: V): void;
  delete(key: string): boolean;
}

export class Store {
  private readonly nodes = new Map<number, Node>();
  private readonly tables = new Map<string, Map<string, unknown>>();
  private readonly blobRefs = new Map<string, number>();
  private nextId = 1;
  readonly root: Node;
  private journal!: Journal;
  private blobListener: BlobListener = () => undefined;

  private constructor() {
    const t = nowSeconds();
    this.root = this.makeNode(0, null, '', 'directory', t);
    this.nodes.set(0, this.root);
  }

  static async open(metaDir: string, logger: Logger): Promise<Store> {
    const store = new Store();
    store.journal = await Journal.open(
      metaDir,
      logger,
      (snapshot, records) => store.load(snapshot, records, logger),
      () => ({ nextId: store.nextId, nodes: store.records(), rows: store.rows() }),
    );
    return store;
  }

  /** Called with a blob id whenever its reference count changes. */
  onBlobReferences(listener: BlobListener): void {
    this.blobListener = listener;
  }

  /** Every blob id the tree references, with its count. */
  referencedBlobs(): ReadonlyMap<string, number> {
    return this.blobRefs;
  }

  sync(): Promise<void> {
    return this.journal.sync();
  }

  close(): Promise<void> {
    return this.journal.close();
  }

  get size(): number {
    return this.nodes.size - 1;
  }

  /** The side table `name` (created empty when new), journaled like the tree. */
  table<V>(name: string): Table<V> {
    let rows = this.tables.get(name) as Map<string, V> | undefined;
    if (!rows) this.tables.set(name, (rows = new Map<string, V>()));
    const map = rows;
    const journal = (): Journal => this.journal;
    return {
      get: (key) => map.get(key),
      entries: () => map.entries(),
      get size() {
        return map.size;
      },
      put(key, value) {
        map.set(key, value);
        journal().append([{ o: 'row', r: { tb: name, k: key, v: value } }]);
      },
      delete(key) {
        if (!map.delete(key)) return false;
        journal().append([{ o: 'unrow', tb: name, k: key }]);
        return true;
      },
    };
  }

  // ---------------------------------------------------------------- lookups

  /** The node at `path` (any encoding of case/accents), or undefined. '' is the root. */
  resolve(path: string): Node | undefined {
    const norm = normalize(path);
    if (norm === '') return this.root;
    let cur: Node | undefined = this.root;
    for (const segment of norm.split('/')) {
      if (!cur || !cur.children) return undefined;
      cur = cur.children.get(key(segment));
    }
    return cur;
  }

  /** Like resolve, but 404 when missing. */
  get(path: string): Node {
    const node = this.resolve(path);
    if (!node) throw notFound();
    return node;
  }

  /** The key a name is filed under in its folder's `children`. */
  keyOf(name: string): string {
    return key(name);
  }

  pathOf(node: Node): string {
    const parts: string[] = [];
    for (let n: Node | null = node; n && n.parent; n = n.parent) parts.push(n.name);
    return parts.reverse().join('/');
  }

  byId(id: number): Node | undefined {
    return this.nodes.get(id);
  }

  /** Files (not folders) under `node`, itself included when it is one. */
  countFiles(node: Node): number {
    if (!node.children) return 1;
    let n = 0;
    for (const c of node.children.values()) n += this.countFiles(c);
    return n;
  }

  /** Ids of files whose md5/crc32 are still to be computed. */
  filesWithoutHashes(): number[] {
    const out: number[] = [];
    for (const n of this.nodes.values()) if (n.type === 'file' && n.blob && (!n.md5 || !n.crc32)) out.push(n.id);
    return out;
  }

  isInside(node: Node, ancestor: Node): boolean {
    for (let n: Node | null = node; n; n = n.parent) if (n === ancestor) return true;
    return false;
  }

  // ---------------------------------------------------------------- mutations

  /**
   * The folder that will hold `path`, created along the way when `parents`.
   * 409 when a parent is missing and not `parents`; 422 when one is a file.
   */
  ensureParent(path: string, parents: boolean, entries: JournalEntry[] = []): Node {
    const norm = normalize(path);
    const segments = norm.split('/').slice(0, -1);
    let cur = this.root;
    for (const segment of segments) {
      const next = cur.children!.get(key(segment));
      if (next && next.type === 'file') throw parentConflict(norm);
      if (next) {
        cur = next;
        continue;
      }
      if (!parents) throw parentMissing();
      cur = this.attach(this.makeNode(this.nextId++, cur, segment, 'directory', nowSeconds()), entries);
    }
    return cur;
  }

  /** Checks that a new entry could be created at `path` now (used before an upload moves its bytes). */
  checkNewFile(path: string, parents: boolean): void {
    const norm = checkNewPath(path);
    const segments = norm.split('/');
    let cur = this.root;
    for (let i = 0; i < segments.length; i++) {
      const next = cur.children!.get(key(segments[i]!));
      const last = i === segments.length - 1;
      if (last) {
        if (next && next.type === 'directory') throw destinationExists();
        return;
      }
      if (!next) {
        if (!parents) throw parentMissing();
        return;
      }
      if (next.type === 'file') throw parentConflict(norm);
      cur = next;
    }
  }

  mkdir(path: string, options: { parents: boolean; provided?: EpochSeconds | undefined }): Node {
    checkNewPath(path);
    if (this.resolve(path)) throw destinationExists();
    const entries: JournalEntry[] = [];
    const parent = this.ensureParent(path, options.parents, entries);
    const node = this.makeNode(this.nextId++, parent, baseName(path), 'directory', nowSeconds());
    node.provided = options.provided ?? null;
    this.attach(node, entries);
    this.journal.append(entries);
    return node;
  }

  /**
   * Makes `content` the file at `path` (replacing a file there), in one step.
   * Returns the node and the blob it replaced, if any.
   */
  putFile(path: string, content: FileContent, options: { parents: boolean; provided?: EpochSeconds | undefined }): { node: Node; replaced: string | null } {
    checkNewPath(path);
    const entries: JournalEntry[] = [];
    const existing = this.resolve(path);
    if (existing && existing.type === 'directory') throw destinationExists();
    const parent = existing ? existing.parent! : this.ensureParent(path, options.parents, entries);
    const t = nowSeconds();
    let node: Node;
    let replaced: string | null = null;
    if (existing) {
      node = existing;
      replaced = node.blob;
    } else {
      node = this.makeNode(this.nextId++, parent, baseName(path), 'file', t);
    }
    node.blob = content.blob;
    node.size = content.size;
    node.etag = content.etag;
    node.md5 = content.md5 ?? null;
    node.crc32 = content.crc32 ?? null;
    node.mtime = t;
    node.provided = options.provided ?? null;
    this.refBlob(content.blob);
    if (existing) {
      entries.push({ o: 'put', n: this.record(node) });
      this.touch(parent, entries);
    } else {
      this.attach(node, entries);
    }
    if (replaced) this.unrefBlob(replaced);
    this.journal.append(entries);
    return { node, replaced };
  }

  /** Records hashes computed after upload, if the file still has that content. */
  setHashes(id: number, blob: string, md5: string, crc32: string): void {
    const node = this.nodes.get(id);
    if (!node || node.blob !== blob) return;
    node.md5 = md5;
    node.crc32 = crc32;
    this.journal.append([{ o: 'put', n: this.record(node) }]);
  }

  setProvidedMtime(node: Node, provided: EpochSeconds | null): void {
    node.provided = provided;
    if (node.parent) node.parent.sortCache = null;
    this.journal.append([{ o: 'put', n: this.record(node) }]);
  }

  /** Replaces the node's custom_metadata (already checked); {} clears it. */
  setCustomMetadata(node: Node, meta: Record<string, string>): void {
    node.meta = Object.keys(meta).length > 0 ? { ...meta } : null;
    this.journal.append([{ o: 'put', n: this.record(node) }]);
  }

  remove(path: string, recursive: boolean): void {
    const node = this.get(path);
    if (!node.parent) throw new ApiError('bad-request/invalid-path', 'The site root cannot be deleted.');
    if (node.children && node.children.size > 0 && !recursive) {
      throw new ApiError('processing-failure/folder-not-empty', `Folder ${node.name} not empty`);
    }
    const entries: JournalEntry[] = [];
    this.detach(node, entries);
    this.journal.append(entries);
  }

  /** Validates a move or copy of `from` to `to` against the current tree. */
  planTransfer(op: 'move' | 'copy', from: string, to: string, overwrite: boolean): TransferPlan {
    const source = this.get(from);
    if (!source.parent) throw new ApiError('bad-request/invalid-path', `The site root cannot be ${op === 'move' ? 'moved' : 'copied'}.`);
    checkNewPath(to);
    const destParent = this.resolve(parentPath(to));
    if (!destParent) throw parentMissing();
    if (destParent.type !== 'directory') throw parentConflict(normalize(to));
    const destName = baseName(to);
    const existing = destParent.children!.get(key(destName));
    if (existing === source) {
      if (op === 'copy' || source.name === destName) {
        throw new ApiError('bad-request/destination-same', 'The destination is the same as the source.');
      }
      return { source, destParent, destName, existing: undefined }; // a case-only rename
    }
    if (source.children && this.isInside(destParent, source)) {
      throw new ApiError('bad-request/invalid-path', `Cannot ${op} a folder into itself.`);
    }
    if (existing && !overwrite) throw destinationExists();
    if (existing && this.isInside(source, existing)) {
      throw new ApiError('bad-request/invalid-path', 'Cannot overwrite a folder that contains the source.');
    }
    return { source, destParent, destName, existing };
  }

  move(plan: TransferPlan): Node {
    const entries: JournalEntry[] = [];
    const { source, destParent, destName, existing } = plan;
    if (existing) this.detach(existing, entries);
    const oldParent = source.parent!;
    oldParent.children!.delete(source.key);
    oldParent.sortCache = null;
    source.name = destName;
    source.key = key(destName);
    source.parent = destParent;
    destParent.children!.set(source.key, source);
    destParent.sortCache = null;
    entries.push({ o: 'put', n: this.record(source) });
    this.touch(oldParent, entries);
    if (destParent !== oldParent) this.touch(destParent, entries);
    this.journal.append(entries);
    return source;
  }

  copy(plan: TransferPlan): Node {
    const entries: JournalEntry[] = [];
    const { source, destParent, destName, existing } = plan;
    if (existing) this.detach(existing, entries);
    const t = nowSeconds();
    const clone = (src: Node, parent: Node, name: string): Node => {
      const node = this.makeNode(this.nextId++, parent, name, src.type, t);
      node.size = src.size;
      node.blob = src.blob;
      node.etag = src.etag;
      node.md5 = src.md5;
      node.crc32 = src.crc32;
      node.provided = src.provided;
      node.meta = src.meta ? { ...src.meta } : null;
      if (node.blob) this.refBlob(node.blob);
      this.nodes.set(node.id, node);
      parent.children!.set(node.key, node);
      parent.sortCache = null;
      entries.push({ o: 'put', n: this.record(node) });
      if (src.children) for (const child of [...src.children.values()]) clone(child, node, child.name);
      return node;
    };
    const top = clone(source, destParent, destName);
    this.touch(destParent, entries);
    this.journal.append(entries);
    return top;
  }

  // ---------------------------------------------------------------- internals

  private makeNode(id: number, parent: Node | null, name: string, type: 'file' | 'directory', t: EpochSeconds): Node {
    return {
      id, parent, name, key: key(name), type, size: 0, blob: null, etag: null, md5: null, crc32: null,
      created: t, mtime: t, provided: null, meta: null,
      children: type === 'directory' ? new Map() : null, sortCache: null,
    };
  }

  private attach(node: Node, entries: JournalEntry[]): Node {
    const parent = node.parent!;
    parent.children!.set(node.key, node);
    parent.sortCache = null;
    this.nodes.set(node.id, node);
    entries.push({ o: 'put', n: this.record(node) });
    this.touch(parent, entries);
    return node;
  }

  private detach(node: Node, entries: JournalEntry[]): void {
    const parent = node.parent!;
    parent.children!.delete(node.key);
    parent.sortCache = null;
    this.forget(node);
    entries.push({ o: 'del', id: node.id });
    this.touch(parent, entries);
  }

  /** Drops a subtree from the id index and releases its blobs. */
  private forget(node: Node): void {
    this.nodes.delete(node.id);
    if (node.blob) this.unrefBlob(node.blob);
    if (node.children) for (const c of node.children.values()) this.forget(c);
  }

  /** A folder's mtime moves when its contents change (docs/files-api.md §2). */
  private touch(dir: Node, entries: JournalEntry[]): void {
    dir.mtime = nowSeconds();
    if (dir.parent) dir.parent.sortCache = null;
    entries.push({ o: 'put', n: this.record(dir) });
  }

  private refBlob(blob: string): void {
    const n = (this.blobRefs.get(blob) ?? 0) + 1;
    this.blobRefs.set(blob, n);
    this.blobListener(blob, n);
  }

  private unrefBlob(blob: string): void {
    const n = (this.blobRefs.get(blob) ?? 1) - 1;
    if (n <= 0) this.blobRefs.delete(blob);
    else this.blobRefs.set(blob, n);
    this.blobListener(blob, Math.max(n, 0));
  }

  private record(n: Node): NodeRecord {
    return {
      id: n.id, p: n.parent ? n.parent.id : -1, nm: n.name, t: n.type === 'directory' ? 'd' : 'f', sz: n.size,
      b: n.blob, et: n.etag, md5: n.md5, crc: n.crc32, c: n.created, m: n.mtime, pm: n.provided,
      ...(n.meta ? { cm: n.meta } : {}),
    };
  }

  private *rows(): Iterable<TableRow> {
    for (const [tb, rows] of this.tables) for (const [k, v] of rows) yield { tb, k, v };
  }

  private tableRows(name: string): Map<string, unknown> {
    let rows = this.tables.get(name);
    if (!rows) this.tables.set(name, (rows = new Map()));
    return rows;
  }

  private *records(): Iterable<NodeRecord> {
    // Parents before children, so a snapshot replays in one pass.
    const stack: Node[] = [this.root];
    while (stack.length) {
      const n = stack.pop()!;
      yield this.record(n);
      if (n.children) for (const c of n.children.values()) stack.push(c);
    }
  }

  private load(snapshot: Snapshot | null, records: Iterable<JournalRecord>, logger: Logger): void {
    if (snapshot) {
      this.nextId = Math.max(this.nextId, snapshot.nextId);
      for (const r of snapshot.nodes) this.applyPut(r, logger);
      for (const r of snapshot.rows) this.tableRows(r.tb).set(r.k, r.v);
    }
    for (const r of records) {
      if (r.o === 'put') this.applyPut(r.n, logger);
      else if (r.o === 'row') this.tableRows(r.r.tb).set(r.r.k, r.r.v);
      else if (r.o === 'unrow') this.tableRows(r.tb).delete(r.k);
      else {
        const node = this.nodes.get(r.id);
        if (node && node.parent) {
          node.parent.children!.delete(node.key);
          this.forgetQuietly(node);
        }
      }
    }
    for (const n of this.nodes.values()) if (n.blob) this.blobRefs.set(n.blob, (this.blobRefs.get(n.blob) ?? 0) + 1);
  }

  private forgetQuietly(node: Node): void {
    this.nodes.delete(node.id);
    if (node.children) for (const c of node.children.values()) this.forgetQuietly(c);
  }

  private applyPut(r: NodeRecord, logger: Logger): void {
    this.nextId = Math.max(this.nextId, r.id + 1);
    let node = this.nodes.get(r.id);
    if (r.p === -1) {
      node = this.root;
    } else {
      const parent = this.nodes.get(r.p);
      if (!parent || !parent.children) {
        logger.warn('metadata journal: node %d refers to a missing folder %d; skipped', r.id, r.p);
        return;
      }
      if (node) {
        node.parent!.children!.delete(node.key);
      } else {
        node = this.makeNode(r.id, parent, r.nm, r.t === 'd' ? 'directory' : 'file', r.c);
        this.nodes.set(r.id, node);
      }
      node.parent = parent;
      node.name = r.nm;
      node.key = key(r.nm);
      parent.children.set(node.key, node);
    }
    node.size = r.sz;
    node.blob = r.b;
    node.etag = r.et;
    node.md5 = r.md5;
    node.crc32 = r.crc;
    node.created = r.c;
    node.mtime = r.m;
    node.provided = r.pm;
    node.meta = r.cm ?? null;
  }
}
