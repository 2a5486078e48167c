// What folder behaviors do to an entry arriving in a folder (behaviors.ts
// resolves which behavior applies). Files.com docs: extension and regex
// limits refuse uploads whose name does not fit; a length limit refuses or
// shortens the base name keeping the extension (`Text_file(1).TXT`, limit 12
// → `Text_fil.TXT`); `override_upload_filename` renames uploads; moving or
// copying a folder into a folder with name limits is not allowed.
//
// Choices (README "Choices"):
//   - refusals: extension and regex → 422 `processing-failure/destination-folder-limited`,
//     length → 422 `processing-failure/filename-too-long`;
//   - an upload is checked when it is opened (extension, regex) and again at
//     `end`, where the name is final: extension and regex are checked on the
//     name as uploaded, then `override_upload_filename` renames, then the
//     length limit applies to the new name;
//   - renaming happens at `end` (the time in a pattern is the time of `end`);
//     the `end` answer carries the final path; begin_upload shows the requested one;
//   - a file moved or copied into a limited folder must fit the limits (no
//     renaming, no shortening: too long is refused); a folder cannot be moved
//     or copied into one (422 destination-folder-limited).
import { baseName, parentPath } from '../path/index.js';
import { compileRegex } from './behaviors.js';
import type { EmulatorContext } from './context.js';
import { ApiError } from './errors.js';
import { checkName } from './names.js';
import { renameUpload, splitName, type OverrideUploadFilename } from './rename-pattern.js';

const LIMIT_TYPES = ['limit_file_extensions', 'limit_file_regex', 'limit_filename_length'];

const limited = (message: string): ApiError => new ApiError('processing-failure/destination-folder-limited', message);
const tooLong = (max: number): ApiError =>
  new ApiError('processing-failure/filename-too-long', `The file name is too long: this folder allows at most ${max} characters.`);

const length = (s: string): number => [...s].length;

/** Extension and regex limits of the folder `parent` for a file named `name`. */
function checkNameLimits(ctx: EmulatorContext, parent: string, name: string): void {
  const ext = ctx.behaviors.effective('limit_file_extensions', parent);
  if (ext) {
    const { extensions, mode } = ext.value as { extensions: string[]; mode: 'whitelist' | 'blacklist' };
    const wanted = new Set(extensions.map((e) => e.replace(/^\./, '').toLowerCase()));
    const own = splitName(name).ext.slice(1).toLowerCase();
    const ok = mode === 'blacklist' ? !wanted.has(own) : wanted.size === 0 || wanted.has(own);
    if (!ok) throw limited(`This folder does not accept ${own ? `.${own}` : 'extensionless'} files (${mode === 'blacklist' ? 'not allowed' : `allowed: ${[...wanted].join(', ')}`}).`);
  }
  const regex = ctx.behaviors.effective('limit_file_regex', parent);
  if (regex) {
    const list = regex.value as string[];
    if (list.length > 0 && !list.some((r) => compileRegex(r).test(name))) throw limited('The file name does not match the naming rule of this folder.');
  }
}

/** Refuses early what `end` would refuse for the name as uploaded (at begin_upload). */
export function checkUploadName(ctx: EmulatorContext, path: string): void {
  checkNameLimits(ctx, parentPath(path), baseName(path));
}

/** The path an upload to `path` ends up at, completed at `at`; throws when the folder refuses it. */
export function finalUploadPath(ctx: EmulatorContext, path: string, at: Date): string {
  const parent = parentPath(path);
  let name = baseName(path);
  checkNameLimits(ctx, parent, name);
  const rename = ctx.behaviors.effective('override_upload_filename', parent);
  if (rename) {
    name = renameUpload(rename.value as OverrideUploadFilename, name, at, (source) => compileRegex(source, 'g'));
    if (name === '' || /[/\\\0]/.test(name) || name === '.' || name === '..') {
      throw new ApiError('processing-failure/invalid-filename', `Renaming the upload gave an invalid name ${JSON.stringify(name)}.`);
    }
    checkName(name);
  }
  const limit = ctx.behaviors.effective('limit_filename_length', parent);
  if (limit) {
    const { max_length: max, shorten } = limit.value as { max_length: number; shorten: boolean };
    if (length(name) > max) {
      if (!shorten) throw tooLong(max);
      const { base, ext } = splitName(name);
      const keep = max - length(ext);
      name = keep > 0 ? [...base].slice(0, keep).join('') + ext : [...name].slice(0, max).join('');
    }
  }
  return parent ? `${parent}/${name}` : name;
}

/** A move or copy of a file (or, with `folder`, a folder) to `dest`: the destination folder's limits. */
export function checkArrival(ctx: EmulatorContext, dest: string, folder: boolean): void {
  const parent = parentPath(dest);
  if (folder) {
    if (LIMIT_TYPES.some((t) => ctx.behaviors.effective(t, parent))) {
      throw limited('A folder cannot be moved or copied into a folder with file name limits.');
    }
    return;
  }
  const name = baseName(dest);
  checkNameLimits(ctx, parent, name);
  const limit = ctx.behaviors.effective('limit_filename_length', parent);
  if (limit && length(name) > (limit.value as { max_length: number }).max_length) throw tooLong((limit.value as { max_length: number }).max_length);
}
