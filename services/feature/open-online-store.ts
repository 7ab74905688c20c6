import { createMemoryOnlineStore, openRedisOnlineStore, type OnlineStore } from "../../libs/online-store/index.js";
import type { Logger } from "../../libs/log/index.js";
import type { FeatureConfig } from "./config.js";

/** The online store the configuration names: Redis, Redis Cluster, or memory. */
export async function openOnlineStore(
  config: Pick<FeatureConfig, "onlineStore" | "redisUrl" | "keyPrefix" | "redisTimeoutMs">,
  logger: Logger,
): Promise<OnlineStore> {
  if (config.onlineStore === "memory") {
    logger.warn("online store: in memory (embedded); feature values are lost when this process stops, and no other process sees them");
    return createMemoryOnlineStore();
  }
  return openRedisOnlineStore({
    url: config.redisUrl,
    cluster: config.onlineStore === "redis-cluster",
    keyPrefix: config.keyPrefix,
    commandTimeoutMs: config.redisTimeoutMs,
    logger,
  });
}
