/** What a command may touch of the outside world; main.ts fills it from the process. */
export interface CliIo {
  /** Standard output: results. */
  out(text: string): void;
  /** Standard error: errors and progress. */
  err(text: string): void;
  /** The environment, read here and nowhere else in the CLI. */
  readonly env: Readonly<Record<string, string | undefined>>;
  /** Working directory, for relative paths (topology, logs). */
  readonly cwd: string;
  /** Whether stderr is a terminal (progress bars) rather than a file or pipe (plain lines). Default false. */
  readonly isTTY?: boolean;
}
