import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { DataType } from "../../libs/gen/tessera/registry/v1/signature_pb.js";
import { uploadModelVersion } from "../../libs/registry-client/index.js";
import { uniqueName } from "../../libs/testing/index.js";
import { exampleModel } from "../../mesh/models/index.js";
import { startTestReplica, type TestReplica } from "../support/inference-harness.js";
import { startTestRegistry, type TestRegistry } from "../support/registry-harness.js";
import { startTestRouter, type TestRouter } from "../support/router-harness.js";

const fraud = exampleModel("fraud");
const features = Array.from(fraud.sampleRow(1).get("features")!.data as Float32Array);
const input = { name: "features", dtype: DataType.FLOAT32, shape: [1n, 16n], floatData: features };

async function until(check: () => boolean | Promise<boolean>): Promise<void> {
  for (let i = 0; i < 400; i++) {
    if (await check()) return;
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
  throw new Error("condition not met in 10 s");
}

describe("router: OIP routing and the cached degradation", () => {
  let registry: TestRegistry;
  let replica: TestReplica;
  let router: TestRouter;
  let model: string;

  beforeAll(async () => {
    registry = await startTestRegistry({ mode: "nats" });
    model = uniqueName("degrade").replace(/_/g, "-");
    const bytes = fraud.build();
    await uploadModelVersion(registry.client, { model, createModel: true }, bytes);
    await uploadModelVersion(registry.client, { model }, bytes);
    const membershipBucket = uniqueName("replicas");
    replica = await startTestReplica(registry, { serve: [{ model, version: 1 }, { model, version: 2 }], membershipBucket });
    router = await startTestRouter(registry, { routesBucket: uniqueName("routes"), membershipBucket });
    await until(() => router.router.table.serving(model, { version: 2 }).length === 1);
  });

  afterAll(async () => {
    await router?.stop();
    await replica?.stop().catch(() => {});
    await registry?.stop();
  });

  it("routes OIP ModelInfer over gRPC by rewriting model_version in the bytes", async () => {
    await router.routes.setRoute({ route: { model, splits: [{ version: 2, weight: 100 }], serveCachedOnFailure: true } });
    const response = await router.oip.modelInfer({ modelName: model, id: "oip-1", inputs: [{ name: "features", datatype: "FP32", shape: [1n, 16n], contents: { fp32Contents: features } }] });
    expect(response).toMatchObject({ modelName: model, modelVersion: "2", id: "oip-1" });
    expect((await router.oip.modelReady({ name: model, version: "2" })).ready).toBe(true);
    expect((await router.oip.modelMetadata({ name: model })).name).toBe(model);
  });

  it("answers the last good response for the same key once no replica is left, marked cached", async () => {
    const headers = { "x-tessera-key": "user-7" };
    const good = await router.client.predict({ model, inputs: [input] }, { headers });
    await replica.stop();
    await until(() => router.router.table.all().length === 0);
    let degraded = "";
    const cached = await router.client.predict({ model, inputs: [input] }, { headers, onHeader: (h) => (degraded = h.get("x-tessera-degraded") ?? "") });
    expect(degraded).toBe("cached");
    expect(cached.outputs[0]!.floatData).toEqual(good.outputs[0]!.floatData);
    expect(await router.router.host.metrics.getSingleMetricAsString("tessera_router_degraded_total")).toContain(`model="${model}",kind="cached"`);
  });
});
