// Drives the official Files.com JavaScript SDK (npm `files.com`) against an
// emulator. Run by sdk-acceptance.test.ts in a child process, because the
// emulator's self-signed certificate must be trusted through
// NODE_EXTRA_CA_CERTS, which Node reads only at start.
// Env: FILES_BASE_URL, FILES_API_KEY, FILES_API_KEY_BOB (a colleague's key),
// WORK_DIR, SDK_USER, SDK_PASSWORD.
// Prints one JSON line: what the SDK saw at each step (the test asserts on it).
import { createHash, randomBytes } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import Files from 'files.com/lib/Files.js';
import File from 'files.com/lib/models/File.js';
import Folder from 'files.com/lib/models/Folder.js';
import FileMigration from 'files.com/lib/models/FileMigration.js';
import Session from 'files.com/lib/models/Session.js';
import Lock from 'files.com/lib/models/Lock.js';
import Behavior from 'files.com/lib/models/Behavior.js';
import * as FilesErrors from 'files.com/lib/Errors.js';
import { LogLevel } from 'files.com/lib/Logger.js';

const F = Files.default ?? Files;
const FileM = File.default ?? File;
const FolderM = Folder.default ?? Folder;
const Migration = FileMigration.default ?? FileMigration;
const SessionM = Session.default ?? Session;
const LockM = Lock.default ?? Lock;
const BehaviorM = Behavior.default ?? Behavior;
const Errors = FilesErrors.default ?? FilesErrors;

const sha = (b) => createHash('sha256').update(b).digest('hex');
const report = {};

F.setBaseUrl(process.env.FILES_BASE_URL);
F.setApiKey(process.env.FILES_API_KEY);
F.setLogLevel(LogLevel.NONE ?? 0);
F.configureNetwork({ maxNetworkRetries: 0 });

const work = process.env.WORK_DIR;
const source = randomBytes(6 * 1024 * 1024 + 1234); // two 5 MiB parts for the SDK
writeFileSync(join(work, 'source.bin'), source);

// Create a folder.
const folder = await FolderM.create('SDK Test', {});
report.folder = { path: folder.path, type: folder.type };

// Upload with the SDK's own upload (action "put", per-part URLs, "end" with ref only).
const uploaded = await FileM.uploadFile('SDK Test/Source.bin', join(work, 'source.bin'));
report.upload = { path: uploaded.path, size: uploaded.size };
const small = await FileM.uploadData('SDK Test/hello.txt', 'hello from the SDK');
report.uploadData = { path: small.path, size: small.size };

// List a folder of over 1,000 entries with auto-pagination.
const many = await FolderM.listFor('Big', { per_page: 1000 });
report.list = { count: many.length, unique: new Set(many.map((e) => e.path)).size, firstType: many[0]?.type, lastType: many.at(-1)?.type };

// Find metadata (case-insensitively).
const found = await FileM.find('sdk test/SOURCE.BIN');
report.find = { path: found.path, size: found.size, type: found.type, mtime: found.mtime, subfoldersLockedKey: 'subfolders_locked' in found.attributes };

// Download byte-identical content.
const withUri = await found.download();
await withUri.downloadToFile(join(work, 'downloaded.bin'));
report.download = { identical: sha(readFileSync(join(work, 'downloaded.bin'))) === sha(source), hasUri: Boolean(withUri.download_uri) };
report.downloadString = await (await small.download()).downloadToString();

// Move, copy (files complete at once), then a folder copy through a file migration.
const moved = await found.move({ destination: 'SDK Test/Moved.bin' });
report.move = { status: moved.status };
const movedFile = await FileM.find('SDK Test/Moved.bin');
const copied = await movedFile.copy({ destination: 'SDK Test/Copy.bin' });
report.copy = { status: copied.status };
const folderCopy = await FileM.find('SDK Test');
const migration = await folderCopy.copy({ destination: 'SDK Copy' });
let state = await Migration.find(migration.file_migration_id);
const seen = [migration.status];
for (let i = 0; i < 100 && state.status !== 'completed' && state.status !== 'failed'; i++) {
  if (seen.at(-1) !== state.status) seen.push(state.status);
  await new Promise((r) => setTimeout(r, 50));
  state = await Migration.find(migration.file_migration_id);
}
seen.push(state.status);
report.folderCopy = { statuses: seen, copied: (await FolderM.listFor('SDK Copy', {})).map((e) => e.path) };

// Delete.
await (await FileM.find('SDK Test/Copy.bin')).delete();
try {
  await FileM.find('SDK Test/Copy.bin');
  report.delete = 'still there';
} catch (e) {
  report.delete = e.constructor.name;
}

// Typed errors: a missing file and an existing folder.
try {
  await FileM.find('SDK Test/missing.txt');
  report.missing = 'no error';
} catch (e) {
  report.missing = { name: e.constructor.name, isNotFound: e instanceof Errors.NotFoundError, code: e.code, type: e.type };
}
try {
  await FolderM.create('sdk test', {});
  report.exists = 'no error';
} catch (e) {
  report.exists = { name: e.constructor.name, isTyped: e instanceof Errors.ProcessingFailure_DestinationExistsError, code: e.code, type: e.type };
}

// custom_metadata through File.update, read back with File.find.
const tagged = await (await FileM.find('SDK Test/Moved.bin')).update({ custom_metadata: { status: 'reviewed', round: '2' } });
report.customMetadata = { updated: tagged.custom_metadata, found: (await FileM.find('SDK Test/Moved.bin')).custom_metadata };

// Locks: take one, list it, a colleague (another key) is refused, a second lock too; release it.
const lock = await LockM.create('SDK Test/Moved.bin', { exclusive: true, timeout: 300 });
const listedLocks = await LockM.listFor('SDK Test/Moved.bin', {});
F.setApiKey(process.env.FILES_API_KEY_BOB);
const typed = (e) => ({ name: e.constructor.name, code: e.code, type: e.type });
let colleague;
try {
  await FileM.uploadData('SDK Test/Moved.bin', 'overwritten by bob');
  colleague = 'no error';
} catch (e) {
  colleague = typed(e);
}
let second;
try {
  await LockM.create('SDK Test/Moved.bin', { exclusive: true });
  second = 'no error';
} catch (e) {
  second = typed(e);
}
F.setApiKey(process.env.FILES_API_KEY);
await lock.delete();
report.locks = {
  created: { path: lock.path, exclusive: lock.exclusive, hasToken: /^[0-9a-f]{32}$/.test(lock.token), username: lock.username },
  listed: listedLocks.map((l) => l.token === lock.token),
  colleague,
  second,
  afterRelease: (await LockM.listFor('SDK Test/Moved.bin', {})).length,
};

// Behaviors: one that renames uploads and one that refuses them, as the SDK sends them (value as JSON text).
await FolderM.create('SDK Behaviors', {});
const rename = await BehaviorM.create({ path: 'SDK Behaviors', behavior: 'override_upload_filename', value: JSON.stringify({ filename_override_pattern: 'renamed-%Ff' }) });
const limit = await BehaviorM.create({ path: 'SDK Behaviors', behavior: 'limit_file_extensions', value: JSON.stringify({ extensions: ['txt'], mode: 'whitelist' }) });
const renamed = await FileM.uploadData('SDK Behaviors/note.txt', 'renamed on arrival');
let refusedUpload;
try {
  await FileM.uploadData('SDK Behaviors/image.png', 'not a text file');
  refusedUpload = 'no error';
} catch (e) {
  refusedUpload = typed(e);
}
const foundBehavior = await BehaviorM.find(rename.id);
const onFolder = await BehaviorM.listFor('SDK Behaviors', {});
await limit.delete();
report.behaviors = {
  created: { behavior: rename.behavior, path: rename.path, value: rename.value },
  renamed: renamed.path,
  refusedUpload,
  found: foundBehavior.id === rename.id,
  onFolder: onFolder.map((b) => b.behavior).sort(),
  afterDelete: (await BehaviorM.listFor('SDK Behaviors', {})).map((b) => b.behavior),
};

// A session instead of the API key.
if (process.env.SDK_USER) {
  F.setApiKey(undefined);
  const session = await SessionM.create({ username: process.env.SDK_USER, password: process.env.SDK_PASSWORD });
  F.setSessionId(session.id);
  report.session = { listed: (await FolderM.listFor('/', {})).map((e) => e.path) };
  await SessionM.delete();
  F.setSessionId(null);
}

process.stdout.write(JSON.stringify(report) + '\n');
