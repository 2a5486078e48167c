// Staging an existing remote file for writing without O_TRUNC: its bytes are
// streamed from the server into the staging file (never held whole in
// memory), so random writes, appends and truncates apply to the real
// content. If the file changes on the server during the transfer (the
// client's ContentChangedError), the fetch starts over once with the new
// version. Returns the number of bytes staged.
import type { FileHandle } from 'node:fs/promises';
import { ContentChangedError, type FilesClient } from '../../client/index.js';

/** Fresh starts after the content changed during a fetch. */
const CHANGED_RESTARTS = 1;

export async function fetchInto(client: FilesClient, path: string, fd: FileHandle): Promise<number> {
  for (let restarts = 0; ; restarts++) {
    try {
      return await fetchOnce(client, path, fd);
    } catch (err) {
      if (!(err instanceof ContentChangedError) || restarts >= CHANGED_RESTARTS) throw err;
      await fd.truncate(0);
    }
  }
}

async function fetchOnce(client: FilesClient, path: string, fd: FileHandle): Promise<number> {
  const stream = await client.createReadStream(path);
  let position = 0;
  try {
    for await (const chunk of stream) {
      const data = Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk as Uint8Array);
      for (let offset = 0; offset < data.length; ) {
        const { bytesWritten } = await fd.write(data, offset, data.length - offset, position);
        offset += bytesWritten;
        position += bytesWritten;
      }
    }
  } finally {
    stream.destroy();
  }
  await fd.truncate(position);
  return position;
}
