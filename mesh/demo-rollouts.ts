// The end of `npm start`: two progressive rollouts through the router, a
// healthy fraud version that is promoted and a broken one that rolls back by
// itself, each step's weights and the analysis verdict printed as they come.
import { GRPCInferenceService } from "../libs/gen/inference/grpc_service_pb.js";
import { InferenceService } from "../libs/gen/tessera/inference/v1/inference_pb.js";
import { MonitoringService } from "../libs/gen/tessera/monitoring/v1/monitoring_pb.js";
import { RolloutPhase, type Rollout } from "../libs/gen/tessera/monitoring/v1/rollouts_pb.js";
import { RegistryService } from "../libs/gen/tessera/registry/v1/registry_pb.js";
import { DataType } from "../libs/gen/tessera/registry/v1/signature_pb.js";
import { RouterService } from "../libs/gen/tessera/router/v1/router_pb.js";
import { createMeshClient } from "../libs/host/index.js";
import { uploadModelVersion } from "../libs/registry-client/index.js";
import type { RunningMesh } from "./launcher/running-mesh.js";
import { buildBrokenFraud, buildRetrainedFraud, exampleModel, fraudFeatureBinding } from "./models/index.js";

export interface DemoRolloutsOptions {
  readonly mesh: RunningMesh;
  /** The router's API key, sent as x-api-key; undefined with auth off. */
  readonly apiKey: string | undefined;
  readonly say: (line?: string) => void;
  /** How long each step runs before its check, ms. */
  readonly stepIntervalMs: number;
}

/** What the two rollouts ended as; the demo fails unless it is promoted, then rolled back. */
export interface DemoRolloutsOutcome {
  readonly healthy: RolloutPhase;
  readonly broken: RolloutPhase;
}

const fraud = exampleModel("fraud");
const STEPS = [25, 50, 100];
const MIN_REQUESTS = 10;
// A rollout that has not ended by then is a failure of the demo, not something to wait on.
const ROLLOUT_BOUND_MS = 120_000;

export async function demoRollouts(options: DemoRolloutsOptions): Promise<DemoRolloutsOutcome> {
  const { mesh, say } = options;
  if (!mesh.router || !mesh.monitoring) throw new Error("the demo's rollouts need the router and the monitoring service");
  const headers = options.apiKey ? { "x-api-key": options.apiKey } : undefined;
  const registry = createMeshClient(RegistryService, { address: mesh.registry.grpcAddress });
  const replica = createMeshClient(InferenceService, { address: mesh.replicas[0]!.grpcAddress, defaultTimeoutMs: 60_000 });
  const routerOip = createMeshClient(GRPCInferenceService, { address: mesh.router.grpcAddress });
  const routes = createMeshClient(RouterService, { address: mesh.router.grpcAddress });
  const monitoring = createMeshClient(MonitoringService, { address: mesh.monitoring.grpcAddress });
  const traffic = new Traffic(mesh.router.grpcAddress, headers);
  try {
    say("\nProgressive rollouts, through the router:");
    const binding = fraudFeatureBinding();
    const v2 = await uploadModelVersion(registry.client, { model: "fraud", description: "fraud MLP, retrained (other weights)", featureBinding: binding }, buildRetrainedFraud());
    const v3 = await uploadModelVersion(
      registry.client,
      { model: "fraud", description: "fraud MLP with an amount-bucket calibration whose bucket is off by 10x: fails on real rows", featureBinding: binding },
      buildBrokenFraud(),
    );
    say(`  pushed fraud v${v2.version} (retrained) and fraud v${v3.version} (a calibration bug: its graph fails on real rows, but loads and warms up fine)`);
    for (const version of [v2.version, v3.version]) await replica.client.loadModel({ model: "fraud", selector: { case: "version", value: version } });
    // The router learns what a replica serves from membership; the rollout's first step should find both versions there.
    for (const version of [v2.version, v3.version]) await until(async () => (await routerOip.client.modelReady({ name: "fraud", version: String(version) }, { headers })).ready, 30_000, `the router to see fraud v${version} served`);
    say(`  the replica serves v1, v${v2.version} and v${v3.version}; the route sends all of fraud to v1  (tessera routes set fraud 1=100)`);
    const existing = await routes.client.getRoute({ model: "fraud" }, { headers }).catch(() => undefined);
    await routes.client.setRoute({ route: { model: "fraud", splits: [{ version: 1, weight: 100 }] }, expectedRevision: existing?.route?.revision ?? 0n }, { headers });
    traffic.start();
    say(`  steady traffic through the router from here on; each step runs ${options.stepIntervalMs / 1000} s and passes with >= ${MIN_REQUESTS} candidate requests, success rate >= 0.99, p99 <= 500 ms; 2 failed checks in a row roll back`);

    const watch = (candidate: number, label: string) => runRollout({ ...options, monitoring: monitoring.client, traffic, candidate, label });
    const healthy = await watch(v2.version, "retrained");
    const broken = await watch(v3.version, "broken");

    const alias = (await registry.client.getModelVersion({ version: { model: "fraud", selector: { case: "alias", value: "production" } } })).modelVersion?.version;
    const route = (await routes.client.getRoute({ model: "fraud" }, { headers })).route;
    say(`\n  final: route ${formatSplits(route?.splits ?? [])}, alias production → v${alias}; traffic ${traffic.summary()}`);
    return { healthy, broken };
  } finally {
    await traffic.stop();
    for (const client of [registry, replica, routerOip, routes, monitoring]) client.close();
  }
}

/** Starts one rollout and prints each change of weight, check and phase until it ends. */
async function runRollout(options: DemoRolloutsOptions & { monitoring: ReturnType<typeof createMeshClient<typeof MonitoringService>>["client"]; traffic: Traffic; candidate: number; label: string }): Promise<RolloutPhase> {
  const { say, monitoring, traffic, candidate } = options;
  say(`\n  rollout of fraud v${candidate} (${options.label})  (tessera rollout start fraud ${candidate} --steps ${STEPS.join(",")} --interval ${options.stepIntervalMs / 1000}s --min-requests ${MIN_REQUESTS})`);
  const started = Date.now();
  const at = () => `${((Date.now() - started) / 1000).toFixed(1).padStart(5)} s`;
  traffic.mark();
  let last: Rollout | undefined = (
    await monitoring.startRollout({ model: "fraud", candidate, steps: STEPS, stepIntervalMs: BigInt(options.stepIntervalMs), analysis: { minRequests: MIN_REQUESTS } })
  ).rollout;
  say(`  ${at()}  step ${last!.weight} %   route ${formatWeights(last!)}`);
  while (last!.phase === RolloutPhase.PROGRESSING) {
    if (Date.now() - started > ROLLOUT_BOUND_MS) throw new Error(`the rollout of fraud v${candidate} did not end within ${ROLLOUT_BOUND_MS / 1000} s (still at ${last!.weight} %, ${last!.reason || "no reason given"})`);
    await new Promise((resolve) => setTimeout(resolve, 100));
    const now = (await monitoring.getRollout({ model: "fraud" })).rollout!;
    const failedMore = now.failedChecks > last!.failedChecks;
    const moved = now.weight !== last!.weight || now.phase !== last!.phase;
    if (!failedMore && !moved) continue;
    const seen = traffic.mark();
    if (failedMore) say(`  ${at()}  check failed (${now.failedChecks} of ${now.analysis?.failureThreshold}): ${now.reason}  [step traffic: ${seen}]`);
    if (now.phase === RolloutPhase.PROMOTED) say(`  ${at()}  check passed  [step traffic: ${seen}]  → promoted: all traffic on v${candidate}, alias production moved to v${candidate}`);
    else if (now.phase === RolloutPhase.ROLLED_BACK) say(`  ${at()}  rolled back by itself: route ${formatWeights(now)}  (${now.reason})  [step traffic: ${seen}]`);
    else if (now.phase !== RolloutPhase.PROGRESSING) say(`  ${at()}  ended ${RolloutPhase[now.phase]}: ${now.reason}`);
    else if (now.weight > last!.weight) say(`  ${at()}  check passed  [step traffic: ${seen}]  → step ${now.weight} %   route ${formatWeights(now)}`);
    last = now;
  }
  return last!.phase;
}

function formatWeights(r: Rollout): string {
  const weight = r.phase === RolloutPhase.PROMOTED ? 100 : r.weight;
  return `v${r.baseline}=${100 - weight} v${r.candidate}=${weight}`;
}

function formatSplits(splits: readonly { version: number; weight: number }[]): string {
  return splits.map((s) => `v${s.version}=${s.weight}`).join(" ");
}

async function until(check: () => Promise<boolean>, boundMs: number, what: string): Promise<void> {
  const deadline = Date.now() + boundMs;
  while (!(await check().catch(() => false))) {
    if (Date.now() > deadline) throw new Error(`gave up waiting ${boundMs / 1000} s for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

/** Predict calls through the router, a few callers each one call after another, counting what answered them. */
class Traffic {
  private readonly client;
  private running: Promise<void> | undefined;
  private stopped = false;
  private readonly answered = new Map<number, number>();
  private failed = 0;
  private readonly total = { answered: new Map<number, number>(), failed: 0 };

  constructor(
    address: string,
    private readonly headers: Record<string, string> | undefined,
  ) {
    this.client = createMeshClient(InferenceService, { address, defaultTimeoutMs: 10_000 });
  }

  start(callers = 4): void {
    this.running = Promise.all(Array.from({ length: callers }, (_, caller) => this.call(caller))).then(() => undefined);
  }

  private async call(first: number): Promise<void> {
    for (let seed = first; !this.stopped; seed = (seed + 1) % 4) {
      const features = [...(fraud.sampleRow(seed).get("features")!.data as Float32Array)];
      try {
        const response = await this.client.client.predict({ model: "fraud", inputs: [{ name: "features", dtype: DataType.FLOAT32, shape: [1n, 16n], floatData: features }] }, { headers: this.headers });
        this.answered.set(response.version, (this.answered.get(response.version) ?? 0) + 1);
        this.total.answered.set(response.version, (this.total.answered.get(response.version) ?? 0) + 1);
      } catch {
        this.failed++;
        this.total.failed++;
      }
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
  }


  /** What answered since the last mark, e.g. "v1 answered 61, v2 answered 20, 0 failed"; starts a new count. */
  mark(): string {
    const text = describe(this.answered, this.failed);
    this.answered.clear();
    this.failed = 0;
    return text;
  }

  summary(): string {
    return describe(this.total.answered, this.total.failed);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    await this.running;
    this.client.close();
  }
}

function describe(answered: ReadonlyMap<number, number>, failed: number): string {
  const parts = [...answered.entries()].sort(([a], [b]) => a - b).map(([version, count]) => `v${version} answered ${count}`);
  return [...parts, `${failed} failed`].join(", ");
}
