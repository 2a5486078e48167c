// The package version, read once from package.json (dist/ and src/ are both
// one level below it), for the User-Agent and `--version`.
import { readFileSync } from 'node:fs';

export const VERSION: string = (JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string }).version;
export const USER_AGENT = `filesfs/${VERSION}`;
