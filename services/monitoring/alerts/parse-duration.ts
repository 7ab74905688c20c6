/** "30s", "5m", "1h30m", "2d" → milliseconds; Prometheus's duration units (ms, s, m, h, d, w). */
export function parseDuration(text: string): number | undefined {
  if (!/^(\d+(ms|s|m|h|d|w))+$/.test(text)) return undefined;
  const unit: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000, w: 604_800_000 };
  let total = 0;
  for (const [, n, u] of text.matchAll(/(\d+)(ms|s|m|h|d|w)/g)) total += Number(n) * unit[u!]!;
  return total;
}
