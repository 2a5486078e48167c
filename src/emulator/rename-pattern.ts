// The renaming of the `override_upload_filename` behavior (Files.com docs,
// "Renaming Uploaded Files"): up to three steps, always in this order —
//   1. `filename_override_pattern`: tokens `%Ff` (the uploaded name), `%Fb`
//      (its base name), `%Fe` (its extension with the dot: `%Fb_x%Fe` turns
//      `a.txt` into `a_x.txt`) and strftime codes for the time of upload
//      (`%Y-%m-%d-%Ff` → `2025-04-27-invoice.csv`), in `time_zone`;
//   2. `filename_replace_from` → `filename_replace_to`: every literal occurrence;
//   3. `filename_regex_replace_from` → `filename_regex_replace_to`: every
//      match, `\1` or `$1` for groups.
// Choices (README "Choices"): strftime codes supported are %Y %y %m %d %e %j
// %H %I %M %S %L %p %s %z %a %A %b %B %%; any other `%x` stays as it is. The
// extension is what follows the last dot, unless that dot starts the name
// (`.env` has none). `time_zone` is an IANA name or one of a few Rails names
// (the Files.com UI's); default UTC.
/** Rails time zone names (as the Files.com examples use them) → IANA. */
const RAILS_ZONES: Record<string, string> = {
  UTC: 'UTC',
  'Eastern Time (US & Canada)': 'America/New_York',
  'Central Time (US & Canada)': 'America/Chicago',
  'Mountain Time (US & Canada)': 'America/Denver',
  'Pacific Time (US & Canada)': 'America/Los_Angeles',
  London: 'Europe/London',
  Paris: 'Europe/Paris',
  Berlin: 'Europe/Berlin',
  Tokyo: 'Asia/Tokyo',
  Sydney: 'Australia/Sydney',
};

const MONTHS = ['January', 'February', 'March', 'April', 'May', 'June', 'July', 'August', 'September', 'October', 'November', 'December'];
const DAYS = ['Sunday', 'Monday', 'Tuesday', 'Wednesday', 'Thursday', 'Friday', 'Saturday'];

export interface OverrideUploadFilename {
  filename_override_pattern?: string | null;
  filename_replace_from?: string | null;
  filename_replace_to?: string | null;
  filename_regex_replace_from?: string | null;
  filename_regex_replace_to?: string | null;
  time_zone?: string | null;
}

function ianaZone(zone: string | null | undefined): string {
  if (!zone) return 'UTC';
  return RAILS_ZONES[zone] ?? zone;
}

export function isTimeZone(zone: string): boolean {
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: ianaZone(zone) });
    return true;
  } catch {
    return false;
  }
}

/** `report.final.pdf` → base `report.final`, extension `.pdf`; `.env` → `.env`, ``. */
export function splitName(name: string): { base: string; ext: string } {
  const dot = name.lastIndexOf('.');
  return dot > 0 ? { base: name.slice(0, dot), ext: name.slice(dot) } : { base: name, ext: '' };
}

/** The wall-clock fields of `at` in `zone`, and the zone's offset in minutes. */
function zoned(at: Date, zone: string): { d: Date; offsetMinutes: number } {
  const parts = new Intl.DateTimeFormat('en-US', {
    timeZone: zone, hourCycle: 'h23', year: 'numeric', month: 'numeric', day: 'numeric', hour: 'numeric', minute: 'numeric', second: 'numeric',
  }).formatToParts(at);
  const get = (t: string): number => Number(parts.find((p) => p.type === t)!.value);
  const wall = Date.UTC(get('year'), get('month') - 1, get('day'), get('hour'), get('minute'), get('second'), at.getUTCMilliseconds());
  return { d: new Date(wall), offsetMinutes: Math.round((wall - at.getTime()) / 60_000) };
}

const pad = (n: number, width = 2): string => String(n).padStart(width, '0');

/** Expands the pattern's tokens for an upload named `name` at `at`. */
export function renderPattern(pattern: string, name: string, at: Date, zone?: string | null): string {
  const { base, ext } = splitName(name);
  const { d, offsetMinutes } = zoned(at, ianaZone(zone));
  const dayOfYear = Math.floor((d.getTime() - Date.UTC(d.getUTCFullYear(), 0, 1)) / 86_400_000) + 1;
  const hour12 = d.getUTCHours() % 12 || 12;
  const sign = offsetMinutes < 0 ? '-' : '+';
  const codes: Record<string, string> = {
    Y: String(d.getUTCFullYear()), y: pad(d.getUTCFullYear() % 100), m: pad(d.getUTCMonth() + 1), d: pad(d.getUTCDate()),
    e: String(d.getUTCDate()).padStart(2, ' '), j: pad(dayOfYear, 3), H: pad(d.getUTCHours()), I: pad(hour12),
    M: pad(d.getUTCMinutes()), S: pad(d.getUTCSeconds()), L: pad(d.getUTCMilliseconds(), 3), p: d.getUTCHours() < 12 ? 'AM' : 'PM',
    s: String(Math.floor(at.getTime() / 1000)), z: `${sign}${pad(Math.floor(Math.abs(offsetMinutes) / 60))}${pad(Math.abs(offsetMinutes) % 60)}`,
    a: DAYS[d.getUTCDay()]!.slice(0, 3), A: DAYS[d.getUTCDay()]!, b: MONTHS[d.getUTCMonth()]!.slice(0, 3), B: MONTHS[d.getUTCMonth()]!, '%': '%',
  };
  return pattern.replace(/%(F[fbe]|[A-Za-z%])/g, (whole, code: string) => {
    if (code === 'Ff') return name;
    if (code === 'Fb') return base;
    if (code === 'Fe') return ext;
    return codes[code] ?? whole;
  });
}

/** The name an upload of `name` gets under the behavior's settings. */
export function renameUpload(settings: OverrideUploadFilename, name: string, at: Date, regex: (source: string) => RegExp): string {
  let out = name;
  if (settings.filename_override_pattern) out = renderPattern(settings.filename_override_pattern, out, at, settings.time_zone);
  if (settings.filename_replace_from) out = out.split(settings.filename_replace_from).join(settings.filename_replace_to ?? '');
  if (settings.filename_regex_replace_from) {
    const to = (settings.filename_regex_replace_to ?? '').replace(/\\(\d)/g, '$$$1');
    out = out.replace(regex(settings.filename_regex_replace_from), to);
  }
  return out;
}
