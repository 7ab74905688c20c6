import { connectRedis } from "../../libs/store/index.js";
import type { Topology } from "./topology.js";

export const DEFAULT_REDIS_URL = "redis://127.0.0.1:6379";

/** The feature service's online store for `tessera up`, and a line saying so when it is not what was asked. */
export interface OnlineStoreChoice {
  redisUrl: string;
  onlineStore: "redis" | "redis-cluster" | "memory";
  note?: string;
}

/**
 * Redis from REDIS_URL, the topology, or 127.0.0.1:6379. When a single
 * Redis was asked for and does not answer, the feature service keeps
 * values in memory instead, and the note says so: a laptop without Redis
 * still gets a working mesh (as with --embedded).
 */
export async function pickOnlineStore(topology: Topology, env: Readonly<Record<string, string | undefined>>): Promise<OnlineStoreChoice> {
  const redisUrl = env.REDIS_URL || topology.redisUrl || DEFAULT_REDIS_URL;
  const wanted = topology.feature?.onlineStore ?? "redis";
  if (wanted !== "redis") return { redisUrl, onlineStore: wanted };
  try {
    const redis = await connectRedis(redisUrl, { connectTimeoutMs: 1500 });
    redis.disconnect();
    return { redisUrl, onlineStore: "redis" };
  } catch {
    return {
      redisUrl,
      onlineStore: "memory",
      note: `Redis at ${redisUrl} does not answer: the feature service keeps online values in memory (lost on exit). Start Redis (\`redis-server\`) or set REDIS_URL for the real store`,
    };
  }
}
