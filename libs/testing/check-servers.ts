import { jetstreamManager } from "@nats-io/jetstream";
import { connectNats } from "../nats/index.js";
import { connectRedis } from "../store/index.js";

/**
 * Fails, saying how to start it, unless a NATS server with JetStream
 * answers at `url`. For a harness given NATS_URL: a wrong URL should stop
 * the run at once, not as a hundred timeouts.
 */
export async function checkNats(url: string): Promise<void> {
  let nc;
  try {
    nc = await connectNats({ servers: url, name: "tessera-test-check" });
  } catch (err) {
    throw new Error(
      `NATS_URL=${url} does not answer. Start NATS with JetStream: \`nats-server -js -a 127.0.0.1 -p 4222 -sd /tmp/nats-store\`, ` +
        `or unset NATS_URL to let the tests start their own.`,
      { cause: err },
    );
  }
  try {
    const jsm = await jetstreamManager(nc);
    await jsm.getAccountInfo();
  } catch (err) {
    throw new Error(`NATS at ${url} answers but JetStream is off: restart it with \`nats-server -js\`.`, { cause: err });
  } finally {
    await nc.close();
  }
}

/** Fails, saying how to start it, unless Redis answers at `url`. */
export async function checkRedis(url: string): Promise<void> {
  try {
    const redis = await connectRedis(url);
    redis.disconnect();
  } catch (err) {
    throw new Error(
      `REDIS_URL=${url} does not answer. Start Redis: \`redis-server --port 6379 --save "" --appendonly no\`, ` +
        `or unset REDIS_URL to let the tests start their own.`,
      { cause: err },
    );
  }
}
