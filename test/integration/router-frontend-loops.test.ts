import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { DataType } from "../../libs/gen/tessera/registry/v1/signature_pb.js";
import { uploadModelVersion } from "../../libs/registry-client/index.js";
import { uniqueName } from "../../libs/testing/index.js";
import { exampleModel } from "../../mesh/models/index.js";
import { loopsUnsupportedReason } from "../../services/inference/frontend/loop-count.js";
import type { RouterConfig } from "../../services/router/config.js";
import { startTestReplica, type TestReplica } from "../support/inference-harness.js";
import { startTestRegistry, type TestRegistry } from "../support/registry-harness.js";
import { startTestRouter, type TestRouter } from "../support/router-harness.js";

// A replica whose gRPC port runs on two event loops behind a real router:
// the router keeps a connection on each loop (the replica's record says
// how many, each answer says which loop), so calls through it reach both.
// Each loop counts the calls it answered; that, not the router's word, is
// what these tests check.

const fraud = exampleModel("fraud");
const name = (prefix: string) => uniqueName(prefix).replace(/_/g, "-");
const unsupported = loopsUnsupportedReason(process.version, process.platform);
const input = { name: "features", dtype: DataType.FLOAT32, shape: [1n, 16n], floatData: Array.from(fraud.sampleRow(1).get("features")!.data as Float32Array) };

/** Predict calls each loop of the replica has answered, from the loops' own counts (a replaced loop starts at 0). */
async function predictsPerLoop(replica: TestReplica): Promise<number[]> {
  const perLoop = (await replica.replica.loops!.gatherMetrics()) as { name: string; values: { labels: Record<string, string>; value: number }[] }[][];
  return perLoop.map((metrics) =>
    (metrics.find((m) => m.name === "tessera_inference_rpc_requests_total")?.values ?? [])
      .filter((v) => v.labels.method === "tessera.inference.v1.InferenceService/Predict")
      .reduce((sum, v) => sum + v.value, 0),
  );
}

/** What /router/status says of the replica: its loops, and the loops the router's connections reached. */
async function routerView(router: TestRouter): Promise<{ loops: number; loopsReached: (number | null)[] }> {
  const status = (await (await fetch(`${router.httpUrl}/router/status`)).json()) as { replicas: { loops: number; loopsReached: (number | null)[] }[] };
  return status.replicas[0]!;
}

async function until(check: () => boolean | Promise<boolean>, what: string, limitMs = 20_000): Promise<void> {
  for (let waited = 0; waited < limitMs; waited += 50) {
    if (await check()) return;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error(`${what}: not within ${limitMs} ms`);
}

describe.skipIf(unsupported !== undefined)(`the router before a replica on two front-end loops${unsupported ? ` (skipped: ${unsupported})` : ""}`, { timeout: 90_000 }, () => {
  let registry: TestRegistry;
  let replica: TestReplica;
  let model: string;
  const membershipBucket = uniqueName("replicas");

  beforeAll(async () => {
    registry = await startTestRegistry({ mode: "nats" });
    model = name("router-loops");
    await uploadModelVersion(registry.client, { model, createModel: true, aliases: ["production"] }, fraud.build());
    replica = await startTestReplica(registry, { serve: [{ model, alias: "production" }], config: { frontendLoops: 2 }, membershipBucket });
  });
  afterAll(async () => {
    await replica?.stop();
    await registry?.stop();
  });

  async function routerBefore(config: Partial<RouterConfig>): Promise<TestRouter> {
    const router = await startTestRouter(registry, { routesBucket: uniqueName("routes"), membershipBucket, config });
    await until(() => router.router.table.serving(model, { any: true }).length === 1, "the router saw the replica");
    return router;
  }

  /** Predicts through the router, one at a time, until its connections hold both loops; then 10 more. What each loop answered of those 10. */
  async function spread(router: TestRouter): Promise<number[]> {
    for (let i = 0; i < 40 && (await routerView(router)).loopsReached.filter((l) => l !== null).length < 2; i++) {
      expect((await router.client.predict({ model, inputs: [input] })).outputs).toHaveLength(1);
    }
    expect((await routerView(router)).loopsReached.toSorted()).toEqual([0, 1]);
    const before = await predictsPerLoop(replica);
    for (let i = 0; i < 10; i++) expect((await router.client.predict({ model, inputs: [input] })).outputs).toHaveLength(1);
    const after = await predictsPerLoop(replica);
    return after.map((count, i) => count - (before[i] ?? 0));
  }

  it.each(["h2", "grpc-js"] as const)("spreads calls through the router (upstream %s) over both loops", async (upstream) => {
    expect(replica.replica.loops?.count).toBe(2);
    const router = await routerBefore({ upstream });
    try {
      expect((await routerView(router)).loops).toBe(2);
      // Nothing in flight between calls: they alternate between the loops.
      expect(await spread(router)).toEqual([5, 5]);
    } finally {
      await router.stop();
    }
  });

  it("reaches the loop that takes a dead loop's place, and later calls do not fail", async () => {
    const router = await routerBefore({});
    const loops = replica.replica.loops!;
    const replaced = loops.replacements;
    try {
      expect(await spread(router)).toEqual([5, 5]);
      loops.crashLoop(1);
      await until(() => loops.replacements === replaced + 1, "loop 1 replaced");
      await until(async () => (await routerView(router)).loopsReached.length < 2, "the router saw the connection to loop 1 drop");
      // Its new connections land where the kernel says; the pool keeps trying until one is on the new loop 1.
      for (let i = 0; i < 40 && (await predictsPerLoop(replica))[1] === 0; i++) {
        expect((await router.client.predict({ model, inputs: [input] })).outputs).toHaveLength(1);
      }
      expect((await predictsPerLoop(replica))[1]).toBeGreaterThan(0);
      expect(await spread(router)).toEqual([5, 5]);
    } finally {
      await router.stop();
    }
  });
});

describe.runIf(unsupported !== undefined)("the router before a replica asked for two loops on a Node without reusePort", () => {
  let registry: TestRegistry;
  beforeAll(async () => {
    registry = await startTestRegistry({ mode: "nats" });
  });
  afterAll(async () => registry?.stop());

  it("keeps one connection: the replica says it runs one loop", async () => {
    const model = name("router-one-loop");
    const membershipBucket = uniqueName("replicas");
    await uploadModelVersion(registry.client, { model, createModel: true, aliases: ["production"] }, fraud.build());
    const replica = await startTestReplica(registry, { serve: [{ model, alias: "production" }], config: { frontendLoops: 2 }, membershipBucket });
    const router = await startTestRouter(registry, { routesBucket: uniqueName("routes"), membershipBucket });
    try {
      await until(() => router.router.table.serving(model, { any: true }).length === 1, "the router saw the replica");
      for (let i = 0; i < 4; i++) expect((await router.client.predict({ model, inputs: [input] })).outputs).toHaveLength(1);
      // One loop answers no loop header: one connection, its loop never known.
      expect(await routerView(router)).toMatchObject({ loops: 1, loopsReached: [null] });
    } finally {
      await router.stop();
      await replica.stop();
    }
  });
});
