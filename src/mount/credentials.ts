// Where the Files.com credentials come from, in order, never from argv:
//   1. --api-key-file PATH (warns when the file is readable by group/others)
//   2. env FILES_API_KEY, then FILESCOM_API_KEY
//   3. env FILES_USERNAME + FILES_PASSWORD (a session)
//   4. a ~/.netrc entry for the site's host (login + password: a session)
// Every secret found is registered with the logger before it is returned, so
// no log line or error message can carry it.
import { readFileSync, statSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { registerSecret, type Logger } from '../log/logger.js';
import { ConfigError } from '../options/config-error.js';
import { findNetrcEntry } from './netrc.js';

export type Credentials =
  | { kind: 'api-key'; apiKey: string; source: string }
  | { kind: 'session'; username: string; password: string; source: string };

export interface CredentialSources {
  baseUrl: string;
  apiKeyFile?: string;
  /** How the key file was named, for messages: "--api-key-file" (default) or "-o api_key_file". */
  apiKeyFileOption?: string;
  env?: NodeJS.ProcessEnv;
  /** Defaults to $NETRC or ~/.netrc. */
  netrcFile?: string;
  logger?: Logger;
  /**
   * Refuse (instead of warning about) an --api-key-file that another user
   * could read: readable by group or others, or owned by someone else. Mounts
   * through mount(8) and /etc/fstab ask for this: the key of a system mount
   * is for root's eyes only.
   */
  privateKeyFile?: boolean;
}

const API_KEY_SHAPE = /^[A-Za-z0-9_-]+$/;

function checkKey(key: string, source: string): string {
  if (key === '') throw new ConfigError(`${source} is empty`);
  if (!API_KEY_SHAPE.test(key)) throw new ConfigError(`${source} does not look like a Files.com API key (letters and digits only)`);
  return key;
}

export function resolveCredentials(sources: CredentialSources): Credentials {
  const env = sources.env ?? process.env;

  if (sources.apiKeyFile) {
    const option = sources.apiKeyFileOption ?? '--api-key-file';
    let text: string;
    let mode: number;
    let owner: number;
    try {
      const st = statSync(sources.apiKeyFile);
      mode = st.mode;
      owner = st.uid;
      text = readFileSync(sources.apiKeyFile, 'utf8');
    } catch (err) {
      throw new ConfigError(`${option} ${sources.apiKeyFile}: ${(err as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (err as Error).message}`);
    }
    const key = text.trim();
    registerSecret(key);
    const uid = process.geteuid?.();
    if (sources.privateKeyFile && (mode & 0o077 || (uid !== undefined && owner !== uid))) {
      const why = mode & 0o077 ? `readable by other users (mode ${(mode & 0o777).toString(8).padStart(4, '0')})` : `owned by another user (uid ${owner})`;
      throw new ConfigError(`api_key_file ${sources.apiKeyFile} is ${why}; only its owner may read it: chown ${uid === 0 ? 'root:root' : uid} ${sources.apiKeyFile} && chmod 600 ${sources.apiKeyFile}`);
    }
    if (mode & 0o077) {
      sources.logger?.warn(`${option} ${sources.apiKeyFile} is readable by other users (mode ${(mode & 0o777).toString(8)}); run: chmod 600 ${sources.apiKeyFile}`);
    }
    return { kind: 'api-key', apiKey: checkKey(key, `${option} ${sources.apiKeyFile}`), source: `${option} ${sources.apiKeyFile}` };
  }

  for (const name of ['FILES_API_KEY', 'FILESCOM_API_KEY']) {
    const value = env[name]?.trim();
    if (value) {
      registerSecret(value);
      return { kind: 'api-key', apiKey: checkKey(value, `$${name}`), source: `$${name}` };
    }
  }

  const username = env.FILES_USERNAME;
  const password = env.FILES_PASSWORD;
  if (username || password) {
    if (!username || !password) throw new ConfigError('set both FILES_USERNAME and FILES_PASSWORD for a session login (or use FILES_API_KEY)');
    registerSecret(password);
    return { kind: 'session', username, password, source: '$FILES_USERNAME/$FILES_PASSWORD' };
  }

  const netrcFile = sources.netrcFile ?? env.NETRC ?? join(homedir(), '.netrc');
  const host = new URL(sources.baseUrl).hostname;
  let netrc: string | undefined;
  try {
    netrc = readFileSync(netrcFile, 'utf8');
  } catch {
    netrc = undefined;
  }
  const entry = netrc === undefined ? undefined : findNetrcEntry(netrc, host);
  if (entry?.login && entry.password) {
    registerSecret(entry.password);
    return { kind: 'session', username: entry.login, password: entry.password, source: `${netrcFile} (machine ${host})` };
  }

  throw new ConfigError(
    `no credentials for ${host}: set FILES_API_KEY, or pass --api-key-file PATH, or set FILES_USERNAME and FILES_PASSWORD, or add "machine ${host} login USER password PASS" to ${netrcFile}`,
  );
}
