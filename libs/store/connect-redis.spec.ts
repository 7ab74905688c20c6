import { createServer } from "node:net";
import { describe, expect, it } from "vitest";
import { Code, ConnectError } from "../errors/index.js";
import { testRedisUrl } from "../testing/index.js";
import { connectRedis } from "./connect-redis.js";

function closedPort(): Promise<number> {
  return new Promise((resolve) => {
    const srv = createServer().listen(0, "127.0.0.1", () => {
      const { port } = srv.address() as { port: number };
      srv.close(() => resolve(port));
    });
  });
}

describe("connectRedis()", () => {
  it("answers UNAVAILABLE, saying how to start Redis, when nothing listens", async () => {
    const url = `redis://127.0.0.1:${await closedPort()}`;
    const err = await connectRedis(url).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ConnectError);
    expect((err as ConnectError).code).toBe(Code.Unavailable);
    expect((err as ConnectError).message).toContain(`cannot reach Redis at ${url}`);
    expect((err as ConnectError).message).toContain("redis-server");
  });

  it("connects to a running server and runs commands", async () => {
    const redis = await connectRedis(testRedisUrl());
    expect(await redis.ping()).toBe("PONG");
    redis.disconnect();
  });
});
