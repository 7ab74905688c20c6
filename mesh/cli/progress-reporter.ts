import type { CliIo } from "./cli-io.js";

/**
 * Progress on stderr: a bar redrawn in place on a terminal, and on a file
 * or pipe one plain line per tenth done (a log should not fill with bars).
 */
export class ProgressReporter {
  private lastTenth = -1;
  private drawn = false;

  constructor(private readonly io: Pick<CliIo, "err" | "isTTY">) {}

  update(phase: string, done: number, total: number, unit: string): void {
    const fraction = total > 0 ? Math.min(1, done / total) : 1;
    if (this.io.isTTY) {
      const width = 30;
      const filled = Math.round(fraction * width);
      this.io.err(`\r${phase} [${"#".repeat(filled)}${" ".repeat(width - filled)}] ${String(Math.round(fraction * 100)).padStart(3)}% ${done}/${total} ${unit}\u001b[K`);
      this.drawn = true;
      return;
    }
    const tenth = Math.floor(fraction * 10);
    if (tenth !== this.lastTenth) {
      this.lastTenth = tenth;
      this.io.err(`${phase}: ${Math.round(fraction * 100)}% (${done}/${total} ${unit})\n`);
    }
  }

  /** Ends the current phase (a newline after a bar). */
  done(): void {
    if (this.drawn) this.io.err("\n");
    this.drawn = false;
    this.lastTenth = -1;
  }
}
