// The doctor's credentials check: which credentials a mount of this site
// would use and where they come from (mount/credentials.ts decides, in its
// order), never the secret itself. A key file that other users can read is a
// warning here, and refused by mounts through mount(8) and /etc/fstab.
import { statSync } from 'node:fs';
import { userInfo } from 'node:os';
import { ConfigError } from '../options/config-error.js';
import { resolveCredentials, type CredentialSources, type Credentials } from '../mount/credentials.js';
import { fail, ok, warn, type CheckResult } from './check.js';

export interface CredentialCheck {
  result: CheckResult;
  /** The credentials found, for the checks that need them. */
  credentials?: Credentials;
}

function ownerName(uid: number): string {
  try {
    if (uid === process.geteuid?.()) return userInfo().username;
  } catch {
    // No passwd entry.
  }
  return uid === 0 ? 'root' : `uid ${uid}`;
}

export function checkCredentials(sources: CredentialSources): CredentialCheck {
  let credentials: Credentials;
  try {
    credentials = resolveCredentials(sources);
  } catch (err) {
    if (err instanceof ConfigError) return { result: fail('credentials', err.message) };
    throw err;
  }
  const what = credentials.kind === 'api-key' ? 'an API key' : `a session login as ${credentials.username}`;
  if (credentials.kind === 'api-key' && sources.apiKeyFile) {
    const st = statSync(sources.apiKeyFile);
    const mode = (st.mode & 0o777).toString(8).padStart(4, '0');
    const found = `${what} from ${credentials.source} (mode ${mode}, owner ${ownerName(st.uid)})`;
    const uid = process.geteuid?.();
    if (st.mode & 0o077) return { credentials, result: warn('credentials', `${found}: other users can read it`, `chmod 600 ${sources.apiKeyFile} (mounts through mount(8) and /etc/fstab refuse it as it is)`) };
    if (uid !== undefined && st.uid !== uid) return { credentials, result: warn('credentials', `${found}: owned by another user`, `chown it to the mounting user (mounts through mount(8) and /etc/fstab refuse it as it is)`) };
    return { credentials, result: ok('credentials', found) };
  }
  return { credentials, result: ok('credentials', `${what} from ${credentials.source}`) };
}
