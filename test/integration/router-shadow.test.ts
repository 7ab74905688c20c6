import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { decodeCloudEvent, schemaMap } from "../../libs/events/index.js";
import { PredictionLogSchema, ShadowComparisonSchema, type PredictionLog, type ShadowComparison } from "../../libs/gen/tessera/events/v1/prediction_log_pb.js";
import { DataType } from "../../libs/gen/tessera/registry/v1/signature_pb.js";
import { buildMlp } from "../../libs/onnx/index.js";
import { predictionLogSubject, shadowComparisonSubject } from "../../libs/prediction-log/index.js";
import { uploadModelVersion } from "../../libs/registry-client/index.js";
import { uniqueName } from "../../libs/testing/index.js";
import { exampleModel } from "../../mesh/models/index.js";
import type { MonitoringServer } from "../../services/monitoring/start-monitoring.js";
import { startRolloutMesh, type RolloutMesh } from "../support/rollout-mesh.js";
import type { TestRouter } from "../support/router-harness.js";

// Shadow traffic end to end over real NATS: a real router mirrors to a real
// replica, publishes each comparison to the prediction-log stream, and a
// real monitoring service reads and sums them.
const fraud = exampleModel("fraud");
const input = { name: "features", dtype: DataType.FLOAT32, shape: [1n, 16n], floatData: Array.from(fraud.sampleRow(1).get("features")!.data as Float32Array) };
const TRACE_ID = "4bf92f3577b34da6a3ce929d0e0e4736";

async function until(check: () => boolean | Promise<boolean>, limitMs = 30_000): Promise<void> {
  for (let waited = 0; waited < limitMs; waited += 50) {
    if (await check()) return;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error(`condition not met in ${limitMs} ms`);
}

describe("shadow comparisons", () => {
  let mesh: RolloutMesh;
  let router: TestRouter;
  let monitoring: MonitoringServer;
  const model = uniqueName("shadowlog").replace(/_/g, "-");
  const seen: ShadowComparison[] = [];
  // The replica's own logs of what it answered, primary (v1) and shadow copy (v2) alike.
  const replicaLogs: PredictionLog[] = [];

  beforeAll(async () => {
    mesh = await startRolloutMesh({
      name: "test-router-shadow",
      upload: async (registry) => {
        // Version 2: the same network with other weights, so its answers differ.
        await uploadModelVersion(registry.client, { model, createModel: true }, fraud.build());
        await uploadModelVersion(registry.client, { model }, buildMlp({ ...fraud.mlp!, seed: 4242 }));
      },
      serve: [{ model, version: 1 }, { model, version: 2 }],
      routerPredictionLogs: true,
      rollouts: false,
    });
    ({ router, monitoring } = mesh);
    const schemas = schemaMap(ShadowComparisonSchema);
    mesh.nc.subscribe(shadowComparisonSubject(model, 2), {
      callback: (_error, m) => {
        const decoded = decodeCloudEvent(m.subject, (name) => m.headers?.get(name) || undefined, m.data, schemas);
        if ("event" in decoded) seen.push(decoded.event.message);
      },
    });
    const logSchemas = schemaMap(PredictionLogSchema);
    for (const version of [1, 2]) {
      mesh.nc.subscribe(predictionLogSubject(model, version), {
        callback: (_error, m) => {
          const decoded = decodeCloudEvent(m.subject, (name) => m.headers?.get(name) || undefined, m.data, logSchemas);
          if ("event" in decoded) replicaLogs.push(decoded.event.message);
        },
      });
    }
    await router.routes.setRoute({ route: { model, splits: [{ version: 1, weight: 100 }], shadow: { version: 2, percent: 100 } } });
    await until(() => router.router.routes.get(model) !== undefined);
  });

  afterAll(async () => {
    await mesh?.stop();
  });

  it("publishes each shadow's comparison to the prediction-log stream, and monitoring reads and sums them", async () => {
    for (let i = 0; i < 3; i++) {
      const response = await router.client.predict(
        { model, inputs: [input] },
        { headers: { "x-request-id": `req-${i}`, traceparent: `00-${TRACE_ID}-00f067aa0ba902b${i}-01` } },
      );
      // The caller gets the primary's answer.
      expect(response.version).toBe(1);
    }
    await until(() => seen.length >= 3);
    const first = seen.find((c) => c.requestId === "req-0")!;
    expect(first).toMatchObject({ model, primaryVersion: 1, shadowVersion: 2, traceId: TRACE_ID, mismatch: false, shadowErrorCode: "" });
    expect(first.maxAbsDifference).toBeGreaterThan(0);
    expect(first.outputs.map((o) => o.name)).toEqual(["score"]);
    expect(first.outputs[0]!.maxAbsDifference).toBe(first.maxAbsDifference);
    expect(first.primaryLatencyUs).toBeGreaterThan(0n);
    expect(first.shadowLatencyUs).toBeGreaterThan(0n);
    const replicaId = router.router.table.serving(model, { version: 1 })[0]!.replicaId;
    expect(first.primaryReplicaId).toBe(replicaId);
    expect(first.shadowReplicaId).toBe(replicaId);

    await until(() => (monitoring.shadow.summaries().find((s) => s.model === model)?.compared ?? 0) >= 3);
    const summary = monitoring.shadow.summaries().find((s) => s.model === model)!;
    expect(summary).toMatchObject({ primaryVersion: 1, shadowVersion: 2, mismatched: 0, failed: 0 });
    expect(summary.maxAbsDifference).toBeCloseTo(Math.max(...seen.map((c) => c.maxAbsDifference)), 12);
    const report = (await (await fetch(`http://${monitoring.host.httpAddress}/monitoring/shadow`)).json()) as { comparisons: Array<{ model: string; compared: number }> };
    expect(report.comparisons.find((c) => c.model === model)?.compared).toBeGreaterThanOrEqual(3);
    expect(await monitoring.metrics.getSingleMetricAsString("tessera_monitoring_shadow_comparisons_total")).toMatch(
      new RegExp(`model="${model}",outcome="compared",primary_version="1",shadow_version="2"} [3-9]|model="${model}",primary_version="1",shadow_version="2",outcome="compared"} [3-9]`),
    );
    // Counted on the router's side too: published through the prediction-log publisher.
    expect(await router.router.host.metrics.getSingleMetricAsString("tessera_prediction_log_published_total")).toContain(`model="${model}"`);
  });

  it("tells the replica why each call reached its version, so its logs carry the route decision, the trace and the shadow mark", async () => {
    const revision = router.router.routes.get(model)!.revision;
    await router.client.predict({ model, inputs: [input] }, { headers: { traceparent: `00-${TRACE_ID}-00f067aa0ba902c0-01`, "x-tessera-key": "user-9" } });
    await until(() => replicaLogs.some((l) => l.version === 1 && l.entityKey === "user-9") && replicaLogs.some((l) => l.version === 2 && l.entityKey === "user-9"));
    const primary = replicaLogs.find((l) => l.version === 1 && l.entityKey === "user-9")!;
    const shadow = replicaLogs.find((l) => l.version === 2 && l.entityKey === "user-9")!;
    // A sticky key on a split route: the router hashed it to choose the version.
    expect(primary.route).toMatchObject({ reason: "sticky", routeRevision: revision, shadow: false });
    expect(revision).toBeGreaterThan(0n);
    expect(shadow.route).toMatchObject({ reason: "shadow", shadow: true });
    expect(primary.traceId).toBe(TRACE_ID);
    expect(shadow.traceId).toBe(TRACE_ID);
    // A caller cannot pass itself off as the router's shadow: the router replaces what it sent.
    await router.client.predict({ model, inputs: [input] }, { headers: { "x-tessera-route-reason": "shadow", "x-tessera-key": "user-10" } });
    await until(() => replicaLogs.some((l) => l.version === 1 && l.entityKey === "user-10"));
    expect(replicaLogs.find((l) => l.version === 1 && l.entityKey === "user-10")!.route).toMatchObject({ reason: "sticky", shadow: false });
  });

  it("tells the replica the route decision through the OIP REST proxy too, replacing what the caller sent", async () => {
    const revision = router.router.routes.get(model)!.revision;
    const traceId = "5bf92f3577b34da6a3ce929d0e0e4737";
    const answer = await fetch(`${router.httpUrl}/v2/models/${model}/infer`, {
      method: "POST",
      headers: { "content-type": "application/json", traceparent: `00-${traceId}-00f067aa0ba902d0-01`, "x-tessera-key": "user-11", "x-tessera-route-reason": "shadow" },
      body: JSON.stringify({ inputs: [{ name: "features", datatype: "FP32", shape: [1, 16], data: input.floatData }] }),
    });
    expect(answer.status).toBe(200);
    await until(() => replicaLogs.some((l) => l.version === 1 && l.traceId === traceId));
    const primary = replicaLogs.find((l) => l.version === 1 && l.traceId === traceId)!;
    expect(primary.route).toMatchObject({ reason: "sticky", routeRevision: revision, shadow: false });
  });
});
