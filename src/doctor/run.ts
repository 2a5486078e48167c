// `filesfs doctor`'s checks, in the order a mount needs them: FUSE, the
// native binding, (for an /etc/fstab mount: what mount(8) must find), the
// credentials, the site (reachable, TLS, clock), the credentials' permission
// on the folder to mount, the cache dir. A check whose input failed earlier
// is skipped, saying why. Each result is printed as soon as it is known.
import { readFileSync } from 'node:fs';
import type { MountConfig } from '../mount/mount-config.js';
import { checkCacheDir } from './cache-check.js';
import { skip, type CheckResult } from './check.js';
import { checkCredentials } from './credential-check.js';
import { checkFuse } from './fuse-checks.js';
import { checkMountHelpers } from './helper-check.js';
import { checkPermission } from './permission-check.js';
import { checkSite } from './site-check.js';

export interface DoctorOptions {
  config: MountConfig;
  /** The mount is an /etc/fstab line: check what mount(8) needs, and the key file as mount(8) would. */
  fstab: boolean;
  /** Called with each result as it comes. */
  onResult: (result: CheckResult) => void;
}

export async function runDoctor({ config, fstab, onResult }: DoctorOptions): Promise<CheckResult[]> {
  const results: CheckResult[] = [];
  const report = (r: CheckResult | CheckResult[]): void => {
    for (const one of Array.isArray(r) ? r : [r]) {
      results.push(one);
      onResult(one);
    }
  };

  report(await checkFuse({ allowOther: config.mount.allowOther || (config.mount.extraOptions ?? []).includes('allow_other') }));
  if (fstab) report(checkMountHelpers());

  const credentials = checkCredentials({ ...config.credentials, baseUrl: config.baseUrl, privateKeyFile: fstab });
  report(credentials.result);

  let caPem: string | undefined;
  if (config.client.caFile) {
    try {
      caPem = readFileSync(config.client.caFile, 'utf8');
    } catch {
      // The permission check's client reports an unreadable --ca-file.
    }
  }
  const site = await checkSite({
    baseUrl: config.baseUrl,
    ...(caPem !== undefined ? { caPem } : {}),
    ...(config.client.sourceIp ? { sourceIp: config.client.sourceIp } : {}),
    connectTimeoutMs: config.client.connectTimeoutMs ?? 10_000,
    requestTimeoutMs: config.client.requestTimeoutMs ?? 60_000,
  });
  report(site.results);

  if (!credentials.credentials) report(skip('permission', 'not checked (no credentials)'));
  else if (!site.reachable) report(skip('permission', 'not checked (the site cannot be reached)'));
  else report(await checkPermission({ client: { ...config.client, retries: Math.min(config.client.retries ?? 1, 1) }, credentials: credentials.credentials, baseUrl: config.baseUrl, remoteRoot: config.remoteRoot }));

  report(await checkCacheDir(config.cacheDir));
  return results;
}
