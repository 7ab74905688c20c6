import { checkNats, checkRedis, startNatsServer, startRedisServer } from "../../libs/testing/index.js";

/**
 * Vitest global setup: one NATS (with JetStream) and one Redis for the
 * whole run. Given NATS_URL / REDIS_URL (CI starts the machine's servers),
 * it checks they answer and fails at once with how to start them if not;
 * otherwise it starts private servers on free ports and stops them at the
 * end. The URLs reach test files through process.env, which vitest copies
 * into every fork it starts after this runs; tests read them with
 * testNatsUrl() / testRedisUrl() from libs/testing.
 */
export default async function setup(): Promise<() => Promise<void>> {
  const stops: (() => Promise<void>)[] = [];
  try {
    const natsUrl = process.env.NATS_URL;
    if (natsUrl) {
      await checkNats(natsUrl);
    } else {
      const nats = await startNatsServer({ jetstream: true });
      stops.push(() => nats.stop());
      process.env.NATS_URL = nats.url;
    }
    const redisUrl = process.env.REDIS_URL;
    if (redisUrl) {
      await checkRedis(redisUrl);
    } else {
      const redis = await startRedisServer();
      stops.push(() => redis.stop());
      process.env.REDIS_URL = redis.url;
    }
  } catch (err) {
    await Promise.all(stops.map((stop) => stop()));
    throw err;
  }
  return async () => {
    await Promise.all(stops.map((stop) => stop()));
  };
}
