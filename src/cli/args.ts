// Command-line parsing on Node's util.parseArgs, with our error type: an
// unknown flag or a missing value becomes one ConfigError line that names it.
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { ConfigError } from '../options/config-error.js';

export type OptionSpec = NonNullable<ParseArgsConfig['options']>;

export function parseCommandLine<O extends OptionSpec>(args: string[], options: O, allowPositionals = true) {
  try {
    return parseArgs({ args, options, allowPositionals, strict: true });
  } catch (err) {
    const raw = err instanceof Error ? err.message.replace(/\. To specify a positional argument.*$/s, '') : String(err);
    // One line, as every ConfigError (parseArgs explains some cases on three).
    const message = raw.split('\n').map((l) => l.trim()).filter(Boolean).join(' ');
    throw new ConfigError(message);
  }
}
