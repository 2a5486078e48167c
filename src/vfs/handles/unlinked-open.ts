// Files unlinked while open. Their handles keep working by handle (reads,
// writes, close), but fstat(2) sends no handle: the kernel asks for the
// attributes of the inode, and libfuse can only ask by name. So libfuse
// (mounted without hard_remove) does not unlink an open file: it renames it
// to `.fuse_hidden<node><generation>` in the same folder, and unlinks that
// name at the last close. filesfs treats that rename as the unlink it
// stands for (the file is deleted on the server, or its pending upload
// cancelled, at once) and keeps the hidden name answerable here, from the
// open handles, with a link count of 0, until libfuse unlinks it. Hidden
// names never reach the server and are never listed.
import { baseName } from '../../path/index.js';
import type { FileAttributes } from '../filesystem-api.js';
import { FsError } from '../fs-error.js';
import type { FileHandle } from './file-handle.js';

/** libfuse's hidden names: ".fuse_hidden%08x%08x" (lib/fuse.c, hidden_name). */
const HIDDEN_NAME = /^\.fuse_hidden[0-9a-f]{16}$/;

export function isHiddenName(kernelPath: string): boolean {
  return HIDDEN_NAME.test(baseName(kernelPath));
}

export class UnlinkedOpenFiles {
  /** Kernel path of the hidden name → the handles open on the file when it was unlinked. */
  private readonly files = new Map<string, Set<FileHandle>>();

  /** The file at the hidden name `kernelPath` was unlinked while these handles were open on it. */
  hide(kernelPath: string, handles: Iterable<FileHandle>): void {
    this.files.set(kernelPath, new Set(handles));
  }

  /** Attributes of a hidden name: the file's, through one of its handles, with no links left. ENOENT when there is none. */
  async getattr(kernelPath: string): Promise<FileAttributes> {
    for (const handle of this.files.get(kernelPath) ?? []) return { ...(await handle.getattr()), nlink: 0 };
    throw new FsError('ENOENT', `${kernelPath}: no such file`);
  }

  has(kernelPath: string): boolean {
    return this.files.has(kernelPath);
  }

  /** A folder moved: the hidden names below it (kernel paths) move with it. */
  moved(from: string, to: string): void {
    const prefix = from.endsWith('/') ? from : `${from}/`;
    for (const [path, handles] of [...this.files]) {
      if (!path.startsWith(prefix)) continue;
      this.files.delete(path);
      this.files.set(to + path.slice(from.length), handles);
    }
  }

  /** libfuse unlinked the hidden name (the last close). */
  forget(kernelPath: string): void {
    this.files.delete(kernelPath);
  }

  /** A handle was closed. */
  released(handle: FileHandle): void {
    for (const [path, handles] of this.files) {
      if (handles.delete(handle) && handles.size === 0) this.files.delete(path);
    }
  }

  get size(): number {
    return this.files.size;
  }
}
