// Office owner files for documents another client has locked. Office keeps
// "~$name" beside a document it has open, holding the name of the user who
// opened it; another copy of Office that finds it says "report.docx is
// locked for editing by <user>" and offers a read-only copy. Files.com's own
// mount presents that file for a document someone else holds a Files.com
// lock on; so does filesfs: such a document shows a read-only "~$" + name
// entry (Excel and PowerPoint prefix the whole name), and Word's shortened
// form (a name of seven characters or more before its extension loses its
// first one or two) is found when Word asks for it by name.
//
// The content is what Office writes: the user name's length in one byte,
// then the name in single bytes, padded to 54 characters (Excel's field;
// Word's is 53 but it reads 54), then the same (length byte included) in
// two bytes per character; 165 bytes in all, so the size is known before
// the name is.
import type { RemoteEntry } from '../../client/index.js';
import { isSame } from '../../path/index.js';

export const OWNER_FILE_PREFIX = '~$';
/** Characters of the user name kept (Excel's field width). */
const NAME_FIELD = 54;
/** One length byte + the field, in single bytes then in two-byte characters. */
export const OWNER_FILE_BYTES = (NAME_FIELD + 1) * 3;

export function isOwnerFileName(name: string): boolean {
  return name.startsWith(OWNER_FILE_PREFIX) && name.length > OWNER_FILE_PREFIX.length;
}

/** The name Office's Excel and PowerPoint (and Word, for short names) give the owner file of `document`. */
export function ownerFileName(document: string): string {
  return OWNER_FILE_PREFIX + document;
}

/**
 * The document among `siblings` whose owner file `name` is: the same name
 * after "~$", or (Word) that name with one or two leading characters more.
 */
export function ownerFileTarget(name: string, siblings: Iterable<RemoteEntry>): RemoteEntry | undefined {
  if (!isOwnerFileName(name)) return undefined;
  const rest = name.slice(OWNER_FILE_PREFIX.length);
  let shortened: RemoteEntry | undefined;
  for (const entry of siblings) {
    if (entry.type !== 'file' || isOwnerFileName(entry.name)) continue;
    if (isSame(entry.name, rest)) return entry;
    const extra = entry.name.length - rest.length;
    if (!shortened && (extra === 1 || extra === 2) && isSame(entry.name.slice(extra), rest)) shortened = entry;
  }
  return shortened;
}

/** The owner file naming `user` (characters beyond Latin-1 become "?", as Office's single-byte field would). */
export function ownerFileContent(user: string): Buffer {
  const name = [...user].slice(0, NAME_FIELD).map((c) => (c.codePointAt(0)! < 0x100 ? c : '?')).join('');
  const out = Buffer.alloc(OWNER_FILE_BYTES);
  const field = NAME_FIELD + 1;
  const prefixed = String.fromCharCode(name.length) + name;
  for (let i = 0; i < prefixed.length; i++) {
    const code = prefixed.charCodeAt(i);
    out[i] = code;
    out.writeUInt16LE(code, field + i * 2);
  }
  // The single-byte field is padded with spaces, as Office pads it.
  out.fill(0x20, prefixed.length, field);
  return out;
}
