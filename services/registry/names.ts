import { invalidArgument } from "../../libs/errors/index.js";

// Names become NATS KV key tokens and URL path segments, so they stay in a
// small alphabet: lower-case letters, digits, '-' and '_'.
const MODEL_NAME = /^[a-z0-9][a-z0-9_-]{0,62}$/;
const ALIAS_NAME = /^[a-z][a-z0-9_-]{0,62}$/;
const TAG_KEY = /^[A-Za-z0-9][A-Za-z0-9_.\-/]{0,127}$/;

export function checkModelName(name: string, field = "name"): string {
  if (!MODEL_NAME.test(name)) {
    throw invalidArgument(
      `${field} "${name}" is not a valid model name: use 1-63 lower-case letters, digits, '-' or '_', starting with a letter or digit`,
    );
  }
  return name;
}

export function checkAliasName(alias: string): string {
  if (!ALIAS_NAME.test(alias)) {
    throw invalidArgument(`alias "${alias}" is not valid: use 1-63 lower-case letters, digits, '-' or '_', starting with a letter`);
  }
  if (alias === "latest") throw invalidArgument(`alias "latest" is reserved: it always means the newest version`);
  return alias;
}

export function checkTags(tags: Record<string, string>, field = "tags", maxTags = Number.POSITIVE_INFINITY): void {
  const count = Object.keys(tags).length;
  if (count > maxTags) throw invalidArgument(`${field}: ${count} tags; at most ${maxTags} (TESSERA_MAX_TAGS): remove some`);
  for (const [key, value] of Object.entries(tags)) {
    if (!TAG_KEY.test(key)) throw invalidArgument(`${field}: key "${key}" is not valid: use 1-128 letters, digits, '_', '.', '-' or '/'`);
    if (value.length > 1024) throw invalidArgument(`${field}: value of "${key}" is ${value.length} characters; at most 1024`);
  }
}

export function checkDescription(description: string): void {
  if (description.length > 4096) throw invalidArgument(`description is ${description.length} characters; at most 4096`);
}

export function checkMetrics(metrics: Record<string, number>, field = "metrics"): void {
  for (const [key, value] of Object.entries(metrics)) {
    if (!TAG_KEY.test(key)) throw invalidArgument(`${field}: key "${key}" is not valid: use 1-128 letters, digits, '_', '.', '-' or '/'`);
    if (!Number.isFinite(value)) throw invalidArgument(`${field}: "${key}" is ${value}; metrics must be finite numbers`);
  }
}

export function checkVersionNumber(version: number, field = "version"): number {
  if (!Number.isInteger(version) || version < 1) throw invalidArgument(`${field} must be 1 or more, got ${version}`);
  return version;
}

/** An alias in a selector: the alias-name rule, or "latest". */
export function checkAliasSelector(alias: string, field = "version.alias"): string {
  if (alias === "latest") return alias;
  if (!ALIAS_NAME.test(alias)) throw invalidArgument(`${field} "${alias}" is not a valid alias: use 1-63 lower-case letters, digits, '-' or '_', starting with a letter, or "latest"`);
  return alias;
}

export function checkIdempotencyKey(key: string): string {
  if (key.length > 128 || [...key].some((c) => c.charCodeAt(0) < 0x20)) throw invalidArgument("header.idempotency_key must be at most 128 printable characters");
  return key;
}
