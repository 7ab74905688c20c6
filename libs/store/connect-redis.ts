import { Redis } from "ioredis";
import { unavailable } from "../errors/index.js";
import { silentLogger, type Logger } from "../log/index.js";

export interface ConnectRedisOptions {
  /** Milliseconds to wait for the first connection. Default 5000 (a loopback connect takes milliseconds). */
  connectTimeoutMs?: number;
  /** Where connection errors after the first connect are logged. Default: dropped. */
  logger?: Logger;
}

/**
 * Connects to Redis (e.g. "redis://127.0.0.1:6379/0"). The first connection
 * must succeed, else UNAVAILABLE with how to fix it; afterwards ioredis
 * reconnects on its own (backoff capped at 5 s).
 */
export async function connectRedis(url: string, options: ConnectRedisOptions = {}): Promise<Redis> {
  let firstAttempt = true;
  const redis = new Redis(url, {
    lazyConnect: true,
    connectTimeout: options.connectTimeoutMs ?? 5000,
    // Give up at once on the first connection; once up, keep retrying.
    retryStrategy: (times) => (firstAttempt ? null : Math.min(times * 200, 5000)),
  });
  // Without a listener ioredis prints every connection error to stderr.
  const logger = options.logger ?? silentLogger;
  redis.on("error", (err: unknown) => {
    if (!firstAttempt) logger.warn("Redis connection error; reconnecting", { url, error: err });
  });
  try {
    await redis.connect();
    await redis.ping();
  } catch (err) {
    redis.disconnect();
    const reason = err instanceof Error ? err.message : String(err);
    throw unavailable(`cannot reach Redis at ${url} (${reason}): start it with \`redis-server\` or set REDIS_URL`, err);
  }
  firstAttempt = false;
  return redis;
}
