// What one `filesfs doctor` check found, and how results are shown: one line
// each, a status word, what was checked and found, and for a failure or a
// warning what to do (" → ..."). Only a failure fails the doctor: a warning
// is something that works now but will bite (a key file others can read, a
// clock drifting, a certificate about to expire).
export type CheckStatus = 'ok' | 'warn' | 'fail' | 'skip';

export interface CheckResult {
  status: CheckStatus;
  /** What was checked, e.g. "FUSE device". */
  name: string;
  /** What was found. */
  detail: string;
  /** What to do, for warn and fail. */
  fix?: string;
}

const LABEL: Record<CheckStatus, string> = { ok: 'ok  ', warn: 'WARN', fail: 'FAIL', skip: 'skip' };

export function formatResult(result: CheckResult): string {
  const fix = result.fix && (result.status === 'fail' || result.status === 'warn') ? ` → ${result.fix}` : '';
  return `${LABEL[result.status]}  ${result.name}: ${result.detail}${fix}`.replace(/\s*\n\s*/g, ' ');
}

/** The last line: what passed, what did not. */
export function summarize(results: readonly CheckResult[]): string {
  const failed = results.filter((r) => r.status === 'fail').length;
  const skipped = results.filter((r) => r.status === 'skip').length;
  const warned = results.filter((r) => r.status === 'warn').length;
  const extras = [warned ? `${warned} warning${warned === 1 ? '' : 's'}` : '', skipped ? `${skipped} skipped` : ''].filter(Boolean).join(', ');
  if (failed === 0) return `all ${results.length - skipped} checks passed${extras ? ` (${extras})` : ''}`;
  return `${failed} of ${results.length} checks failed${extras ? ` (${extras})` : ''}`;
}

export const ok = (name: string, detail: string): CheckResult => ({ status: 'ok', name, detail });
export const warn = (name: string, detail: string, fix: string): CheckResult => ({ status: 'warn', name, detail, fix });
export const fail = (name: string, detail: string, fix?: string): CheckResult => ({ status: 'fail', name, detail, ...(fix ? { fix } : {}) });
export const skip = (name: string, detail: string): CheckResult => ({ status: 'skip', name, detail });
