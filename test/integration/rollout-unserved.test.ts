import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { MonitoringService } from "../../libs/gen/tessera/monitoring/v1/monitoring_pb.js";
import { RolloutPhase } from "../../libs/gen/tessera/monitoring/v1/rollouts_pb.js";
import { DataType } from "../../libs/gen/tessera/registry/v1/signature_pb.js";
import type { MeshClient } from "../../libs/host/index.js";
import { uploadModelVersion } from "../../libs/registry-client/index.js";
import { uniqueName } from "../../libs/testing/index.js";
import { exampleModel } from "../../mesh/models/index.js";
import { startRolloutMesh, steadyTraffic, type RolloutMesh } from "../support/rollout-mesh.js";
import type { TestRouter } from "../support/router-harness.js";

const fraud = exampleModel("fraud");
const input = { name: "features", dtype: DataType.FLOAT32, shape: [1n, 16n], floatData: Array.from(fraud.sampleRow(1).get("features")!.data as Float32Array) };

/** Waits for `check` to hold; the test's own timeout bounds it. */
async function eventually(check: () => Promise<boolean> | boolean): Promise<void> {
  while (!(await check())) await new Promise((resolve) => setTimeout(resolve, 50));
}

// A rollout whose candidate no replica serves gets no candidate requests at
// all: it must roll back after its inconclusive limit, not wait for ever.
describe("a rollout of a version no replica serves", () => {
  let mesh: RolloutMesh;
  let router: TestRouter;
  let client: MeshClient<typeof MonitoringService>;
  let stopTraffic: (() => Promise<void>) | undefined;
  const model = uniqueName("fraud").replace(/_/g, "-");

  beforeAll(async () => {
    const bytes = fraud.build();
    mesh = await startRolloutMesh({
      name: "test-rollout-unserved",
      upload: async (registry) => {
        for (let v = 1; v <= 2; v++) await uploadModelVersion(registry.client, { model, createModel: v === 1, aliases: v === 1 ? ["production"] : [] }, bytes);
      },
      // Serves version 1 only: version 2 is in the registry, ready to be routed to, but nobody loads it.
      serve: [{ model, version: 1 }],
    });
    ({ router, client } = mesh);
    await router.routes.setRoute({ route: { model, splits: [{ version: 1, weight: 100 }] }, expectedRevision: 0n });
    stopTraffic = steadyTraffic(router, { model, inputs: [input] });
  });

  afterAll(async () => {
    await stopTraffic?.();
    await mesh?.stop();
  });

  it("fails its checks once it has waited its inconclusive limit, and rolls back to the baseline saying why", async () => {
    const { rollout } = await client.client.startRollout({
      model,
      candidate: 2,
      steps: [50, 100],
      stepIntervalMs: 1000n,
      analysis: { minRequests: 5, maxP99Ms: 60_000, minSuccessRate: 0.9, failureThreshold: 2, inconclusiveLimit: 1 },
    });
    expect(rollout).toMatchObject({ baseline: 1, candidate: 2, phase: RolloutPhase.PROGRESSING, weight: 50, analysis: { inconclusiveLimit: 1 } });
    await eventually(async () => (await client.client.getRollout({ model })).rollout!.phase !== RolloutPhase.PROGRESSING);
    const ended = (await client.client.getRollout({ model })).rollout!;
    expect(ended.phase).toBe(RolloutPhase.ROLLED_BACK);
    expect(ended.reason).toMatch(/^2 failed checks in a row; last: no candidate requests in 2 step intervals \(min 5\); is version 2 served/);
    const { route } = await router.routes.getRoute({ model });
    expect(Object.fromEntries(route!.splits.map((s) => [s.version, s.weight]))).toEqual({ 1: 100, 2: 0 });
  });
});
