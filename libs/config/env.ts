/**
 * Typed readers for environment variables. Each throws a ConfigError naming
 * the key and what was expected, so start-up stops with one clear line.
 */
export class ConfigError extends Error {
  override name = "ConfigError";
  constructor(
    readonly key: string,
    problem: string,
  ) {
    super(`${key}: ${problem}`);
  }
}

export type Env = Record<string, string | undefined>;

export function readString(env: Env, key: string, fallback: string): string {
  const raw = env[key];
  return raw === undefined || raw === "" ? fallback : raw;
}

export function readOptionalString(env: Env, key: string): string | undefined {
  const raw = env[key];
  return raw === undefined || raw === "" ? undefined : raw;
}

export function readInt(env: Env, key: string, fallback: number, range: { min?: number; max?: number } = {}): number {
  const raw = env[key];
  if (raw === undefined || raw === "") return fallback;
  if (!/^-?\d+$/.test(raw.trim())) throw new ConfigError(key, `expected a whole number, got "${raw}"`);
  const value = Number(raw);
  if (range.min !== undefined && value < range.min) throw new ConfigError(key, `must be at least ${range.min}, got ${value}`);
  if (range.max !== undefined && value > range.max) throw new ConfigError(key, `must be at most ${range.max}, got ${value}`);
  return value;
}

export function readBool(env: Env, key: string, fallback: boolean): boolean {
  const raw = env[key];
  if (raw === undefined || raw === "") return fallback;
  const normalized = raw.trim().toLowerCase();
  if (["1", "true", "yes", "on"].includes(normalized)) return true;
  if (["0", "false", "no", "off"].includes(normalized)) return false;
  throw new ConfigError(key, `expected true or false, got "${raw}"`);
}

export function readEnum<T extends string>(env: Env, key: string, allowed: readonly T[], fallback: T): T {
  const raw = env[key];
  if (raw === undefined || raw === "") return fallback;
  if ((allowed as readonly string[]).includes(raw)) return raw as T;
  throw new ConfigError(key, `expected one of ${allowed.join(", ")}, got "${raw}"`);
}

/** A TCP port; 0 asks the OS for a free one. */
export function readPort(env: Env, key: string, fallback: number): number {
  return readInt(env, key, fallback, { min: 0, max: 65535 });
}
