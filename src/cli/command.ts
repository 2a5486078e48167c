// The shape of one `filesfs <command>`: a one-line summary for `--help`, its
// own usage text, and `run`, which returns the process exit code. main.ts
// loads a command's module only when that command runs.
export interface Command {
  summary: string;
  usage: string;
  run(args: string[]): Promise<number>;
}
