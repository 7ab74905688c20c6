import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Code } from "@connectrpc/connect";
import type { EventBus } from "../../libs/events/index.js";
import { RolloutPromotedSchema, RolloutRolledBackSchema, RolloutSteppedSchema, type RolloutPromoted, type RolloutRolledBack, type RolloutStepped } from "../../libs/gen/tessera/events/v1/rollout_events_pb.js";
import type { MonitoringService } from "../../libs/gen/tessera/monitoring/v1/monitoring_pb.js";
import { RolloutPhase } from "../../libs/gen/tessera/monitoring/v1/rollouts_pb.js";
import { DataType } from "../../libs/gen/tessera/registry/v1/signature_pb.js";
import type { MeshClient } from "../../libs/host/index.js";
import { uploadModelVersion } from "../../libs/registry-client/index.js";
import type { KvStore } from "../../libs/store/index.js";
import { uniqueName } from "../../libs/testing/index.js";
import { runCli } from "../../mesh/cli/run-cli.js";
import { exampleModel } from "../../mesh/models/index.js";
import { ROLLOUT_PROMOTED_SUBJECT, ROLLOUT_ROLLED_BACK_SUBJECT, ROLLOUT_STEPPED_SUBJECT } from "../../services/monitoring/rollouts/rollout-driver.js";
import type { MonitoringServer } from "../../services/monitoring/start-monitoring.js";
import { failure } from "../support/call-outcome.js";
import type { TestRegistry } from "../support/registry-harness.js";
import { startRolloutMesh, steadyTraffic, type RolloutMesh } from "../support/rollout-mesh.js";
import type { TestRouter } from "../support/router-harness.js";

const fraud = exampleModel("fraud");
const fraudBytes = fraud.build();
const features = Array.from(fraud.sampleRow(1).get("features")!.data as Float32Array);
const input = { name: "features", dtype: DataType.FLOAT32, shape: [1n, 16n], floatData: features };

/** Waits for `check` to hold; the test's own timeout bounds it. */
async function eventually(check: () => Promise<boolean> | boolean): Promise<void> {
  while (!(await check())) await new Promise((resolve) => setTimeout(resolve, 50));
}

describe("progressive rollouts", () => {
  let mesh: RolloutMesh;
  let events: EventBus;
  let registry: TestRegistry;
  let router: TestRouter;
  let leases: KvStore;
  let monitoring: MonitoringServer;
  let client: MeshClient<typeof MonitoringService>;
  let stopTraffic: (() => Promise<void>) | undefined;
  const model = uniqueName("fraud").replace(/_/g, "-");
  const lonely = uniqueName("lonely").replace(/_/g, "-");
  const stepped: RolloutStepped[] = [];
  const promoted: RolloutPromoted[] = [];
  const rolledBack: RolloutRolledBack[] = [];

  const route = async () => Object.fromEntries((await router.routes.getRoute({ model })).route!.splits.map((s) => [s.version, s.weight]));
  const alias = async () => (await registry.client.getModelVersion({ version: { model, selector: { case: "alias", value: "production" } } })).modelVersion!.version;
  /** `tessera rollout ...` against this monitoring service: exit code and what it printed. */
  async function cli(...args: string[]): Promise<{ code: number; out: string; err: string }> {
    let out = "";
    let err = "";
    const code = await runCli(["rollout", ...args, "--monitoring", monitoring.host.grpcAddress], { out: (t) => void (out += t), err: (t) => void (err += t), env: {}, cwd: process.cwd(), isTTY: false });
    return { code, out, err };
  }
  const phase = async () => (await client.client.getRollout({ model })).rollout!.phase;

  beforeAll(async () => {
    mesh = await startRolloutMesh({
      name: "test-rollout",
      upload: async (registry) => {
        for (let v = 1; v <= 3; v++) await uploadModelVersion(registry.client, { model, createModel: v === 1, aliases: v === 1 ? ["production"] : [] }, fraudBytes);
        await uploadModelVersion(registry.client, { model: lonely, createModel: true }, fraudBytes);
      },
      serve: [1, 2, 3].map((version) => ({ model, version })),
    });
    ({ events, registry, router, monitoring, client } = mesh);
    leases = mesh.leases!;
    await router.routes.setRoute({ route: { model, splits: [{ version: 1, weight: 100 }] }, expectedRevision: 0n });
    await events.subscribe(ROLLOUT_STEPPED_SUBJECT, RolloutSteppedSchema, (e) => void (e.message.model === model && stepped.push(e.message)));
    await events.subscribe(ROLLOUT_PROMOTED_SUBJECT, RolloutPromotedSchema, (e) => void (e.message.model === model && promoted.push(e.message)));
    await events.subscribe(ROLLOUT_ROLLED_BACK_SUBJECT, RolloutRolledBackSchema, (e) => void (e.message.model === model && rolledBack.push(e.message)));
    // Steady traffic through the router, so every step has candidate requests to judge.
    stopTraffic = steadyTraffic(router, { model, inputs: [input] });
  });

  afterAll(async () => {
    await stopTraffic?.();
    await mesh?.stop();
  });

  it("refuses a candidate the registry does not have and a model with no route, saying what to do", async () => {
    const missing = await failure(client.client.startRollout({ model, candidate: 9 }));
    expect(missing.code).toBe(Code.FailedPrecondition);
    expect(missing.rawMessage).toContain(`version 9 of "${model}" is not in the registry`);
    const unrouted = await failure(client.client.startRollout({ model: lonely, candidate: 1 }));
    expect(unrouted.code).toBe(Code.FailedPrecondition);
    expect(unrouted.rawMessage).toContain(`tessera routes set ${lonely}`);
    const { route: single } = await router.routes.getRoute({ model });
    const { route: split } = await router.routes.setRoute({ route: { model, splits: [{ version: 1, weight: 80 }, { version: 3, weight: 20 }] }, expectedRevision: single!.revision });
    const threeWay = await failure(client.client.startRollout({ model, candidate: 2 }));
    expect(threeWay.code).toBe(Code.FailedPrecondition);
    expect(threeWay.rawMessage).toContain("splits traffic across versions 1, 3");
    await router.routes.setRoute({ route: { model, splits: [{ version: 1, weight: 100 }] }, expectedRevision: split!.revision });
    const bad = await failure(client.client.startRollout({ model, candidate: 2, steps: [50, 40, 100] }));
    expect(bad.code).toBe(Code.InvalidArgument);
    expect((await failure(client.client.getRollout({ model }))).code).toBe(Code.NotFound);
  });

  it("steps a healthy candidate to 100 % and promotes it (alias moved, events sent)", async () => {
    const { rollout } = await client.client.startRollout({
      model,
      candidate: 2,
      steps: [50, 100],
      stepIntervalMs: 1000n,
      analysis: { minRequests: 5, minSuccessRate: 0.9, maxP99Ms: 60_000 },
    });
    expect(rollout).toMatchObject({ baseline: 1, candidate: 2, phase: RolloutPhase.PROGRESSING, weight: 50 });
    expect(await route()).toEqual({ 1: 50, 2: 50 });
    await eventually(async () => (await phase()) === RolloutPhase.PROMOTED);
    expect(await route()).toEqual({ 1: 0, 2: 100 });
    expect(await alias()).toBe(2);
    await eventually(() => promoted.length === 1);
    expect(stepped.filter((s) => s.candidate === 2).map((s) => s.weight)).toEqual([50, 100]);
    expect(promoted[0]).toMatchObject({ baseline: 1, candidate: 2, alias: "production" });
  });

  it("rolls a candidate that fails its analysis back to 0 % and says why", async () => {
    // No real replica answers in a microsecond: every check fails on p99.
    const { rollout } = await client.client.startRollout({
      model,
      candidate: 3,
      steps: [25, 100],
      stepIntervalMs: 1000n,
      analysis: { minRequests: 3, maxP99Ms: 0.001, failureThreshold: 2 },
    });
    expect(rollout).toMatchObject({ baseline: 2, candidate: 3, weight: 25 });
    expect(await route()).toEqual({ 2: 75, 3: 25 });
    await eventually(async () => (await phase()) === RolloutPhase.ROLLED_BACK);
    expect(await route()).toEqual({ 2: 100, 3: 0 });
    expect(await alias()).toBe(2);
    await eventually(() => rolledBack.length === 1);
    expect(rolledBack[0]).toMatchObject({ baseline: 2, candidate: 3 });
    expect(rolledBack[0]!.reason).toContain("2 failed checks in a row; last: p99");
  });

  it("pauses on a manual route change instead of overwriting it, and resumes on request", async () => {
    await client.client.startRollout({ model, candidate: 3, steps: [10, 100], stepIntervalMs: 3_600_000n });
    expect(await route()).toEqual({ 2: 90, 3: 10 });
    const current = (await router.routes.getRoute({ model })).route!;
    await router.routes.setRoute({ route: { model, splits: [{ version: 2, weight: 70 }, { version: 3, weight: 30 }] }, expectedRevision: current.revision });
    await eventually(async () => (await phase()) === RolloutPhase.PAUSED);
    expect((await client.client.getRollout({ model })).rollout!.reason).toContain("changed by someone else");
    expect(await route()).toEqual({ 2: 70, 3: 30 });
    const { rollout } = await client.client.resumeRollout({ model });
    expect(rollout).toMatchObject({ phase: RolloutPhase.PROGRESSING, weight: 10 });
    expect(await route()).toEqual({ 2: 90, 3: 10 });
    const aborted = await client.client.abortRollout({ model });
    expect(aborted.rollout!.phase).toBe(RolloutPhase.ABORTED);
    expect(await route()).toEqual({ 2: 100, 3: 0 });
  });

  it("carries on from its KV state in a new monitoring process", async () => {
    await client.client.startRollout({ model, candidate: 3, steps: [50, 100], stepIntervalMs: 1000n, analysis: { minRequests: 5, maxP99Ms: 60_000, minSuccessRate: 0.9 } });
    expect(await route()).toEqual({ 2: 50, 3: 50 });
    await mesh.restartMonitoring();
    ({ monitoring, client } = mesh);
    expect((await client.client.listRollouts({})).rollouts.map((r) => r.model)).toContain(model);
    await eventually(async () => (await phase()) === RolloutPhase.PROMOTED);
    expect(await route()).toEqual({ 2: 0, 3: 100 });
    expect(await alias()).toBe(3);
    const status = await cli("status", model);
    expect(status).toMatchObject({ code: 0, out: expect.stringContaining(`${model}  v2 → v3  promoted  100 % of [50, 100]`) });
  });

  it("drives rollouts from the CLI: start, pause, resume, abort, and a refusal it explains", async () => {
    const refused = await cli("start", model, "9");
    expect(refused.code).not.toBe(0);
    expect(refused.err).toContain("is not in the registry");
    const started = await cli("start", model, "2", "--steps", "20,100", "--interval", "1h");
    expect(started).toMatchObject({ code: 0, out: expect.stringContaining("v3 → v2  progressing  20 %") });
    expect(await route()).toEqual({ 3: 80, 2: 20 });
    expect((await cli("pause", model)).out).toContain("paused");
    expect((await cli("resume", model)).out).toContain("progressing  20 %");
    expect((await cli("abort", model)).out).toContain("aborted");
    expect(await route()).toEqual({ 3: 100, 2: 0 });
  });

  it("leaves a rollout to the process holding its lease, and takes it over once a crashed holder's lease expires", async () => {
    // What a killed monitoring process leaves behind: a lease nobody renews.
    await leases.put(model, new TextEncoder().encode("a-crashed-process"));
    const { rollout } = await client.client.startRollout({ model, candidate: 2, steps: [30, 100], stepIntervalMs: 3_600_000n });
    expect(rollout).toMatchObject({ phase: RolloutPhase.PROGRESSING, weight: 0 });
    await monitoring.rollouts!.tickAll();
    expect(await route()).toEqual({ 3: 100, 2: 0 });
    // The lease bucket's TTL is 5 s here.
    await eventually(async () => (await client.client.getRollout({ model })).rollout!.weight === 30);
    expect(await route()).toEqual({ 3: 70, 2: 30 });
    await client.client.abortRollout({ model });
  });
});
