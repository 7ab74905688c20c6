import { UsageError } from "./usage-error.js";

const UNITS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };

/** "90s", "15m", "1h", "7d", "250ms", or a plain number of seconds, in milliseconds. */
export function parseDuration(text: string | number, key: string): number {
  if (typeof text === "number" && Number.isFinite(text) && text >= 0) return text * 1000;
  const match = /^(\d+(?:\.\d+)?)\s*(ms|s|m|h|d)?$/.exec(String(text).trim());
  if (!match) throw new UsageError(`${key}: "${text}" is not a duration; write it like 90s, 15m, 1h or 7d`);
  return Math.round(Number(match[1]) * UNITS[match[2] ?? "s"]!);
}
