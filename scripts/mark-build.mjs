// Marks dist/ as built now: scripts/setup rebuilds when any source is newer
// than this stamp. Also makes the CLI entry executable for direct use.
// The folder is dist/, or the one given (scripts/setup builds beside dist/).
import { writeFileSync, chmodSync, existsSync } from 'node:fs';
import { join } from 'node:path';
const dir = process.argv[2] ?? 'dist';
writeFileSync(join(dir, '.build-stamp'), new Date().toISOString() + '\n');
if (existsSync(join(dir, 'cli/main.js'))) chmodSync(join(dir, 'cli/main.js'), 0o755);
