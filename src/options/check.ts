// Checks of option values given in code (typed objects such as
// FilesystemOptions, WriteBackOptions and ClientOptions, as opposed to flags
// parsed from strings by parse.ts): one check and one wording for every
// layer, each failure a ConfigError naming the option.
import { ConfigError } from './config-error.js';

const shown = (value: unknown): string => (typeof value === 'number' ? String(value) : JSON.stringify(value));

/** `value` when it is an integer within [min, max]; else a ConfigError for option `name`. */
export function checkInteger(name: string, value: unknown, min: number, max = Number.MAX_SAFE_INTEGER): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
    const range = max === Number.MAX_SAFE_INTEGER ? `≥ ${min}` : `≥ ${min} and ≤ ${max}`;
    throw new ConfigError(`${name}: expected an integer ${range}, got ${shown(value)}`);
  }
  return value;
}
