import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Redis } from "ioredis";
import { createMemoryOnlineStore, openRedisOnlineStore, withCache } from "../../libs/online-store/index.js";
import { Code } from "../../libs/errors/index.js";
import { startRedisCluster, testRedisUrl, uniqueName, type RedisClusterHandle } from "../../libs/testing/index.js";
import { expectCode } from "./expect-code.js";
import { onlineStoreContract } from "./online-store.contract.js";

onlineStoreContract("embedded (memory)", async () => {
  const store = createMemoryOnlineStore();
  return { store, dispose: () => store.close() };
});

onlineStoreContract("Redis", async () => {
  const store = await openRedisOnlineStore({ url: testRedisUrl(), keyPrefix: `${uniqueName("tf")}:` });
  return { store, dispose: () => store.close() };
});

// The cache must not change what a store means (its TTL is short, so the expiry test still sees rows go).
onlineStoreContract("Redis behind the in-process cache", async () => {
  const store = withCache(await openRedisOnlineStore({ url: testRedisUrl(), keyPrefix: `${uniqueName("tf")}:` }), { ttlMs: 20, maxEntries: 100 });
  return { store, dispose: () => store.close() };
});

describe("withCache()", () => {
  it("answers a repeated read from memory, counts hits and misses, and drops a row this process writes", async () => {
    const lookups: string[] = [];
    const inner = createMemoryOnlineStore();
    const store = withCache(inner, { ttlMs: 60_000, maxEntries: 10, onLookup: (result) => lookups.push(result) });
    const row = (value: number, eventTimeMs: number) => ({ table: "v", entityKey: "e:1", eventTimeMs, fields: new Map([["x", Uint8Array.of(value)]]) });
    await store.write([row(1, 1)]);
    const key = { table: "v", entityKey: "e:1", fields: ["x"] };
    await store.read([key, { ...key, entityKey: "e:none" }]);
    // Written behind the cache's back: the cached row is still served (that is what a cache does).
    await inner.write([row(2, 2)]);
    expect([...(await store.read([key]))[0]!.fields.get("x")!]).toEqual([1]);
    expect((await store.read([{ ...key, entityKey: "e:none" }]))[0]).toBeUndefined();
    // Written through it: dropped, read fresh.
    await store.write([row(3, 3)]);
    expect([...(await store.read([key]))[0]!.fields.get("x")!]).toEqual([3]);
    expect(lookups).toEqual(["miss", "miss", "hit", "hit", "miss"]);
    expect(store.kind).toBe("memory+cache");
  });
});

let cluster: RedisClusterHandle;
beforeAll(async () => {
  cluster = await startRedisCluster();
});
afterAll(async () => {
  await cluster?.stop();
});

onlineStoreContract("Redis Cluster (3 masters)", async () => {
  const store = await openRedisOnlineStore({ url: cluster.nodes, cluster: true, keyPrefix: `${uniqueName("tf")}:` });
  return { store, dispose: () => store.close() };
});

describe("openRedisOnlineStore()", () => {
  it("answers UNAVAILABLE, saying how to start Redis, when nothing listens", async () => {
    const error = await expectCode(openRedisOnlineStore({ url: "redis://127.0.0.1:1", connectTimeoutMs: 500 }), Code.Unavailable);
    expect(error.message).toMatch(/redis-server|REDIS_URL/);
  });

  it("keeps one entity's tables in one cluster slot (hash tag) and sets the key's TTL", async () => {
    const prefix = `${uniqueName("tf")}:`;
    const store = await openRedisOnlineStore({ url: testRedisUrl(), keyPrefix: prefix });
    try {
      await store.write([
        { table: "a", entityKey: "card:9", eventTimeMs: 1, fields: new Map([["x", Uint8Array.of(1)]]), ttlMs: 60_000 },
        { table: "b", entityKey: "card:9", eventTimeMs: 1, fields: new Map([["x", Uint8Array.of(1)]]) },
      ]);
      const redis = new Redis(testRedisUrl());
      try {
        const keys = (await redis.keys(`${prefix}*`)).sort();
        expect(keys).toEqual([`${prefix}{card:9}:a`, `${prefix}{card:9}:b`]);
        const pttl = await redis.pttl(`${prefix}{card:9}:a`);
        expect(pttl).toBeGreaterThan(0);
        expect(pttl).toBeLessThanOrEqual(60_000);
        expect(await redis.pttl(`${prefix}{card:9}:b`)).toBe(-1);
        expect(await redis.hget(`${prefix}{card:9}:a`, "_t")).toBe("1");
      } finally {
        redis.disconnect();
      }
    } finally {
      await store.close();
    }
  });

  it("spreads entities over every master of the cluster", async () => {
    const prefix = `${uniqueName("tf")}:`;
    const store = await openRedisOnlineStore({ url: cluster.nodes, cluster: true, keyPrefix: prefix });
    try {
      await store.write(Array.from({ length: 60 }, (_, i) => ({ table: "v", entityKey: `e:${i}`, eventTimeMs: 1, fields: new Map([["x", Uint8Array.of(i)]]) })));
      const counts = await Promise.all(
        cluster.ports.map(async (port) => {
          const node = new Redis({ port, host: "127.0.0.1" });
          try {
            return (await node.keys(`${prefix}*`)).length;
          } finally {
            node.disconnect();
          }
        }),
      );
      expect(counts.every((n) => n > 0)).toBe(true);
      expect(counts.reduce((a, b) => a + b, 0)).toBe(60);
    } finally {
      await store.close();
    }
  });
});
