import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Code, ConnectError } from "@connectrpc/connect";
import { FeatureStatus } from "../../libs/gen/tessera/feature/v1/feature_pb.js";
import { startRedisServer, type RedisServerHandle } from "../../libs/testing/index.js";
import { startTestFeature, type TestFeature } from "../support/feature-harness.js";
import { cardDefinitions, cardRow } from "./feature-fixtures.js";

// Its own Redis, since this test stops it.
describe("feature service when Redis goes away", () => {
  let redis: RedisServerHandle;
  let feature: TestFeature;
  beforeAll(async () => {
    redis = await startRedisServer();
    feature = await startTestFeature({ online: { url: redis.url } });
    await feature.client.applyDefinitions(cardDefinitions());
    await feature.client.writeOnlineFeatures({ view: "card_stats", rows: [cardRow("c1", Date.now())] });
  });
  afterAll(async () => {
    await feature?.stop();
    await redis?.stop();
  });

  it("answers UNAVAILABLE (not a hang, not UNKNOWN) while Redis is down, and recovers without a restart when it returns", async () => {
    await redis.stop();
    let error: unknown;
    try {
      // The call's own deadline is far above the store's command timeout: a hang would show as DEADLINE_EXCEEDED.
      await feature.client.getOnlineFeatures({ features: ["card_stats:amount_avg"], entityKeys: ["c1"] }, { timeoutMs: 20_000 });
    } catch (e) {
      error = e;
    }
    expect(ConnectError.from(error).code).toBe(Code.Unavailable);
    expect(ConnectError.from(error).rawMessage).toMatch(/Redis.*not answering/);
    const write = await feature.client.writeOnlineFeatures({ view: "card_stats", rows: [cardRow("c2", Date.now())] }, { timeoutMs: 20_000 }).catch((e: unknown) => e);
    expect(ConnectError.from(write).code).toBe(Code.Unavailable);
    // Definitions live in NATS: still served.
    expect((await feature.client.listFeatureViews({})).featureViews).toHaveLength(1);

    redis = await startRedisServer({ port: redis.port });
    // ioredis reconnects on its own backoff; wait for it (bounded), then the same service must answer.
    let response;
    for (let attempt = 0; attempt < 100 && !response; attempt++) {
      response = await feature.client.getOnlineFeatures({ features: ["card_stats:amount_avg"], entityKeys: ["c1"] }).catch(() => undefined);
      if (!response) await new Promise((resolve) => setTimeout(resolve, 100));
    }
    // The restarted Redis is empty (memory only): the key reads NOT_FOUND, and writes work again.
    expect(response?.columns[0]!.statuses).toEqual([FeatureStatus.NOT_FOUND]);
    expect((await feature.client.writeOnlineFeatures({ view: "card_stats", rows: [cardRow("c1", Date.now())] })).written).toBe(1);
  });
});
