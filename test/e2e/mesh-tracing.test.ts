import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { randomBytes } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { FeatureService } from "../../libs/gen/tessera/feature/v1/feature_pb.js";
import { InferenceService } from "../../libs/gen/tessera/inference/v1/inference_pb.js";
import { RegistryService } from "../../libs/gen/tessera/registry/v1/registry_pb.js";
import { RouterService } from "../../libs/gen/tessera/router/v1/router_pb.js";
import { createMeshClient } from "../../libs/host/index.js";
import { uploadModelVersion } from "../../libs/registry-client/index.js";
import { testNatsUrl, uniqueName } from "../../libs/testing/index.js";
import { dropBuckets } from "../../mesh/launcher/drop-buckets.js";
import { launchProcesses } from "../../mesh/launcher/launch-processes.js";
import type { RunningMesh } from "../../mesh/launcher/running-mesh.js";
import { parseTopology } from "../../mesh/launcher/topology.js";
import { attributesOf, SPAN_KIND, startOtlpReceiver, type OtlpReceiver, type ReceivedSpan } from "../support/otlp-receiver.js";
import { exampleModel, fraudFeatureBinding, fraudFeatureDefinitions, fraudFeatureRow } from "../../mesh/models/index.js";

// `tessera up`'s processes (registry, feature, monitoring, router, one
// replica), started by the mesh launcher with OTLP/HTTP (JSON) pointed at a
// receiver this test runs. One entity-keyed Predict through the router must
// come back as one trace: router → replica → feature lookup and fetch → the
// monitoring service consuming that request's prediction log.

const { INTERNAL, SERVER, CLIENT, CONSUMER } = SPAN_KIND;
let receiver: OtlpReceiver | undefined;
const inTrace = (traceId: string) => receiver!.inTrace(traceId);
const find = (traceId: string, service: string, kind: number, name: RegExp) => inTrace(traceId).find((s) => s.service === service && s.kind === kind && name.test(s.name));

const model = uniqueName("mesh-traced").replace(/_/g, "-");
const view = uniqueName("traced_view");
const buckets = { kv: [uniqueName("reg"), uniqueName("routes")], objects: [uniqueName("art")] };
const OTEL = { OTEL_EXPORTER_OTLP_ENDPOINT: "", OTEL_EXPORTER_OTLP_PROTOCOL: "http/json", OTEL_BSP_SCHEDULE_DELAY: "200" };
let saved: Record<string, string | undefined>;
let dir: string;
let mesh: RunningMesh | undefined;

beforeAll(async () => {
  receiver = await startOtlpReceiver();
  OTEL.OTEL_EXPORTER_OTLP_ENDPOINT = receiver.url;
  // The launcher passes this process's environment on to every service.
  saved = Object.fromEntries(Object.keys(OTEL).map((k) => [k, process.env[k]]));
  Object.assign(process.env, OTEL);
  dir = await mkdtemp(join(tmpdir(), "tessera-mesh-tracing-"));
  const topology = parseTopology(
    [
      "registry:",
      "  grpc_port: 0",
      "  http_port: 0",
      `  env: {TESSERA_REGISTRY_BUCKET: ${buckets.kv[0]}, TESSERA_ARTIFACT_BUCKET: ${buckets.objects[0]}}`,
      "router:",
      "  grpc_port: 0",
      "  http_port: 0",
      `  env: {TESSERA_ROUTER_AUTH: "off", TESSERA_ROUTES_BUCKET: ${buckets.kv[1]}}`,
      "monitoring:",
      "  grpc_port: 0",
      "  http_port: 0",
      `  env: {TESSERA_MONITORING_CONSUMER: ${uniqueName("mon")}}`,
      "feature: {grpc_port: 0, http_port: 0, online_store: memory}",
      "inference:",
      `  - {id: ${uniqueName("traced")}, serve: [${model}@production], grpc_port: 0, http_port: 0, env: {TESSERA_PREDICTION_LOG_SAMPLE_RATE: "1"}}`,
      "",
    ].join("\n"),
    "mesh-tracing topology",
  );
  mesh = await launchProcesses({ topology, natsUrl: testNatsUrl(), logDir: join(dir, "logs"), feature: { redisUrl: "redis://127.0.0.1:1", onlineStore: "memory" } });
}, 180_000);

afterAll(async () => {
  await mesh?.stop();
  for (const [k, v] of Object.entries(saved ?? {})) {
    if (v === undefined) delete process.env[k];
    else process.env[k] = v;
  }
  await receiver?.close();
  await dropBuckets(testNatsUrl(), buckets).catch(() => {});
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe("one trace across tessera up's processes, over OTLP/HTTP", () => {
  it("covers router → replica → feature fetch → the monitoring consumer of the prediction log", async () => {
    const up = mesh!;
    const registry = createMeshClient(RegistryService, { address: up.registry.grpcAddress, defaultTimeoutMs: 30_000 });
    const feature = createMeshClient(FeatureService, { address: up.feature!.grpcAddress, defaultTimeoutMs: 30_000 });
    const router = createMeshClient(RouterService, { address: up.router!.grpcAddress, defaultTimeoutMs: 30_000 });
    const inference = createMeshClient(InferenceService, { address: up.router!.grpcAddress, defaultTimeoutMs: 30_000 });
    try {
      const fraud = exampleModel("fraud");
      const row = fraud.sampleRow(1).get("features")!.data as Float32Array;
      await feature.client.applyDefinitions(fraudFeatureDefinitions(view));
      await feature.client.writeOnlineFeatures({ view, rows: [fraudFeatureRow("c1", row)] });
      await uploadModelVersion(registry.client, { model, createModel: true, aliases: ["production"], featureBinding: fraudFeatureBinding(view) }, fraud.build(), { timeoutMs: 30_000 });
      await router.client.setRoute({ route: { model, splits: [{ version: 1, weight: 100 }] } });

      // The replica loads the version and the router learns the route and the replica: poll until a call is split.
      const predict = (headers?: Record<string, string>) => {
        let decision: string | null = null;
        return inference.client
          .predict({ model, entityKeys: ["c1"] }, { headers, onHeader: (h) => (decision = h.get("x-tessera-route")) })
          .then(() => decision, () => null);
      };
      await expect.poll(() => predict(), { timeout: 120_000, interval: 500 }).toBe("split");

      const traceId = randomBytes(16).toString("hex");
      const callerSpan = randomBytes(8).toString("hex");
      expect(await predict({ traceparent: `00-${traceId}-${callerSpan}-01` })).toBe("split");

      const routerPath = /^tessera\.inference\.v1\.InferenceService\/Predict$/;
      const spans = () => ({
        routerServer: find(traceId, "tessera-router", SERVER, routerPath),
        routerClient: find(traceId, "tessera-router", CLIENT, routerPath),
        replicaServer: find(traceId, "tessera-inference", SERVER, routerPath),
        featureLookup: find(traceId, "tessera-inference", INTERNAL, /^feature lookup$/),
        featureFetch: find(traceId, "tessera-inference", INTERNAL, /^feature fetch$/),
        featureClient: find(traceId, "tessera-inference", CLIENT, /^tessera\.feature\.v1\.FeatureService\/GetOnlineFeatures$/),
        featureServer: find(traceId, "tessera-feature", SERVER, /^tessera\.feature\.v1\.FeatureService\/GetOnlineFeatures$/),
        consumer: find(traceId, "tessera-monitoring", CONSUMER, /^process tessera-predictions\./),
      });
      await expect
        .poll(() => Object.entries(spans()).filter(([, span]) => span === undefined).map(([name]) => name), { timeout: 60_000, interval: 200 })
        .toEqual([]);
      const s = spans() as { [K in keyof ReturnType<typeof spans>]-?: ReceivedSpan };

      // The tree, across four processes: caller → router server → router client → replica server → feature lookup → feature fetch
      // (its own, as the only caller in its batch) → feature client → feature server; the consumer under the replica's span.
      expect(s.routerServer.parentSpanId).toBe(callerSpan);
      expect(s.routerClient.parentSpanId).toBe(s.routerServer.spanId);
      expect(s.replicaServer.parentSpanId).toBe(s.routerClient.spanId);
      expect(s.featureLookup.parentSpanId).toBe(s.replicaServer.spanId);
      expect(s.featureFetch.parentSpanId).toBe(s.featureLookup.spanId);
      expect(s.featureClient.parentSpanId).toBe(s.featureFetch.spanId);
      expect(s.featureServer.parentSpanId).toBe(s.featureClient.spanId);
      expect(s.consumer.parentSpanId).toBe(s.replicaServer.spanId);

      const rpc = { "rpc.system": "grpc", "rpc.service": "tessera.inference.v1.InferenceService", "rpc.method": "Predict", "rpc.grpc.status_code": 0 };
      expect(attributesOf(s.routerServer)).toMatchObject({ ...rpc, "tessera.model": model, "tessera.version": 1, "tessera.route.decision": "split" });
      expect(attributesOf(s.routerClient)).toMatchObject({ ...rpc, "server.address": "127.0.0.1" });
      const replica = attributesOf(s.replicaServer);
      expect(replica).toMatchObject({ ...rpc, "tessera.model": model, "tessera.version": 1 });
      expect(replica["tessera.batch.size"]).toBeGreaterThanOrEqual(1);
      expect(replica["tessera.batch.id"]).toMatch(new RegExp(`^${model}/1/\\d+$`));
      expect(attributesOf(s.featureServer)).toMatchObject({ "rpc.system": "grpc", "rpc.service": "tessera.feature.v1.FeatureService", "rpc.method": "GetOnlineFeatures", "rpc.grpc.status_code": 0 });
      expect(attributesOf(s.consumer)).toMatchObject({ "messaging.system": "nats", "cloudevents.event_type": "tessera.events.v1.PredictionLog" });
    } finally {
      registry.close();
      feature.close();
      router.close();
      inference.close();
    }
  }, 240_000);

  it("traces an OIP REST infer through the router's REST proxy to the replica's REST route", async () => {
    // After the test above: the version is loaded and the router knows it.
    const traceId = randomBytes(16).toString("hex");
    const callerSpan = randomBytes(8).toString("hex");
    const answer = await fetch(`http://${mesh!.router!.httpAddress}/v2/models/${model}/infer`, {
      method: "POST",
      headers: { "content-type": "application/json", traceparent: `00-${traceId}-${callerSpan}-01` },
      body: JSON.stringify({ inputs: [{ name: "features", datatype: "FP32", shape: [1, 16], data: Array.from({ length: 16 }, () => 0.5) }] }),
    });
    expect(answer.status).toBe(200);
    const spans = () => ({
      routerServer: find(traceId, "tessera-router", SERVER, /^POST \/v2\/models\/\{name\}\/infer$/),
      routerClient: find(traceId, "tessera-router", CLIENT, /^POST$/),
      replicaServer: find(traceId, "tessera-inference", SERVER, /^POST \/v2\/models\/\{name\}(\/versions\/\{version\})?\/infer$/),
    });
    await expect
      .poll(() => Object.entries(spans()).filter(([, span]) => span === undefined).map(([name]) => name), { timeout: 60_000, interval: 200 })
      .toEqual([]);
    const s = spans() as { [K in keyof ReturnType<typeof spans>]-?: ReceivedSpan };
    expect(s.routerServer.parentSpanId).toBe(callerSpan);
    expect(s.routerClient.parentSpanId).toBe(s.routerServer.spanId);
    expect(s.replicaServer.parentSpanId).toBe(s.routerClient.spanId);
    expect(attributesOf(s.routerServer)).toMatchObject({ "http.request.method": "POST", "http.response.status_code": 200, "tessera.model": model, "tessera.route.decision": "split" });
    expect(attributesOf(s.replicaServer)).toMatchObject({ "http.response.status_code": 200, "tessera.model": model, "tessera.version": 1 });
  }, 120_000);
});
