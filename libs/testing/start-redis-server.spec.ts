import { describe, expect, it } from "vitest";
import { connectRedis } from "../store/index.js";
import { startRedisServer } from "./start-redis-server.js";

describe("startRedisServer()", () => {
  it("starts a private Redis that answers, and stops it", async () => {
    const server = await startRedisServer();
    const redis = await connectRedis(server.url);
    expect(await redis.set("k", "v")).toBe("OK");
    redis.disconnect();
    await server.stop();
    await expect(connectRedis(server.url)).rejects.toThrow(/cannot reach Redis/);
  });
});
