import { Code } from "@connectrpc/connect";
import { context, SpanKind, trace, type Span } from "@opentelemetry/api";
import { InMemorySpanExporter, SimpleSpanProcessor, type ReadableSpan } from "@opentelemetry/sdk-trace";
import { Redis } from "ioredis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { FeatureService } from "../../libs/gen/tessera/feature/v1/feature_pb.js";
import { createMeshClient, type MeshClient } from "../../libs/host/index.js";
import { uploadModelVersion } from "../../libs/registry-client/index.js";
import { startTelemetry, type Telemetry } from "../../libs/telemetry/index.js";
import { startRedisServer, uniqueName, type RedisServerHandle } from "../../libs/testing/index.js";
import { exampleModel, fraudFeatureBinding, fraudFeatureDefinitions, fraudFeatureRow, FRAUD_VIEW } from "../../mesh/models/index.js";
import { FeatureLookup } from "../../services/inference/features/feature-lookup.js";
import { callOutcome } from "../support/call-outcome.js";
import { startTestFeature, type TestFeature } from "../support/feature-harness.js";
import { startTestReplica, type TestReplica } from "../support/inference-harness.js";
import { startTestRegistry, type TestRegistry } from "../support/registry-harness.js";

// A caller's own deadline and cancel reach the replica's batched feature reads, and each
// caller's span links to the one shared fetch. Redis is a private one this file can freeze
// (SIGSTOP): a feature service stuck on it answers nothing until it is let go (SIGCONT).
const fraud = exampleModel("fraud");
const rowOf = (seed: number) => fraud.sampleRow(seed).get("features")!.data as Float32Array;
const refs = fraudFeatureBinding().features!.map((f) => f.ref!);
const exporter = new InMemorySpanExporter();

/** How `promise` ended, or "still waiting" if it has not within a generous bound (a guard, not a timing). */
async function outcomeWithin(promise: Promise<unknown>, boundMs = 20_000): Promise<{ code: Code | "ok" | "still waiting"; message: string }> {
  let timer: NodeJS.Timeout | undefined;
  const bound = new Promise<{ code: "still waiting"; message: string }>((resolve) => (timer = setTimeout(() => resolve({ code: "still waiting", message: "" }), boundMs)));
  try {
    return await Promise.race([callOutcome(promise), bound]);
  } finally {
    clearTimeout(timer);
  }
}

async function until(condition: () => boolean, what: string): Promise<void> {
  for (let i = 0; i < 400 && !condition(); i++) await new Promise((resolve) => setTimeout(resolve, 50));
  if (!condition()) throw new Error(`still not true after 20 s: ${what}`);
}

describe("feature reads under the caller's deadline and cancel", () => {
  let telemetry: Telemetry;
  let redis: RedisServerHandle;
  let redisPid: number;
  let frozen = false;
  let registry: TestRegistry;
  let feature: TestFeature;
  let featureClient: MeshClient<typeof FeatureService>;
  let lookup: FeatureLookup;
  let replica: TestReplica;
  const model = uniqueName("fraud").replace(/_/g, "-");

  const freeze = () => {
    process.kill(redisPid, "SIGSTOP");
    frozen = true;
  };
  const thaw = () => {
    if (frozen) process.kill(redisPid, "SIGCONT");
    frozen = false;
  };

  beforeAll(async () => {
    telemetry = await startTelemetry({ serviceName: "feature-deadlines", spanProcessors: [new SimpleSpanProcessor({ exporter })], env: {} });
    redis = await startRedisServer();
    const admin = new Redis(redis.url);
    redisPid = Number(/process_id:(\d+)/.exec(await admin.info("server"))![1]);
    admin.disconnect();
    // Redis commands wait as long as it takes: only the callers' deadlines may end a read here.
    feature = await startTestFeature({ online: { url: redis.url, commandTimeoutMs: 120_000 } });
    await feature.client.applyDefinitions(fraudFeatureDefinitions());
    await feature.client.writeOnlineFeatures({ view: FRAUD_VIEW, rows: [fraudFeatureRow("c1", rowOf(1)), fraudFeatureRow("c2", rowOf(2))] });
    registry = await startTestRegistry();
    await uploadModelVersion(registry.client, { model, createModel: true, aliases: ["production"], featureBinding: fraudFeatureBinding() }, fraud.build());
    featureClient = createMeshClient(FeatureService, { address: feature.host.grpcAddress });
    // Far longer than any caller's deadline below, so that the caller's is what counts.
    lookup = new FeatureLookup(featureClient.client, { timeoutMs: 60_000 });
    replica = await startTestReplica(registry, { serve: [{ model, alias: "production" }], features: lookup });
    // Warm: the view definitions are read once and kept.
    expect((await replica.client.predict({ model, entityKeys: ["c1"] })).outputs[0]!.floatData).toHaveLength(1);
  });

  afterAll(async () => {
    thaw();
    await replica?.stop();
    featureClient?.close();
    await feature?.stop();
    await registry?.stop();
    await redis?.stop();
    await telemetry?.shutdown();
  });

  it("answers a caller that cancels CANCELLED at once, while the others in its batch still get their rows", async () => {
    const sentBefore = lookup.calls;
    freeze();
    try {
      const cancel = new AbortController();
      const leaving = lookup.read(refs, ["c1"], { signal: cancel.signal });
      const staying = lookup.read(refs, ["c2"]);
      let stayed = false;
      void staying.then(() => (stayed = true), () => (stayed = true));
      await until(() => lookup.calls === sentBefore + 1, "the shared read was sent");
      cancel.abort();
      expect((await outcomeWithin(leaving)).code).toBe(Code.Canceled);
      expect(stayed).toBe(false);
      thaw();
      const columns = await staying;
      expect(columns[0]!.values.map((v) => v.kind.value)).toEqual([Math.fround(rowOf(2)[0]!)]);
      expect(lookup.calls).toBe(sentBefore + 1);
    } finally {
      thaw();
    }
  });

  it("answers a caller whose deadline passes DEADLINE_EXCEEDED, and drops the shared read once nobody waits on it", async () => {
    const abandonedBefore = lookup.abandoned;
    freeze();
    try {
      const outcome = await outcomeWithin(lookup.read(refs, ["c1"], { timeoutMs: 200 }));
      expect(outcome.code).toBe(Code.DeadlineExceeded);
      expect(outcome.message).toMatch(/deadline \(200 ms\) passed while its features were being read/);
      expect(lookup.abandoned).toBe(abandonedBefore + 1);
    } finally {
      thaw();
    }
  });

  it("passes a Predict's deadline on to its feature read: DEADLINE_EXCEEDED, and no read left waiting on a stuck feature service", async () => {
    const abandonedBefore = lookup.abandoned;
    freeze();
    try {
      const outcome = await outcomeWithin(replica.client.predict({ model, entityKeys: ["c2"] }, { timeoutMs: 500 }));
      expect(outcome.code).toBe(Code.DeadlineExceeded);
      await until(() => lookup.abandoned === abandonedBefore + 1, "the replica dropped the shared read");
    } finally {
      thaw();
    }
    expect((await replica.client.predict({ model, entityKeys: ["c2"] })).outputs[0]!.floatData).toHaveLength(1);
  });

  describe("spans", () => {
    const spans = () => exporter.getFinishedSpans();
    const linkedIds = (span: ReadableSpan) => (span.links ?? []).map((link) => link.context.spanId);
    const underRoot = (name: string, fn: () => Promise<unknown>): { root: Span; done: Promise<unknown> } => {
      const root = trace.getTracer("test").startSpan(name);
      const done = context.with(trace.setSpan(context.active(), root), fn).finally(() => root.end());
      return { root, done };
    };

    it("gives callers that share a fetch each a lookup span in its own trace, linked both ways to the fetch, a trace of its own under which the GetOnlineFeatures goes out", async () => {
      exporter.reset();
      const sentBefore = lookup.calls;
      // Two callers in one turn: one batch.
      const a = underRoot("caller a", () => lookup.read(refs, ["c1"]));
      const b = underRoot("caller b", () => lookup.read(refs, ["c2"]));
      await Promise.all([a.done, b.done]);
      expect(lookup.calls).toBe(sentBefore + 1);
      await until(() => spans().some((s) => s.name === "feature fetch"), "the fetch span ended");
      const fetch = spans().find((s) => s.name === "feature fetch")!;
      const lookups = spans().filter((s) => s.name === "feature lookup");
      expect(lookups.map((s) => s.parentSpanContext?.spanId).sort()).toEqual([a.root.spanContext().spanId, b.root.spanContext().spanId].sort());
      for (const span of lookups) {
        expect(linkedIds(span)).toEqual([fetch.spanContext().spanId]);
        expect(span.spanContext().traceId).not.toBe(fetch.spanContext().traceId);
      }
      // The fetch belongs to no one caller: a trace of its own, linked to each.
      expect(fetch.parentSpanContext).toBeUndefined();
      expect(linkedIds(fetch).sort()).toEqual(lookups.map((s) => s.spanContext().spanId).sort());
      const rpc = spans().find((s) => s.kind === SpanKind.CLIENT && s.name.endsWith("/GetOnlineFeatures"));
      expect(rpc?.parentSpanContext?.spanId).toBe(fetch.spanContext().spanId);
    });

    it("keeps a lone Predict's feature hop in its own trace: server span → lookup → fetch → GetOnlineFeatures", async () => {
      exporter.reset();
      const call = underRoot("client", () => replica.client.predict({ model, entityKeys: ["c1"] }));
      await call.done;
      const traceId = call.root.spanContext().traceId;
      await until(() => spans().some((s) => s.name === "feature lookup" && s.spanContext().traceId === traceId), "the lookup span ended");
      const lookupSpan = spans().find((s) => s.name === "feature lookup" && s.spanContext().traceId === traceId)!;
      const parent = spans().find((s) => s.spanContext().spanId === lookupSpan.parentSpanContext?.spanId);
      expect(parent?.kind).toBe(SpanKind.SERVER);
      expect(parent?.name).toMatch(/\/Predict$/);
      await until(() => spans().some((s) => s.name === "feature fetch" && s.spanContext().traceId === traceId), "the fetch span ended");
      const fetch = spans().find((s) => s.name === "feature fetch" && s.spanContext().traceId === traceId)!;
      expect(fetch.parentSpanContext?.spanId).toBe(lookupSpan.spanContext().spanId);
      const rpc = spans().find((s) => s.kind === SpanKind.CLIENT && s.name.endsWith("/GetOnlineFeatures") && s.spanContext().traceId === traceId);
      expect(rpc?.parentSpanContext?.spanId).toBe(fetch.spanContext().spanId);
    });
  });
});
