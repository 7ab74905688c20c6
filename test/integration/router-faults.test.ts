import { spawn, type ChildProcess } from "node:child_process";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Code } from "@connectrpc/connect";
import { DataType } from "../../libs/gen/tessera/registry/v1/signature_pb.js";
import { uploadModelVersion } from "../../libs/registry-client/index.js";
import { startNatsServer, testNatsUrl, uniqueName, type NatsServerHandle } from "../../libs/testing/index.js";
import { REPLICAS_BUCKET } from "../../libs/membership/index.js";
import { repoRoot } from "../../mesh/launcher/repo-root.js";
import { exampleModel } from "../../mesh/models/index.js";
import { startHangingReplica } from "../support/hanging-replica.js";
import { startTestReplica, type TestReplica } from "../support/inference-harness.js";
import { startTestRegistry, type TestRegistry } from "../support/registry-harness.js";
import { startTestRouter, type TestRouter } from "../support/router-harness.js";
import { failure } from "../support/call-outcome.js";

const fraud = exampleModel("fraud");
const fraudBytes = fraud.build();
const input = { name: "features", dtype: DataType.FLOAT32, shape: [1n, 16n], floatData: Array.from(fraud.sampleRow(1).get("features")!.data as Float32Array) };

async function until(check: () => boolean | Promise<boolean>, limitMs = 10_000): Promise<void> {
  for (let waited = 0; waited < limitMs; waited += 50) {
    if (await check()) return;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error(`condition not met in ${limitMs} ms`);
}

describe("router faults", () => {
  let registry: TestRegistry;

  beforeAll(async () => {
    registry = await startTestRegistry({ mode: "nats" });
  });
  afterAll(async () => {
    await registry?.stop();
  });

  it("answers DEADLINE_EXCEEDED for a replica that hangs, bounds its call by the caller's deadline, then ejects it", async () => {
    const model = uniqueName("hang").replace(/_/g, "-");
    const membershipBucket = uniqueName("replicas");
    const router = await startTestRouter(registry, { routesBucket: uniqueName("routes"), membershipBucket, config: { ejectAfterFailures: 2, maxEjectedPercent: 100 } });
    const hanging = await startHangingReplica(router.membership, model, "hanging-1");
    try {
      await until(() => router.router.table.serving(model, { version: 1 }).length === 1);
      for (let i = 0; i < 2; i++) {
        const before = Date.now();
        const error = await failure(router.client.predict({ model, version: 1, inputs: [input] }, { timeoutMs: 300 }));
        expect(error.code).toBe(Code.DeadlineExceeded);
        // The hop got the caller's deadline (each hop re-anchors it on arrival),
        // not the router's 30 s default.
        expect(hanging.deadlines[i]!).toBeLessThan(before + 10_000);
      }
      // The router sees the hop fail just after the caller does.
      await until(() => router.router.dispatcher.outliers.isEjected("hanging-1", Date.now()), 30_000);
      expect(await router.router.host.metrics.getSingleMetricAsString("tessera_router_ejections_total")).toContain('replica="hanging-1"');
    } finally {
      await hanging.stop();
      await router.stop();
    }
  });

  it("cancels the upstream call when the caller cancels", async () => {
    const model = uniqueName("cancel").replace(/_/g, "-");
    const router = await startTestRouter(registry, { routesBucket: uniqueName("routes"), membershipBucket: uniqueName("replicas") });
    const hanging = await startHangingReplica(router.membership, model, "hanging-2");
    try {
      await until(() => router.router.table.serving(model, { version: 1 }).length === 1);
      const controller = new AbortController();
      const call = failure(router.client.predict({ model, version: 1, inputs: [input] }, { signal: controller.signal }));
      await until(() => hanging.received === 1);
      controller.abort();
      expect((await call).code).toBe(Code.Canceled);
      await until(() => hanging.cancelled === 1);
    } finally {
      await hanging.stop();
      await router.stop();
    }
  });

  it("does not count a caller's late cancel against a replica that then answers in time", async () => {
    const model = uniqueName("latecancel").replace(/_/g, "-");
    const router = await startTestRouter(registry, { routesBucket: uniqueName("routes"), membershipBucket: uniqueName("replicas"), config: { ejectAfterFailures: 1, maxEjectedPercent: 100 } });
    const hanging = await startHangingReplica(router.membership, model, "hanging-3");
    try {
      await until(() => router.router.table.serving(model, { version: 1 }).length === 1);
      const controller = new AbortController();
      const call = failure(router.client.predict({ model, version: 1, inputs: [input] }, { timeoutMs: 6_000, signal: controller.signal }));
      await until(() => hanging.received === 1);
      // Into the hop's second half and its last second (the replica's deadline is the hop's), as a caller's lapsing deadline would be.
      const hopDeadline = hanging.deadlines[0]!;
      await until(() => Date.now() >= hopDeadline - 900, 20_000);
      controller.abort();
      expect((await call).code).toBe(Code.Canceled);
      // Give a router that wrongly cancels upstream (and blames the replica) the moment it needs to do so, bounded.
      await until(() => hanging.cancelled > 0 || router.router.dispatcher.outstanding("hanging-3") === 0, 300).catch(() => undefined);
      hanging.answerPending();
      await until(() => router.router.dispatcher.outstanding("hanging-3") === 0);
      expect(hanging.cancelled).toBe(0);
      expect(router.router.dispatcher.outliers.isEjected("hanging-3", Date.now())).toBe(false);
      expect(await router.router.host.metrics.getSingleMetricAsString("tessera_router_ejections_total")).not.toContain('replica="hanging-3"');
    } finally {
      await hanging.stop();
      await router.stop();
    }
  });

  it("keeps serving its last known routes and membership while NATS is down, and says so", async () => {
    const nats: NatsServerHandle = await startNatsServer({ jetstream: true });
    const privateRegistry = await startTestRegistry({ mode: "nats", natsUrl: nats.url });
    const model = uniqueName("natsdown").replace(/_/g, "-");
    const membershipBucket = uniqueName("replicas");
    let replica: TestReplica | undefined;
    let router: TestRouter | undefined;
    try {
      await uploadModelVersion(privateRegistry.client, { model, createModel: true, aliases: ["production"] }, fraudBytes);
      const saved = process.env.NATS_URL;
      process.env.NATS_URL = nats.url;
      try {
        replica = await startTestReplica(privateRegistry, { serve: [{ model, version: 1 }], membershipBucket });
      } finally {
        process.env.NATS_URL = saved;
      }
      router = await startTestRouter(privateRegistry, { routesBucket: uniqueName("routes"), membershipBucket, natsUrl: nats.url, config: { staleAfterMs: 300 } });
      await router.routes.setRoute({ route: { model, splits: [{ version: 1, weight: 100 }] } });
      await until(() => router!.router.table.serving(model, { version: 1 }).length === 1);
      await nats.stop({ keepStore: true });
      await until(async () => ((await (await fetch(`${router!.httpUrl}/router/status`)).json()) as { nats: string }).nats.startsWith("disconnected"));
      // Longer than staleAfterMs, and a sweep: nothing expires while no heartbeat can arrive.
      await new Promise((resolve) => setTimeout(resolve, 1_500));
      const response = await router.client.predict({ model, inputs: [input] });
      expect(response.version).toBe(1);
      expect(await router.router.host.metrics.getSingleMetricAsString("tessera_router_nats_connected")).toMatch(/tessera_router_nats_connected 0/);
    } finally {
      await router?.stop().catch(() => {});
      await replica?.stop().catch(() => {});
      await privateRegistry.stop().catch(() => {});
      await nats.stop();
    }
  }, 60_000);

  it("loses no Predict when one of two replica processes is killed under load, and stops routing to it", async () => {
    const model = uniqueName("kill").replace(/_/g, "-");
    await uploadModelVersion(registry.client, { model, createModel: true, aliases: ["production"] }, fraudBytes);
    const spawnReplica = (id: string): ChildProcess =>
      spawn(process.execPath, [join(repoRoot(), "dist", "services", "inference", "main.js")], {
        env: {
          ...process.env,
          NATS_URL: testNatsUrl(),
          TESSERA_REGISTRY_ADDRESS: registry.host.grpcAddress,
          TESSERA_INFERENCE_GRPC_PORT: "0",
          TESSERA_INFERENCE_HTTP_PORT: "0",
          TESSERA_SERVE: `${model}@1`,
          TESSERA_REPLICA_ID: id,
          TESSERA_INTRA_OP_THREADS: "1",
          TESSERA_LOG_LEVEL: "warn",
        },
        stdio: "ignore",
      });
    const children = [spawnReplica(`${model}-a`), spawnReplica(`${model}-b`)];
    const router = await startTestRouter(registry, { routesBucket: uniqueName("routes"), membershipBucket: REPLICAS_BUCKET, config: { staleAfterMs: 15_000 } });
    try {
      await until(() => router.router.table.serving(model, { version: 1 }).length === 2, 30_000);
      let stop = false;
      let errors = 0;
      let answered = 0;
      const load = Array.from({ length: 4 }, async () => {
        while (!stop) {
          try {
            await router.client.predict({ model, inputs: [input] }, { timeoutMs: 5_000 });
            answered++;
          } catch {
            errors++;
          }
        }
      });
      await until(() => answered >= 50, 30_000);
      children[0]!.kill("SIGKILL");
      const killedAt = answered;
      await until(() => answered >= killedAt + 200, 30_000);
      // The dead one leaves the table when its heartbeats stop (TTL + a sweep).
      await until(() => router.router.table.all().every((r) => r.replicaId !== `${model}-a`), 30_000);
      stop = true;
      await Promise.all(load);
      expect(errors).toBe(0);
      expect(router.router.table.serving(model, { version: 1 }).map((r) => r.replicaId)).toEqual([`${model}-b`]);
    } finally {
      children.forEach((child) => child.kill("SIGTERM"));
      await router.stop();
    }
  }, 90_000);
});
