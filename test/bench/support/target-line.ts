/**
 * The one line per target every benchmark ends with (DESIGN.md, Conventions):
 * `target <name>: <measured> (goal >= <value>) met` — or `missed`.
 */
export function targetLine(name: string, measured: number, goal: number, options: { digits?: number; unit?: string } = {}): string {
  const digits = options.digits ?? 2;
  const unit = options.unit ?? "";
  const verdict = measured >= goal ? "met" : "missed";
  return `target ${name}: ${measured.toFixed(digits)}${unit} (goal >= ${goal}${unit}) ${verdict}`;
}

/** For targets where lower is better (latency). */
export function targetLineAtMost(name: string, measured: number, goal: number, options: { digits?: number; unit?: string } = {}): string {
  const digits = options.digits ?? 2;
  const unit = options.unit ?? "";
  const verdict = measured <= goal ? "met" : "missed";
  return `target ${name}: ${measured.toFixed(digits)}${unit} (goal <= ${goal.toFixed(digits)}${unit}) ${verdict}`;
}
