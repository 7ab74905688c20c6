/**
 * The NATS every test uses: NATS_URL, which test/support/global-setup.ts
 * sets (to a server it started, or to the one you gave it) before any test
 * file runs. Tests read it here rather than from process.env themselves.
 */
export function testNatsUrl(): string {
  const url = process.env.NATS_URL;
  if (!url) {
    throw new Error("NATS_URL is not set: run tests through vitest (its global setup starts NATS), or set NATS_URL=nats://127.0.0.1:4222");
  }
  return url;
}

/** The Redis every test uses: REDIS_URL, set like NATS_URL (see testNatsUrl). */
export function testRedisUrl(): string {
  const url = process.env.REDIS_URL;
  if (!url) {
    throw new Error("REDIS_URL is not set: run tests through vitest (its global setup starts Redis), or set REDIS_URL=redis://127.0.0.1:6379");
  }
  return url;
}
