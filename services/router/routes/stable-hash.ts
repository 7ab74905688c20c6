import { createHash } from "node:crypto";

/**
 * A bucket in [0, buckets) for a key, the same on every router instance
 * and every Node version: the first 32 bits of SHA-256. Not Math.random,
 * not a per-process seeded hash — stickiness must survive restarts.
 */
export function stableBucket(key: string, buckets: number): number {
  const digest = createHash("sha256").update(key).digest();
  return digest.readUInt32BE(0) % buckets;
}
