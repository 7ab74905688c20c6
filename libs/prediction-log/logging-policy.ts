import { invalidArgument } from "../errors/index.js";

/** How much of a version's traffic is logged. */
export interface LoggingPolicy {
  /** Share of requests logged, in [0, 1]. */
  sampleRate: number;
  /** Input rows kept per logged request: all, none, or at most this many (leading rows). */
  inputRows: "all" | number;
}

/** Version tags that set a version's policy (`tessera models update ... --tag`). */
export const SAMPLE_RATE_TAG = "tessera.log.sample_rate";
export const INPUTS_TAG = "tessera.log.inputs";

/**
 * A version's policy from its tags over the replica's default. Bad tag
 * values throw INVALID_ARGUMENT naming the tag; the replica logs them and
 * keeps its default (a typo in a tag must not stop serving).
 */
export function loggingPolicyFromTags(tags: Readonly<Record<string, string>>, fallback: LoggingPolicy): LoggingPolicy {
  const policy = { ...fallback };
  const rate = tags[SAMPLE_RATE_TAG];
  if (rate !== undefined) policy.sampleRate = parseSampleRate(rate, `tag ${SAMPLE_RATE_TAG}`);
  const inputs = tags[INPUTS_TAG];
  if (inputs !== undefined) policy.inputRows = parseInputRows(inputs, `tag ${INPUTS_TAG}`);
  return policy;
}

export function parseSampleRate(text: string, what: string): number {
  const value = Number(text.trim());
  if (text.trim() === "" || !Number.isFinite(value) || value < 0 || value > 1) {
    throw invalidArgument(`${what} must be a share of requests in [0, 1] (e.g. 0.1), got "${text}"`);
  }
  return value;
}

/** "all", "none" (0 rows) or "rows:N". */
export function parseInputRows(text: string, what: string): "all" | number {
  const t = text.trim();
  if (t === "all") return "all";
  if (t === "none") return 0;
  const match = /^rows:(\d{1,6})$/.exec(t);
  if (!match) throw invalidArgument(`${what} must be "all", "none" or "rows:N", got "${text}"`);
  return Number(match[1]);
}
