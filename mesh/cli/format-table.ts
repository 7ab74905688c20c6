/**
 * Left-aligned columns two spaces apart, a header row first; trailing
 * spaces trimmed. For tables a person reads, not for scripts (those use
 * --json or the API).
 */
export function formatTable(header: readonly string[], rows: readonly (readonly string[])[]): string {
  const all = [header, ...rows];
  const columns = Math.max(...all.map((row) => row.length));
  const widths = Array.from({ length: columns }, (_, c) => Math.max(...all.map((row) => (row[c] ?? "").length)));
  return all
    .map((row) =>
      widths
        .map((width, c) => (c === columns - 1 ? (row[c] ?? "") : (row[c] ?? "").padEnd(width)))
        .join("  ")
        .trimEnd(),
    )
    .join("\n");
}
