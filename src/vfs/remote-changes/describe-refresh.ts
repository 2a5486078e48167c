// The one line that says what `filesfs refresh` did. Its own module so that
// the command prints it without loading the filesystem layer.
import type { RefreshReport } from './refresh.js';

const plural = (n: number, one: string, many: string): string => `${n.toLocaleString('en-US')} ${n === 1 ? one : many}`;

/**
 * The one line `filesfs refresh` prints (and the mount logs), e.g.
 * "refreshed /Reports (listing of 214 entries, 3 files' contents); 1 reader
 * keeps its open version". `shown`: the path as the user gave it.
 */
export function describeRefresh(r: RefreshReport, shown: string = r.path): string {
  const contents = r.changedContents > 0 ? `${plural(r.changedContents, "file's", "files'")} contents` : '';
  if (r.found === 'missing') {
    return `refreshed ${shown}: not on the server${contents ? ` (${contents} dropped)` : ''}${readers(r)}`;
  }
  const parts: string[] = [];
  if (r.found === 'folder') {
    parts.push(`listing of ${plural(r.entries ?? 0, 'entry', 'entries')}`);
    if (r.recursive) {
      const below = r.relistedFolders - 1;
      parts.push(below > 0 ? `${plural(below, 'folder', 'folders')} below listed again` : 'nothing cached below');
      if (r.droppedFolders > 0) parts.push(`${plural(r.droppedFolders, 'more folder', 'more folders')} below dropped`);
    }
  } else {
    parts.push('attributes');
  }
  if (contents) parts.push(contents);
  return `refreshed ${shown} (${parts.join(', ')})${readers(r)}`;
}

function readers(r: RefreshReport): string {
  if (r.readersKeepingVersion === 0) return '';
  return r.readersKeepingVersion === 1 ? '; 1 reader keeps its open version' : `; ${r.readersKeepingVersion} readers keep their open versions`;
}
