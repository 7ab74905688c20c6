import { ConfigError, readString, type Env } from "../../../libs/config/index.js";
import { parseInputRows, parseSampleRate, type LoggingPolicy } from "../../../libs/prediction-log/index.js";

/**
 * The replica's default prediction-logging policy, which version tags
 * override: TESSERA_PREDICTION_LOG_SAMPLE_RATE (share of requests, default
 * 1: every request while traffic is a laptop's) and
 * TESSERA_PREDICTION_LOG_INPUTS ("all", "none" or "rows:N"; default "all").
 */
export function readLoggingPolicy(env: Env = process.env): LoggingPolicy {
  return {
    sampleRate: parse(env, "TESSERA_PREDICTION_LOG_SAMPLE_RATE", "1", (t) => parseSampleRate(t, "the sample rate")),
    inputRows: parse(env, "TESSERA_PREDICTION_LOG_INPUTS", "all", (t) => parseInputRows(t, "the input policy")),
  };
}

function parse<T>(env: Env, key: string, fallback: string, read: (text: string) => T): T {
  const text = readString(env, key, fallback);
  try {
    return read(text);
  } catch (error) {
    throw new ConfigError(key, error instanceof Error ? error.message.replace(/^\[\w+\] /, "") : String(error));
  }
}
