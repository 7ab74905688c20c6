import type { BatchingOverrides } from "./batching-options.js";

type Kind = "boolean" | "number" | "numbers" | "policy" | "policies";

const FIELDS: Record<keyof BatchingOverrides, Kind> = {
  enabled: "boolean",
  maxBatchSize: "number",
  maxQueueDelayUs: "number",
  preferredBatchSizes: "numbers",
  maxQueueSize: "number",
  priorityLevels: "number",
  defaultPriority: "number",
  defaultQueuePolicy: "policy",
  queuePolicies: "policies",
  padToPreferred: "boolean",
  splitOversized: "boolean",
  isolateFailures: "boolean",
};

const POLICY_FIELDS: Record<string, "boolean" | "number" | "action"> = {
  timeoutAction: "action",
  defaultTimeoutUs: "number",
  allowTimeoutOverride: "boolean",
  maxQueueSize: "number",
};

/**
 * A replica's batching overrides, from JSON such as
 * `{"maxBatchSize": 32, "maxQueueDelayUs": 1000}`: they replace those fields
 * of every served version's registry config. Only the shape is checked
 * here; the values are checked with the version's config when it loads.
 * Throws an Error naming the bad field.
 */
export function parseBatchingOverrides(text: string): BatchingOverrides | undefined {
  if (text.trim() === "") return undefined;
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw new Error(`not JSON: expected an object such as {"maxBatchSize": 32, "maxQueueDelayUs": 1000}`);
  }
  if (!isObject(value)) throw new Error("expected a JSON object of batching fields");
  for (const [key, field] of Object.entries(value)) {
    const kind = FIELDS[key as keyof BatchingOverrides];
    if (!kind) throw new Error(`unknown field "${key}"; known: ${Object.keys(FIELDS).join(", ")}`);
    checkKind(key, kind, field);
  }
  return value as BatchingOverrides;
}

function checkKind(path: string, kind: Kind, value: unknown): void {
  switch (kind) {
    case "boolean":
      if (typeof value !== "boolean") throw new Error(`${path} must be true or false`);
      return;
    case "number":
      if (typeof value !== "number" || !Number.isInteger(value) || value < 0) throw new Error(`${path} must be a whole number, 0 or more`);
      return;
    case "numbers":
      if (!Array.isArray(value)) throw new Error(`${path} must be an array of whole numbers`);
      value.forEach((item, i) => checkKind(`${path}[${i}]`, "number", item));
      return;
    case "policy":
      checkPolicy(path, value);
      return;
    case "policies":
      if (!isObject(value)) throw new Error(`${path} must be an object keyed by priority level`);
      for (const [level, policy] of Object.entries(value)) {
        if (!/^[1-9]\d*$/.test(level)) throw new Error(`${path}: "${level}" is not a priority level (1, 2, ...)`);
        checkPolicy(`${path}.${level}`, policy);
      }
      return;
  }
}

function checkPolicy(path: string, value: unknown): void {
  if (!isObject(value)) throw new Error(`${path} must be an object`);
  for (const [key, field] of Object.entries(value)) {
    const kind = POLICY_FIELDS[key];
    if (!kind) throw new Error(`${path}: unknown field "${key}"; known: ${Object.keys(POLICY_FIELDS).join(", ")}`);
    if (kind === "action") {
      if (field !== "reject" && field !== "delay") throw new Error(`${path}.${key} must be "reject" or "delay"`);
    } else checkKind(`${path}.${key}`, kind, field);
  }
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}
