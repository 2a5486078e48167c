// Marks dist/ as built now: scripts/setup rebuilds when any source is newer
// than this stamp. Also makes the CLI entry executable for direct use.
import { writeFileSync, chmodSync, existsSync } from 'node:fs';
writeFileSync('dist/.build-stamp', new Date().toISOString() + '\n');
if (existsSync('dist/cli/main.js')) chmodSync('dist/cli/main.js', 0o755);
