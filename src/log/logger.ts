// One logger for every layer: leveled lines on stderr (stdout belongs to
// commands' own output, e.g. the emulator's base URL), and one place where
// secrets are scrubbed. Every API key, password and session id that enters the
// process is registered with `registerSecret` before first use, and no line
// leaves this module with one of them in it, whatever the caller formatted.
import { format } from 'node:util';

export const LOG_LEVELS = ['silent', 'error', 'warn', 'info', 'debug', 'trace'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];
const RANK: Record<LogLevel, number> = { silent: 0, error: 1, warn: 2, info: 3, debug: 4, trace: 5 };

const secrets = new Set<string>();
const REDACTED = '[redacted]';
/** Secrets shorter than this are not scrubbed (they would mangle ordinary text). */
const MIN_SECRET_LENGTH = 4;

/** Registers a value that must never be written to a log or an error message. */
export function registerSecret(value: string | undefined | null): void {
  if (value && value.length >= MIN_SECRET_LENGTH) secrets.add(value);
}

/** Replaces every registered secret in `text`. */
export function redact(text: string): string {
  let out = text;
  for (const s of secrets) if (out.includes(s)) out = out.split(s).join(REDACTED);
  return out;
}

export type LogSink = (line: string) => void;

export interface Logger {
  readonly level: LogLevel;
  error(message: string, ...args: unknown[]): void;
  warn(message: string, ...args: unknown[]): void;
  info(message: string, ...args: unknown[]): void;
  debug(message: string, ...args: unknown[]): void;
  trace(message: string, ...args: unknown[]): void;
  enabled(level: LogLevel): boolean;
  child(component: string): Logger;
}

export interface LoggerOptions {
  level?: LogLevel;
  component?: string;
  /** Where lines go; stderr by default. Tests capture lines here. */
  sink?: LogSink;
}

const stderrSink: LogSink = (line) => process.stderr.write(line + '\n');

export function createLogger(options: LoggerOptions = {}): Logger {
  const level = options.level ?? 'info';
  const sink = options.sink ?? stderrSink;
  const component = options.component;
  const write = (at: Exclude<LogLevel, 'silent'>, message: string, args: unknown[]): void => {
    if (RANK[at] > RANK[level]) return;
    const text = format(message, ...args);
    const prefix = `${new Date().toISOString()} ${at.toUpperCase().padEnd(5)}${component ? ` [${component}]` : ''}`;
    sink(redact(`${prefix} ${text}`));
  };
  return {
    level,
    error: (m, ...a) => write('error', m, a),
    warn: (m, ...a) => write('warn', m, a),
    info: (m, ...a) => write('info', m, a),
    debug: (m, ...a) => write('debug', m, a),
    trace: (m, ...a) => write('trace', m, a),
    enabled: (at) => RANK[at] <= RANK[level],
    child: (name) => createLogger({ level, sink, component: component ? `${component}:${name}` : name }),
  };
}

/** A logger that writes nothing: the default for library use and unit tests. */
export const silentLogger: Logger = createLogger({ level: 'silent' });

export function isLogLevel(value: string): value is LogLevel {
  return (LOG_LEVELS as readonly string[]).includes(value);
}
