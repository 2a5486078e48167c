// The one error type for bad configuration: a flag, an environment variable
// or a file that cannot be used. Its message is meant to be shown as is, on
// one line, and says what was wrong and what is accepted.
export class ConfigError extends Error {
  override get name(): string {
    return 'ConfigError';
  }
}
