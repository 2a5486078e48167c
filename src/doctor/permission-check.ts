// The doctor's permission check: the request a mount makes before mounting
// (mount/preflight.ts: list one entry of the site root, or read the metadata
// of --root), with the mount's client and credentials, and its one-line
// verdict.
import { HttpFilesClient, type ClientOptions } from '../client/index.js';
import type { Credentials } from '../mount/credentials.js';
import { verifyRemote } from '../mount/preflight.js';
import { fail, ok, type CheckResult } from './check.js';

export interface PermissionCheckOptions {
  client: Omit<ClientOptions, 'credentials'>;
  credentials: Credentials;
  baseUrl: string;
  remoteRoot: string;
}

export async function checkPermission(options: PermissionCheckOptions): Promise<CheckResult> {
  const { credentials } = options;
  const client = new HttpFilesClient({
    ...options.client,
    credentials: credentials.kind === 'api-key' ? { apiKey: credentials.apiKey } : { username: credentials.username, password: credentials.password },
  });
  const where = options.remoteRoot ? `the folder /${options.remoteRoot}` : 'the site root';
  try {
    const root = await verifyRemote(client, { baseUrl: options.baseUrl, remoteRoot: options.remoteRoot, credentialSource: credentials.source });
    return ok('permission', `the credentials may list ${root ? `the folder /${root}` : where}`);
  } catch (err) {
    const message = err instanceof Error ? err.message : String(err);
    const fix = /refused the credentials/.test(message)
      ? 'check the key (revoked, expired, or another site\'s: a key works only on its own site), or make a new one in the web app'
      : /may not list/.test(message) ? 'give the key\'s user permission on that folder, or mount a folder it may list (--root / -o root=)' : undefined;
    return fail('permission', message, fix);
  } finally {
    await client.close().catch(() => undefined);
  }
}
