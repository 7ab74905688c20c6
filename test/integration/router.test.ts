import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Code } from "@connectrpc/connect";
import { DataType } from "../../libs/gen/tessera/registry/v1/signature_pb.js";
import { uploadModelVersion } from "../../libs/registry-client/index.js";
import { uniqueName } from "../../libs/testing/index.js";
import { exampleModel } from "../../mesh/models/index.js";
import { startTestReplica, type TestReplica } from "../support/inference-harness.js";
import { startTestRegistry, type TestRegistry } from "../support/registry-harness.js";
import { startTestRouter, type TestRouter } from "../support/router-harness.js";
import { silentLogger } from "../../libs/log/index.js";
import { readAuthFile } from "../../services/router/auth/auth-file.js";
import { KeyAuthorizer } from "../../services/router/auth/key-authorizer.js";
import { failure } from "../support/call-outcome.js";

const fraud = exampleModel("fraud");
const fraudBytes = fraud.build();
const features = Array.from(fraud.sampleRow(1).get("features")!.data as Float32Array);
const input = { name: "features", dtype: DataType.FLOAT32, shape: [1n, 16n], floatData: features };

/** Predict through a client, returning the answer and the router's response headers. */
async function predictWithHeaders(client: TestRouter["client"], request: Parameters<TestRouter["client"]["predict"]>[0], headers: Record<string, string> = {}) {
  let header = new Headers();
  const response = await client.predict(request, { headers, onHeader: (h) => (header = h) });
  return { response, header };
}

describe("router", () => {
  let registry: TestRegistry;
  let replicas: TestReplica[];
  let router: TestRouter;
  let second: TestRouter;
  let model: string;
  let lonely: string;
  const routesBucket = uniqueName("routes");
  const membershipBucket = uniqueName("replicas");

  beforeAll(async () => {
    registry = await startTestRegistry({ mode: "nats" });
    model = uniqueName("fraud").replace(/_/g, "-");
    lonely = uniqueName("lonely").replace(/_/g, "-");
    for (let v = 1; v <= 3; v++) await uploadModelVersion(registry.client, { model, createModel: v === 1, aliases: v === 1 ? ["production"] : [] }, fraudBytes);
    await uploadModelVersion(registry.client, { model: lonely, createModel: true }, fraudBytes);
    // Two replicas serving versions 1 and 2; version 3 exists but nobody serves it.
    replicas = await Promise.all(
      [0, 1].map(() =>
        startTestReplica(registry, {
          serve: [
            { model, alias: "production" },
            { model, version: 2 },
          ],
          membershipBucket,
        }),
      ),
    );
    router = await startTestRouter(registry, { routesBucket, membershipBucket });
    second = await startTestRouter(registry, { routesBucket, membershipBucket });
    // Membership arrives by watch; wait until both routers see both replicas.
    for (const r of [router, second]) await until(() => r.router.table.serving(model, { version: 2 }).length === 2);
  });

  afterAll(async () => {
    await second?.stop();
    await router?.stop();
    await Promise.all((replicas ?? []).map((r) => r.stop()));
    await registry?.stop();
  });

  it("forwards Predict over gRPC and says which replica answered", async () => {
    const { response, header } = await predictWithHeaders(router.client, { model, inputs: [input] });
    const direct = await replicas[0]!.client.predict({ model, inputs: [input] });
    expect(response.outputs[0]!.floatData).toEqual(direct.outputs[0]!.floatData);
    expect(response.version).toBe(1);
    expect(replicas.map((r) => r.replica.host.grpcAddress)).toContain(router.router.table.all().find((r) => r.replicaId === header.get("x-tessera-replica"))?.grpcAddress);
    expect(header.get("x-tessera-route")).toBe("direct");
  });

  it("honours a version the request names, without a route", async () => {
    const response = await router.client.predict({ model, version: 2, inputs: [input] });
    expect(response.version).toBe(2);
  });

  it("answers NOT_FOUND for a model nothing serves and no route names", async () => {
    const error = await failure(router.client.predict({ model: "no-such-model", inputs: [input] }));
    expect(error.code).toBe(Code.NotFound);
    expect(error.rawMessage).toContain("no-such-model");
  });

  it("passes a replica's own error through (a bad tensor is INVALID_ARGUMENT)", async () => {
    const error = await failure(router.client.predict({ model, inputs: [{ ...input, shape: [1n, 3n] }] }));
    expect(error.code).toBe(Code.InvalidArgument);
  });

  describe("routes", () => {
    it("refuses weights that do not sum to 100", async () => {
      const error = await failure(router.routes.setRoute({ route: { model, splits: [{ version: 1, weight: 50 }, { version: 2, weight: 40 }] } }));
      expect(error.code).toBe(Code.InvalidArgument);
      expect(error.rawMessage).toContain("sum to 90");
    });

    it("refuses a route naming a version the registry does not have", async () => {
      const error = await failure(router.routes.setRoute({ route: { model, splits: [{ version: 9, weight: 100 }] } }));
      expect(error.code).toBe(Code.FailedPrecondition);
      expect(error.rawMessage).toContain("version 9");
    });

    it("answers NOT_FOUND for a model without a route", async () => {
      expect((await failure(router.routes.getRoute({ model: "no-route" }))).code).toBe(Code.NotFound);
    });

    it("sets with compare-and-set, and every router follows the change", async () => {
      const { route } = await router.routes.setRoute({ route: { model, splits: [{ version: 2, weight: 100 }] } });
      expect(route?.revision).toBeGreaterThan(0n);
      expect((await failure(router.routes.setRoute({ route: { model, splits: [{ version: 1, weight: 100 }] } }))).code).toBe(Code.AlreadyExists);
      expect((await failure(router.routes.setRoute({ route: { model, splits: [{ version: 1, weight: 100 }] }, expectedRevision: route!.revision + 100n }))).code).toBe(Code.Aborted);
      await until(() => second.router.routes.get(model)?.revision === route!.revision);
      for (const r of [router, second]) {
        const { response, header } = await predictWithHeaders(r.client, { model, inputs: [input] });
        expect(response.version).toBe(2);
        expect(header.get("x-tessera-route")).toBe("split");
        expect(header.get("x-tessera-version")).toBe("2");
      }
      expect((await router.routes.listRoutes({})).routes.map((r) => r.model)).toContain(model);
    });

    it("keeps a sticky key on one version, the same on every router", async () => {
      const { route } = await router.routes.getRoute({ model });
      const { route: split } = await router.routes.setRoute({ route: { model, splits: [{ version: 1, weight: 50 }, { version: 2, weight: 50 }] }, expectedRevision: route!.revision });
      await until(() => second.router.routes.get(model)?.revision === split!.revision);
      const seen = new Map<string, Set<number>>();
      for (let user = 0; user < 8; user++) {
        for (const r of [router, second, router]) {
          const { response, header } = await predictWithHeaders(r.client, { model, inputs: [input] }, { "x-tessera-key": `user-${user}` });
          expect(header.get("x-tessera-route")).toBe("sticky");
          seen.set(`user-${user}`, (seen.get(`user-${user}`) ?? new Set()).add(response.version));
        }
      }
      for (const versions of seen.values()) expect(versions.size).toBe(1);
      // 8 users on a 50/50 split: both versions in use (all on one would be 1 in 128).
      expect(new Set([...seen.values()].map((v) => [...v][0])).size).toBe(2);
    });

    it("pins a version by header", async () => {
      const { response, header } = await predictWithHeaders(router.client, { model, inputs: [input] }, { "x-tessera-version": "1", "x-tessera-key": "someone" });
      expect(response.version).toBe(1);
      expect(header.get("x-tessera-route")).toBe("pinned");
    });

    it("fails over to the fallback version when no replica serves the chosen one, marked degraded", async () => {
      const { route } = await router.routes.getRoute({ model });
      await router.routes.setRoute({ route: { model, splits: [{ version: 3, weight: 100 }], fallbackVersion: 1 }, expectedRevision: route!.revision });
      const { response, header } = await predictWithHeaders(router.client, { model, inputs: [input] });
      expect(response.version).toBe(1);
      expect(header.get("x-tessera-degraded")).toBe("fallback-version");
      expect(await router.router.host.metrics.getSingleMetricAsString("tessera_router_degraded_total")).toContain(`model="${model}",kind="fallback-version"`);
    });

    it("mirrors shadow traffic and records the difference, answering from the primary", async () => {
      const { route } = await router.routes.getRoute({ model });
      await router.routes.setRoute({ route: { model, splits: [{ version: 1, weight: 100 }], shadow: { version: 2, percent: 100 } }, expectedRevision: route!.revision });
      const { response } = await predictWithHeaders(router.client, { model, inputs: [input] });
      expect(response.version).toBe(1);
      await until(async () => (await router.router.host.metrics.getSingleMetricAsString("tessera_router_shadow_requests_total")).includes(`outcome="compared"`));
      // Versions 1 and 2 are the same bytes: no difference.
      expect(await router.router.host.metrics.getSingleMetricAsString("tessera_router_shadow_difference")).toMatch(new RegExp(`le="0",model="${model}",version="2"} [1-9]`));
    });

    it("degrades to the route's default response when nothing can answer, then UNAVAILABLE without one", async () => {
      await router.routes.setRoute({ route: { model: lonely, splits: [{ version: 1, weight: 100 }], defaultResponse: { model: lonely, outputs: [{ name: "score", floatData: [0] }] } } });
      const { response, header } = await predictWithHeaders(router.client, { model: lonely, inputs: [input] });
      expect(header.get("x-tessera-degraded")).toBe("default");
      expect(response.outputs[0]!.floatData).toEqual([0]);
      const { route } = await router.routes.getRoute({ model: lonely });
      await router.routes.setRoute({ route: { model: lonely, splits: [{ version: 1, weight: 100 }] }, expectedRevision: route!.revision });
      const error = await failure(router.client.predict({ model: lonely, inputs: [input] }));
      expect(error.code).toBe(Code.Unavailable);
      expect(error.rawMessage).toContain("no healthy replica");
    });

    it("deletes a route", async () => {
      const { route } = await router.routes.getRoute({ model: lonely });
      await router.routes.deleteRoute({ model: lonely, expectedRevision: route!.revision });
      expect((await failure(router.routes.getRoute({ model: lonely }))).code).toBe(Code.NotFound);
    });
  });

  describe("the HTTP port", () => {
    it("answers Connect JSON from curl-like fetch", async () => {
      const answer = await fetch(`${router.httpUrl}/tessera.inference.v1.InferenceService/Predict`, {
        method: "POST",
        headers: { "content-type": "application/json", "x-tessera-version": "2" },
        body: JSON.stringify({ model, inputs: [{ name: "features", dtype: "DATA_TYPE_FLOAT32", shape: ["1", "16"], floatData: features }] }),
      });
      expect(answer.status).toBe(200);
      expect(answer.headers.get("x-tessera-version")).toBe("2");
      expect(((await answer.json()) as { version: number }).version).toBe(2);
    });

    it("proxies OIP REST infer to a replica", async () => {
      const answer = await fetch(`${router.httpUrl}/v2/models/${model}/versions/2/infer`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ inputs: [{ name: "features", datatype: "FP32", shape: [1, 16], data: features }] }),
      });
      expect(answer.status).toBe(200);
      const body = (await answer.json()) as { model_version: string; outputs: Array<{ data: number[] }> };
      expect(body.model_version).toBe("2");
      expect(body.outputs[0]!.data).toHaveLength(1);
      expect((await fetch(`${router.httpUrl}/v2/models/no-such/infer`, { method: "POST", body: "{}" })).status).toBe(404);
    });

    it("reports NATS and membership on /router/status and counts requests on /metrics", async () => {
      const status = (await (await fetch(`${router.httpUrl}/router/status`)).json()) as { nats: string; replicas: unknown[] };
      expect(status.nats).toBe("connected");
      expect(status.replicas).toHaveLength(2);
      expect(await (await fetch(`${router.httpUrl}/metrics`)).text()).toContain(`tessera_router_requests_total{model="${model}"`);
    });
  });

  it("stops sending to a replica that leaves membership", async () => {
    const leaving = replicas.pop()!;
    await leaving.stop();
    await until(() => router.router.table.all().length === 1);
    for (let i = 0; i < 4; i++) expect((await router.client.predict({ model, version: 1, inputs: [input] })).version).toBe(1);
  });
});

async function until(check: () => boolean | Promise<boolean>): Promise<void> {
  for (let i = 0; i < 400; i++) {
    if (await check()) return;
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
  throw new Error("condition not met in 10 s");
}

describe("router auth on the wire", () => {
  let registry: TestRegistry;
  let router: TestRouter;

  beforeAll(async () => {
    registry = await startTestRegistry({ mode: "nats" });
    const authorizer = new KeyAuthorizer(readAuthFile({ keys: [{ id: "reader", key: "reader-key-0123456789", rpcs: ["ListRoutes"] }] }, "auth.json"), silentLogger);
    router = await startTestRouter(registry, { routesBucket: uniqueName("routes"), membershipBucket: uniqueName("replicas"), authorizer, config: { maxMessageBytes: 64 * 1024 } });
  });

  afterAll(async () => {
    await router?.stop();
    await registry?.stop();
  });

  it("answers UNAUTHENTICATED without a key, PERMISSION_DENIED outside the grant, and serves within it", async () => {
    expect((await failure(router.client.predict({ model: "fraud", inputs: [input] }))).code).toBe(Code.Unauthenticated);
    expect((await failure(router.routes.listRoutes({}, { headers: { "x-api-key": "wrong-key-0123456789" } }))).code).toBe(Code.Unauthenticated);
    expect((await failure(router.client.predict({ model: "fraud", inputs: [input] }, { headers: { "x-api-key": "reader-key-0123456789" } }))).code).toBe(Code.PermissionDenied);
    expect((await router.routes.listRoutes({}, { headers: { "x-api-key": "reader-key-0123456789" } })).routes).toEqual([]);
    const rest = await fetch(`${router.httpUrl}/v2/models/fraud/infer`, { method: "POST", body: "{}" });
    expect(rest.status).toBe(401);
  });

  it("refuses a request over the size limit with RESOURCE_EXHAUSTED", async () => {
    const big = { ...input, floatData: new Array(40_000).fill(0.5) };
    expect((await failure(router.client.predict({ model: "fraud", inputs: [big] }, { headers: { "x-api-key": "reader-key-0123456789" } }))).code).toBe(Code.ResourceExhausted);
  });
});

describe("mesh token", () => {
  it("a replica with TESSERA_MESH_TOKEN refuses calls that bypass the router and answers those through it", async () => {
    const registry = await startTestRegistry({ mode: "nats" });
    const model = uniqueName("token").replace(/_/g, "-");
    const membershipBucket = uniqueName("replicas");
    await uploadModelVersion(registry.client, { model, createModel: true }, fraudBytes);
    const replica = await startTestReplica(registry, { serve: [{ model, version: 1 }], membershipBucket, config: { meshToken: "mesh-secret" } });
    const router = await startTestRouter(registry, { routesBucket: uniqueName("routes"), membershipBucket, config: { meshToken: "mesh-secret" } });
    try {
      expect((await failure(replica.client.predict({ model, inputs: [input] }))).code).toBe(Code.Unauthenticated);
      expect((await fetch(`${replica.httpUrl}/v2/models/${model}`)).status).toBe(401);
      expect((await fetch(`${replica.httpUrl}/healthz`)).status).toBe(200);
      await until(() => router.router.table.serving(model, { version: 1 }).length === 1);
      expect((await router.client.predict({ model, inputs: [input] })).version).toBe(1);
      const rest = await fetch(`${router.httpUrl}/v2/models/${model}/infer`, { method: "POST", body: JSON.stringify({ inputs: [{ name: "features", datatype: "FP32", shape: [1, 16], data: features }] }) });
      expect(rest.status).toBe(200);
    } finally {
      await router.stop();
      await replica.stop();
      await registry.stop();
    }
  });
});
