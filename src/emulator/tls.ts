// HTTPS for the emulator. The real service is HTTPS only, and the official JS
// SDK downloads with `https.get`, so `--tls` serves HTTPS with a self-signed
// certificate for 127.0.0.1, ::1 and localhost (plus the --host name), kept
// at <data>/tls/cert.pem (+ key.pem, mode 0600) and reused while valid, so a
// client that trusts it (NODE_EXTRA_CA_CERTS, curl --cacert) keeps working
// across restarts. Built with node:crypto and der.ts: an ECDSA P-256 key, the
// certificate marked as its own CA so that it can be the trust anchor.
import { X509Certificate, createPrivateKey, generateKeyPairSync, randomBytes, sign } from 'node:crypto';
import { isIP } from 'node:net';
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { bits, bool, explicit, implicit, octets, oid, seq, set, time, uint, utf8 } from './der.js';

export interface TlsFiles {
  certFile: string;
  keyFile: string;
  cert: string;
  key: string;
}

/** Certificates are made valid for this long (and renewed a month before the end). */
const VALIDITY_DAYS = 397;
const RENEW_BEFORE_MS = 30 * 24 * 3600 * 1000;

function ipBytes(ip: string): Buffer {
  if (isIP(ip) === 4) return Buffer.from(ip.split('.').map(Number));
  const [head = '', tail = ''] = ip.split('::');
  const h = head ? head.split(':') : [];
  const t = tail ? tail.split(':') : [];
  const groups = ip.includes('::') ? [...h, ...Array(8 - h.length - t.length).fill('0'), ...t] : h;
  return Buffer.concat(groups.map((g) => Buffer.from([parseInt(g, 16) >> 8, parseInt(g, 16) & 0xff])));
}

/** A self-signed certificate (PEM) and its key (PEM) for `names` (DNS names and IP addresses). */
export function makeSelfSigned(names: string[], now = new Date()): { cert: string; key: string } {
  const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const spki = publicKey.export({ type: 'spki', format: 'der' });
  const ecdsaWithSha256 = seq(oid('1.2.840.10045.4.3.2'));
  const name = seq(set(seq(oid('2.5.4.3'), utf8('filesfs emulator'))), set(seq(oid('2.5.4.10'), utf8('filesfs'))));
  const notBefore = new Date(now.getTime() - 24 * 3600 * 1000);
  const notAfter = new Date(now.getTime() + VALIDITY_DAYS * 24 * 3600 * 1000);
  const altNames = seq(...names.map((n) => (isIP(n) ? implicit(7, ipBytes(n)) : implicit(2, Buffer.from(n, 'ascii')))));
  const extensions = explicit(3, seq(
    seq(oid('2.5.29.19'), bool(true), octets(seq(bool(true)))), // basicConstraints: CA (its own trust anchor)
    seq(oid('2.5.29.15'), bool(true), octets(bits(Buffer.from([0x84])))), // keyUsage: digitalSignature, keyCertSign
    seq(oid('2.5.29.37'), octets(seq(oid('1.3.6.1.5.5.7.3.1')))), // extKeyUsage: serverAuth
    seq(oid('2.5.29.17'), octets(altNames)), // subjectAltName
  ));
  const serial = randomBytes(16);
  serial[0]! &= 0x7f;
  const tbs = seq(explicit(0, uint(Buffer.from([2]))), uint(serial), ecdsaWithSha256, name, seq(time(notBefore), time(notAfter)), name, spki, extensions);
  const signature = sign('sha256', tbs, privateKey);
  const der = seq(tbs, ecdsaWithSha256, bits(signature));
  const pem = `-----BEGIN CERTIFICATE-----\n${der.toString('base64').replace(/.{1,64}/g, '$&\n')}-----END CERTIFICATE-----\n`;
  return { cert: pem, key: privateKey.export({ type: 'pkcs8', format: 'pem' }).toString() };
}

function usable(cert: string, key: string, names: string[]): boolean {
  try {
    const x = new X509Certificate(cert);
    if (new Date(x.validTo).getTime() - Date.now() < RENEW_BEFORE_MS) return false;
    if (!x.checkPrivateKey(createPrivateKey(key))) return false;
    return names.every((n) => (isIP(n) ? x.checkIP(n) !== undefined : x.checkHost(n) !== undefined));
  } catch {
    return false;
  }
}

/** The emulator's certificate under <data>/tls, made (or renewed) when needed. */
export async function ensureSelfSigned(dataDir: string, host: string): Promise<TlsFiles> {
  const dir = join(dataDir, 'tls');
  const certFile = join(dir, 'cert.pem');
  const keyFile = join(dir, 'key.pem');
  const names = [...new Set(['localhost', '127.0.0.1', '::1', ...(host && host !== '0.0.0.0' && host !== '::' ? [host] : [])])];
  try {
    const [cert, key] = await Promise.all([readFile(certFile, 'utf8'), readFile(keyFile, 'utf8')]);
    if (usable(cert, key, names)) return { certFile, keyFile, cert, key };
  } catch {
    // none yet
  }
  await mkdir(dir, { recursive: true, mode: 0o700 });
  const { cert, key } = makeSelfSigned(names);
  await writeFile(`${keyFile}.tmp`, key, { mode: 0o600 });
  await rename(`${keyFile}.tmp`, keyFile);
  await writeFile(`${certFile}.tmp`, cert);
  await rename(`${certFile}.tmp`, certFile);
  return { certFile, keyFile, cert, key };
}
