// One cheap request before mounting, so that a wrong key, a missing --root or
// an unreachable server fails at once with one line saying what is wrong,
// instead of a mount whose every operation fails with EACCES or EIO. The site
// root is checked by listing one entry (`GET /folders/?per_page=1`: the root
// has no metadata call), a --root by its metadata, which also gives the
// folder's spelling on the server.
import { type FilesClient, isFilesError, TlsVerificationError, type FilesError } from '../client/index.js';
import { ConfigError } from '../options/config-error.js';

export interface PreflightTarget {
  baseUrl: string;
  /** normalized; '' = the site root. */
  remoteRoot: string;
  /** Where the credentials came from, e.g. "$FILES_API_KEY" (never the secret). */
  credentialSource: string;
  signal?: AbortSignal;
}

/** The server could not be asked (down, unreachable, failing): not the user's mistake. */
export class ServerUnavailableError extends Error {
  override get name(): string {
    return 'ServerUnavailableError';
  }
}

/** Checks credentials and root; resolves to the root as the server spells it. */
export async function verifyRemote(client: FilesClient, target: PreflightTarget): Promise<string> {
  try {
    if (target.remoteRoot === '') {
      // One page is enough; leaving the loop stops the listing.
      for await (const page of client.list('', { perPage: 1, signal: target.signal })) {
        void page;
        break;
      }
      return '';
    }
    const entry = await client.stat(target.remoteRoot, { signal: target.signal });
    if (entry.type !== 'directory') throw new ConfigError(`--root ${target.remoteRoot}: is a file on ${target.baseUrl}, not a folder`);
    return entry.path;
  } catch (err) {
    if (!isFilesError(err)) throw err;
    throw explain(err, target);
  }
}

function explain(err: FilesError, target: PreflightTarget): Error {
  const where = target.remoteRoot ? `folder "${target.remoteRoot}"` : 'the site root';
  switch (err.kind) {
    case 'not-authenticated':
      return new ConfigError(`${target.baseUrl} refused the credentials from ${target.credentialSource}: ${err.message}`);
    case 'not-authorized':
      return new ConfigError(`the credentials from ${target.credentialSource} may not list ${where} on ${target.baseUrl}: ${err.message}`);
    case 'not-found':
      return target.remoteRoot
        ? new ConfigError(`--root ${target.remoteRoot}: no such folder on ${target.baseUrl}`)
        : new ConfigError(`${target.baseUrl} has no Files.com API at /api/rest/v1 (is --base-url right?)`);
    case 'network':
      if (err instanceof TlsVerificationError) {
        return new ConfigError(`cannot trust the TLS certificate of ${target.baseUrl}: ${cause(err)}; if a proxy or a private CA signs it, pass --ca-file CA.pem (or set NODE_EXTRA_CA_CERTS)`);
      }
      return new ServerUnavailableError(`cannot reach ${target.baseUrl}: ${cause(err)} (is the server up, and is --base-url right?)`);
    case 'timeout':
      return new ServerUnavailableError(`cannot reach ${target.baseUrl}: no answer in time (${cause(err)}); check the network, or raise --connect-timeout / --timeout`);
    case 'rate-limited':
    case 'service-unavailable':
    case 'server-error':
      return new ServerUnavailableError(`${target.baseUrl} is failing (${err.status ?? err.kind}: ${err.message}); try again later`);
    default:
      return new ConfigError(`${target.baseUrl} refused to list ${where}: ${err.message}`);
  }
}

/** The low-level reason without our "GET /folders/: " prefix. */
function cause(err: FilesError): string {
  const inner = err.cause instanceof Error ? err.cause.message : undefined;
  return inner || err.message.replace(/^[A-Z]+ \S+: /, '');
}
