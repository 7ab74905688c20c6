/** Fixed-width table rows for bench output: numbers right-aligned, text left. */
export function formatRow(cells: readonly (string | number | null | undefined)[], widths: readonly number[]): string {
  return cells
    // A load with no answered call reports NaN latencies, which arrive as null through JSON.
    .map((value, i) => {
      const cell = value ?? Number.NaN;
      const text = typeof cell === "number" ? formatNumber(cell) : cell;
      const width = widths[i] ?? 10;
      return typeof cell === "number" ? text.padStart(width) : text.padEnd(width);
    })
    .join(" ");
}

export function formatNumber(value: number): string {
  if (!Number.isFinite(value)) return "-";
  if (Math.abs(value) >= 100) return Math.round(value).toLocaleString("en-US");
  if (Math.abs(value) >= 10) return value.toFixed(1);
  return value.toFixed(2);
}
