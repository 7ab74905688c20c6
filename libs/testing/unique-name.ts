import { randomBytes } from "node:crypto";

/**
 * A name no other test uses, valid as a NATS bucket, stream, subject token
 * or KV key token: `<prefix>_<12 hex>`. Tests share one NATS and one Redis,
 * so every bucket, stream and subject a test makes needs one.
 */
export function uniqueName(prefix = "t"): string {
  return `${prefix}_${randomBytes(6).toString("hex")}`;
}
