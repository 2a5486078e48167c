// Which certificate authorities outgoing HTTPS trusts. Without a caFile we
// pass nothing and Node's default store applies (its bundled Mozilla roots,
// NODE_EXTRA_CA_CERTS, and the OpenSSL system store when Node runs with
// --use-openssl-ca). With a caFile, TLS's `ca` option would *replace* that
// store, so we build one secure context from the default roots plus
// NODE_EXTRA_CA_CERTS (Node only reads it at startup into its own store, not
// into tls.rootCertificates) plus the file: the extra CA adds trust, it never
// removes any. One context is built once and shared by every connection.
import { readFileSync } from 'node:fs';
import { createSecureContext, rootCertificates, type SecureContext } from 'node:tls';
import type { Logger } from '../log/logger.js';

/** A secure context trusting the defaults plus `caPem`; undefined when there is no extra CA. */
export function secureContextWithExtraCa(caPem: string | undefined, logger?: Logger, env: NodeJS.ProcessEnv = process.env): SecureContext | undefined {
  if (caPem === undefined) return undefined;
  const ca: string[] = [...rootCertificates];
  const extraFile = env.NODE_EXTRA_CA_CERTS;
  if (extraFile) {
    try {
      ca.push(readFileSync(extraFile, 'utf8'));
    } catch (err) {
      // Node itself only warns about an unreadable NODE_EXTRA_CA_CERTS.
      logger?.warn(`NODE_EXTRA_CA_CERTS ${extraFile}: ${(err as Error).message}; ignored`);
    }
  }
  ca.push(caPem);
  return createSecureContext({ ca });
}
