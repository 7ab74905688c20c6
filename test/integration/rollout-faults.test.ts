import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { existsSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fromBinary } from "@bufbuild/protobuf";
import { Kvm } from "@nats-io/kv";
import { connect, type NatsConnection } from "@nats-io/transport-node";
import { consumeEvents } from "../../libs/events/index.js";
import { RolloutPromotedSchema, RolloutRolledBackSchema, RolloutSteppedSchema } from "../../libs/gen/tessera/events/v1/rollout_events_pb.js";
import { MonitoringService } from "../../libs/gen/tessera/monitoring/v1/monitoring_pb.js";
import { RolloutPhase, type Rollout } from "../../libs/gen/tessera/monitoring/v1/rollouts_pb.js";
import { DataType } from "../../libs/gen/tessera/registry/v1/signature_pb.js";
import { RouteSchema } from "../../libs/gen/tessera/router/v1/router_pb.js";
import { createMeshClient, type MeshClient } from "../../libs/host/index.js";
import { natsPredictionLogTransport } from "../../libs/prediction-log/index.js";
import { uploadModelVersion } from "../../libs/registry-client/index.js";
import { startNatsServer, uniqueName, type NatsServerHandle } from "../../libs/testing/index.js";
import { spawnChildService, type ChildService } from "../../mesh/launcher/child-service.js";
import { repoRoot } from "../../mesh/launcher/repo-root.js";
import { exampleModel } from "../../mesh/models/index.js";
import { ROLLOUT_LEASES_BUCKET, ROLLOUTS_BUCKET } from "../../services/monitoring/start-monitoring.js";
import { startTestReplica, type TestReplica } from "../support/inference-harness.js";
import { startTestRegistry, type TestRegistry } from "../support/registry-harness.js";
import { startTestRouter, type TestRouter } from "../support/router-harness.js";

// The monitoring service as `tessera up` runs it (built dist/), killed and
// restarted for real, over a private nats-server this file stops and starts.
const entry = join(repoRoot(), "dist", "services", "monitoring", "main.js");
const fraud = exampleModel("fraud");
const fraudBytes = fraud.build();
const features = Array.from(fraud.sampleRow(1).get("features")!.data as Float32Array);
const input = { name: "features", dtype: DataType.FLOAT32, shape: [1n, 16n], floatData: features };
const LEASE_MS = 3_000;

/** Polls `check` until it holds, failing with `what` after `timeoutMs` (a bound, not an expectation of speed). */
async function until(what: string, check: () => Promise<boolean> | boolean, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await Promise.resolve().then(check).catch(() => false))) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

interface Observed {
  id: string;
  kind: "step" | "promoted" | "rolled_back";
  weight?: number;
}

describe("a rollout through real faults", () => {
  let dir: string;
  let nats: NatsServerHandle;
  let nc: NatsConnection;
  let registry: TestRegistry;
  let replica: TestReplica;
  let router: TestRouter;
  let routesBucket: string;
  const membershipBucket = uniqueName("replicas");
  const children: ChildService[] = [];
  let traffic = true;
  const sending: Promise<void>[] = [];

  function startController(name: string): { child: ChildService; client: Promise<MeshClient<typeof MonitoringService>> } {
    const child = spawnChildService({
      name,
      entry,
      logFile: join(dir, `${name}.log`),
      env: {
        NATS_URL: nats.url,
        TESSERA_REGISTRY_ADDRESS: registry.host.grpcAddress,
        TESSERA_ROUTER_ADDRESS: router.grpcAddress,
        TESSERA_MONITORING_GRPC_PORT: "0",
        TESSERA_MONITORING_HTTP_PORT: "0",
        TESSERA_MONITORING_REPORT_INTERVAL_MS: "3600000",
        TESSERA_ROLLOUT_TICK_MS: "200",
        TESSERA_ROLLOUT_LEASE_MS: String(LEASE_MS),
        TESSERA_LOG_LEVEL: "info",
      },
    });
    children.push(child);
    return { child, client: child.listening.then((addresses) => createMeshClient(MonitoringService, { address: addresses.grpc })) };
  }

  /** A fresh model with versions 1 (production), 2 and 3, served, routed all to 1, with traffic. */
  async function freshModel(prefix: string): Promise<string> {
    const model = uniqueName(prefix).replace(/_/g, "-");
    for (let v = 1; v <= 3; v++) await uploadModelVersion(registry.client, { model, createModel: v === 1, aliases: v === 1 ? ["production"] : [] }, fraudBytes);
    return model;
  }

  /** Runs `fault` as soon as the route of `model` is written with the candidate at `weight` %; resolves after it. */
  async function onRouteWrite(model: string, weight: number, fault: () => unknown): Promise<{ done: Promise<void> }> {
    const watch = await (await new Kvm(nc).open(routesBucket)).watch({ key: model });
    const done = (async () => {
      for await (const e of watch) {
        if (e.operation !== "PUT") continue;
        const splits = fromBinary(RouteSchema, e.value).splits;
        if (splits.some((s) => s.version !== 1 && s.weight === weight)) {
          await fault();
          break;
        }
      }
      watch.stop();
    })();
    return { done };
  }

  /** Every write the route of `model` has had, oldest first, from its KV history (the router's bucket keeps 5). */
  async function routeHistory(model: string): Promise<Record<number, number>[]> {
    const kv = await new Kvm(nc).open(routesBucket);
    const out: Record<number, number>[] = [];
    for await (const e of await kv.history({ key: model })) {
      if (e.operation !== "PUT") continue;
      out.push(Object.fromEntries(fromBinary(RouteSchema, e.value).splits.map((s) => [s.version, s.weight])));
    }
    return out;
  }

  /**
   * The rollout events of `model` the events stream holds once it holds its
   * promotion, each once (a retried publish carries the same CloudEvent id).
   */
  async function rolloutEvents(model: string): Promise<Observed[]> {
    const out: Observed[] = [];
    const record = (kind: Observed["kind"]) => (e: { id: string; message: { model: string; weight?: number } }) =>
      void (e.message.model === model && out.push({ id: e.id, kind, ...(kind === "step" ? { weight: e.message.weight } : {}) }));
    const stop = await consumeEvents(nc, {
      durable: uniqueName("rollout-events"),
      pattern: "tessera.monitoring.rollout.>",
      schemas: [RolloutSteppedSchema, RolloutPromotedSchema, RolloutRolledBackSchema],
      startAt: "all",
      handler: (e) => {
        const kind = e.type === RolloutSteppedSchema.typeName ? "step" : e.type === RolloutPromotedSchema.typeName ? "promoted" : "rolled_back";
        record(kind)(e as { id: string; message: { model: string; weight?: number } });
      },
    });
    try {
      await until(`the promotion of ${model} in the events stream`, () => out.some((o) => o.kind !== "step"));
    } finally {
      await stop();
    }
    return [...new Map(out.map((o) => [o.id, o])).values()];
  }

  async function settled(client: MeshClient<typeof MonitoringService>, model: string): Promise<Rollout> {
    let rollout: Rollout | undefined;
    await until(`the rollout of ${model} to end`, async () => {
      rollout = (await client.client.getRollout({ model }, { timeoutMs: 5_000 })).rollout;
      return rollout !== undefined && rollout.phase !== RolloutPhase.PROGRESSING;
    }, 90_000);
    return rollout!;
  }

  beforeAll(async () => {
    if (!existsSync(entry)) throw new Error(`${entry} is missing: run \`npm run build\` first (\`npm test\` does)`);
    dir = await mkdtemp(join(tmpdir(), "tessera-rollout-faults-"));
    nats = await startNatsServer({ jetstream: true });
    nc = await connect({ servers: nats.url, name: "test-rollout-faults", maxReconnectAttempts: -1, reconnectTimeWait: 200 });
    registry = await startTestRegistry({ mode: "nats", natsUrl: nats.url });
    routesBucket = uniqueName("routes");
    router = await startTestRouter(registry, { routesBucket, membershipBucket, natsUrl: nats.url });
  });

  afterAll(async () => {
    traffic = false;
    await Promise.all(sending);
    for (const child of children) await child.stop();
    await replica?.stop();
    await router?.stop();
    await registry?.stop();
    await nc?.close();
    await nats?.stop();
    if (dir && process.env.TESSERA_KEEP_TEST_LOGS === undefined) await rm(dir, { recursive: true, force: true });
  });

  /** Serves the model's three versions and sends it steady traffic through the router. */
  async function serveWithTraffic(model: string): Promise<void> {
    await replica?.stop();
    replica = await startTestReplica(registry, {
      natsUrl: nats.url,
      serve: [1, 2, 3].map((version) => ({ model, version })),
      membershipBucket,
      predictionLogs: { transport: natsPredictionLogTransport(nc), policy: { sampleRate: 1, inputRows: 0 } },
    });
    await until("the router to see the replica", () => [1, 2, 3].every((version) => router.router.table.serving(model, { version }).length === 1));
    await router.routes.setRoute({ route: { model, splits: [{ version: 1, weight: 100 }] }, expectedRevision: 0n });
    sending.push(
      (async () => {
        while (traffic) {
          await router.client.predict({ model, inputs: [input] }, { timeoutMs: 5_000 }).catch(() => undefined);
          await new Promise((resolve) => setTimeout(resolve, 10));
        }
      })(),
    );
  }

  it("a controller SIGKILLed mid-rollout is replaced by one that takes the lease after its TTL and finishes, applying each step once", async () => {
    const model = await freshModel("killed");
    await serveWithTraffic(model);
    const first = startController("monitoring-a");
    const a = await first.client;

    // Killed the moment its 50 % write lands in the router's KV: between that write and
    // its own state write if the timing allows — the worst moment to die.
    const killing = await onRouteWrite(model, 50, () => process.kill(first.child.pid!, "SIGKILL"));
    const leases = new Kvm(nc);
    await a.client.startRollout({ model, candidate: 2, steps: [20, 50, 100], stepIntervalMs: 1000n, analysis: { minRequests: 3, minSuccessRate: 0.5, maxP99Ms: 60_000 } });
    await killing.done;
    expect(await first.child.exited).toMatchObject({ signal: "SIGKILL" });
    const leaseKv = await leases.open(ROLLOUT_LEASES_BUCKET);
    const deadLease = await leaseKv.get(model);
    expect(deadLease?.operation).toBe("PUT");
    const deadOwner = deadLease!.string();

    const second = startController("monitoring-b");
    const b = await second.client;
    const rollout = await settled(b, model);
    expect({ phase: RolloutPhase[rollout.phase], reason: rollout.reason }).toEqual({ phase: "PROMOTED", reason: "" });

    // The new process drove it under a lease of its own, taken once the dead one's had expired.
    const liveLease = await leaseKv.get(model);
    expect(liveLease?.string()).not.toBe(deadOwner);
    expect(liveLease!.created.getTime()).toBeGreaterThanOrEqual(deadLease!.created.getTime() + LEASE_MS);

    // Every step written exactly once, in order: nothing repeated, nothing skipped.
    expect(await routeHistory(model)).toEqual([{ 1: 100 }, { 1: 80, 2: 20 }, { 1: 50, 2: 50 }, { 1: 0, 2: 100 }]);
    expect(await rolloutEvents(model)).toEqual([
      expect.objectContaining({ kind: "step", weight: 20 }),
      expect.objectContaining({ kind: "step", weight: 50 }),
      expect.objectContaining({ kind: "step", weight: 100 }),
      expect.objectContaining({ kind: "promoted" }),
    ]);
    const { modelVersion } = await registry.client.getModelVersion({ version: { model, selector: { case: "alias", value: "production" } } });
    expect(modelVersion?.version).toBe(2);
    const state = await (await leases.open(ROLLOUTS_BUCKET)).get(model);
    expect(JSON.parse(state!.string())).toMatchObject({ phase: "promoted" });
    await second.child.stop();
  }, 180_000);

  it("a rollout carries on and finishes correctly when NATS restarts under it", async () => {
    const model = await freshModel("natsrestart");
    await serveWithTraffic(model);
    const controller = startController("monitoring-c");
    const client = await controller.client;
    // NATS goes the moment the 50 % write lands in the router's KV, so the controller's own
    // state write after it has nowhere to go: the half-applied step an outage can leave.
    const stopped = await onRouteWrite(model, 50, () => nats.stop({ signal: "SIGKILL", keepStore: true }));
    await client.client.startRollout({ model, candidate: 3, steps: [25, 50, 100], stepIntervalMs: 1000n, analysis: { minRequests: 3, minSuccessRate: 0.5, maxP99Ms: 60_000 } });
    await stopped.done;
    // Out until the controller itself cannot read its rollouts (its ticks fail the same way).
    await until("the controller to lose its KV", () =>
      client.client.getRollout({ model }, { timeoutMs: 10_000 }).then(
        () => false,
        () => true,
      ),
    );
    await nats.restart();

    const rollout = await settled(client, model);
    expect({ phase: RolloutPhase[rollout.phase], reason: rollout.reason }).toEqual({ phase: "PROMOTED", reason: "" });
    expect(await routeHistory(model)).toEqual([{ 1: 100 }, { 1: 75, 3: 25 }, { 1: 50, 3: 50 }, { 1: 0, 3: 100 }]);
    // Events published while NATS was away are retried, never skipped; a retry carries the same id.
    expect((await rolloutEvents(model)).map((o) => o.kind === "step" ? o.weight : o.kind)).toEqual([25, 50, 100, "promoted"]);
    const { modelVersion } = await registry.client.getModelVersion({ version: { model, selector: { case: "alias", value: "production" } } });
    expect(modelVersion?.version).toBe(3);
  }, 180_000);
});
