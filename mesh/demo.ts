// `npm start`: Tessera end to end on this machine, then everything stopped.
// Finds (or starts) NATS, starts the mesh `tessera up` starts (registry,
// router, monitoring, feature service, one inference replica) on free ports,
// pushes models/fraud.onnx, serves it, and calls it through the router over
// gRPC, the Open Inference Protocol (gRPC and REST) and Connect JSON,
// printing the grpcurl / curl line for each so you can try them yourself;
// then rolls out two more fraud versions: one promoted, one rolled back.
import { existsSync } from "node:fs";
import { readFile, rm } from "node:fs/promises";
import { join, relative } from "node:path";
import { GRPCInferenceService } from "../libs/gen/inference/grpc_service_pb.js";
import { InferenceService } from "../libs/gen/tessera/inference/v1/inference_pb.js";
import { FeatureService } from "../libs/gen/tessera/feature/v1/feature_pb.js";
import { RegistryService } from "../libs/gen/tessera/registry/v1/registry_pb.js";
import { DataType } from "../libs/gen/tessera/registry/v1/signature_pb.js";
import { createMeshClient } from "../libs/host/index.js";
import { meshNames, readMeshName } from "../libs/mesh-names/index.js";
import { redactUrl } from "../libs/nats/index.js";
import { mlpReference } from "../libs/onnx/index.js";
import { uploadModelVersion } from "../libs/registry-client/index.js";
import { describeError } from "./cli/describe-error.js";
import { formatSignature } from "./cli/format-signature.js";
import { PREDICTION_LOG_STREAM } from "../libs/prediction-log/index.js";
import { RolloutPhase } from "../libs/gen/tessera/monitoring/v1/rollouts_pb.js";
import { demoRollouts } from "./demo-rollouts.js";
import { withDevAuth } from "./launcher/dev-auth.js";
import { dropBuckets } from "./launcher/drop-buckets.js";
import { findNats, type FoundNats } from "./launcher/find-nats.js";
import { launchEmbedded } from "./launcher/launch-embedded.js";
import { launchProcesses } from "./launcher/launch-processes.js";
import { repoRoot } from "./launcher/repo-root.js";
import type { RunningMesh } from "./launcher/running-mesh.js";
import { readTopology } from "./launcher/topology.js";
import { ensureExampleModels, exampleModel, fraudFeatureBinding, fraudFeatureDefinitions, fraudFeatureRow, fraudModelRow, FRAUD_VIEW } from "./models/index.js";
import { pickOnlineStore } from "./launcher/pick-online-store.js";

const say = (line = "") => process.stdout.write(line + "\n");
const root = repoRoot();
const fraud = exampleModel("fraud");
// Buckets of this run only, so a running `tessera up` on the same NATS never sees the demo's models.
const tag = `demo_${process.pid}`;
// Logical names: every service namespaces them by TESSERA_MESH.
const buckets = {
  kv: [`tessera_${tag}_registry`, `tessera_${tag}_features`, `tessera_${tag}_routes`, `tessera_${tag}_rollouts`, `tessera_${tag}_rollout_leases`, `tessera_${tag}_replicas`],
  objects: [`tessera_${tag}_artifacts`],
};
// Membership of this run only: the demo's router never sends a call to a replica of another mesh on the same NATS, nor theirs to it.
const replicasBucket = { TESSERA_REPLICAS_BUCKET: buckets.kv[5]! };
// Short steps, so both rollouts take seconds.
const STEP_INTERVAL_MS = 2_000;

let nats: FoundNats | undefined;
let mesh: RunningMesh | undefined;
try {
  say("Tessera demo\n");
  nats = await findNats(process.env);
  if (nats.kind === "nats") say(`NATS: ${redactUrl(nats.url)} (${nats.how})`);
  else say(`NATS: none (${nats.why})\n  -> falling back to the EMBEDDED backends: registry and replica share this one process, state is lost at exit`);

  const { topology, key: apiKey } = await withDevAuth(readTopology(
    {
      log_level: "info",
      registry: {
        // 0: free ports, so the demo never collides with a running `tessera up`.
        grpc_port: 0,
        http_port: 0,
        data_dir: join(root, ".tessera", tag, "data"),
        env: { TESSERA_REGISTRY_BUCKET: buckets.kv[0], TESSERA_ARTIFACT_BUCKET: buckets.objects[0] },
      },
      inference: [{ id: `demo-${process.pid}`, device: "cpu", grpc_port: 0, http_port: 0, env: replicasBucket }],
      feature: { grpc_port: 0, http_port: 0, env: { TESSERA_FEATURE_BUCKET: buckets.kv[1], TESSERA_FEATURE_KEY_PREFIX: `${tag}:` } },
      router: { grpc_port: 0, http_port: 0, env: { TESSERA_ROUTES_BUCKET: buckets.kv[2]!, ...replicasBucket } },
      monitoring: {
        grpc_port: 0,
        http_port: 0,
        env: {
          // Its own consumer and rollout buckets: a `tessera up` on the same NATS keeps its logs and rollouts.
          TESSERA_MONITORING_CONSUMER: tag,
          TESSERA_ROLLOUTS_BUCKET: buckets.kv[3]!,
          TESSERA_ROLLOUT_LEASES_BUCKET: buckets.kv[4]!,
          TESSERA_ROLLOUT_TICK_MS: "250",
          ...replicasBucket,
        },
      },
    },
    "demo topology",
  ), join(root, ".tessera", tag, "router-auth.json"));
  const headers = apiKey ? { "x-api-key": apiKey } : undefined;
  const keyFlag = apiKey ? ` -H 'x-api-key: ${apiKey}'` : "";
  const logDir = join(root, ".tessera", "logs", "demo");
  const online = nats.kind === "nats" ? await pickOnlineStore(topology, process.env) : undefined;
  if (online?.note) say(`Redis: ${online.note}`);
  else if (online) say(`Redis: ${online.redisUrl}`);
  mesh = nats.kind === "nats" ? await launchProcesses({ topology, natsUrl: nats.url, logDir, root, feature: online }) : await launchEmbedded({ topology, logDir });
  const replica = mesh.replicas[0]!;
  const router = mesh.router!;
  say(`mesh: ${mesh.mode === "processes" ? "one process per service" : "embedded, in this process"}; logs in ${relative(process.cwd(), logDir) || "."}/`);
  say(`  registry   gRPC ${mesh.registry.grpcAddress}  HTTP ${mesh.registry.httpAddress}`);
  say(`  router     gRPC ${router.grpcAddress}  HTTP ${router.httpAddress}  (the front door; dev API key ${apiKey ?? "none: auth off"})`);
  say(`  inference  gRPC ${replica.grpcAddress}  HTTP ${replica.httpAddress}  (${replica.device})`);
  say(`  monitoring gRPC ${mesh.monitoring!.grpcAddress}  HTTP ${mesh.monitoring!.httpAddress}`);
  say(`  feature    gRPC ${mesh.feature!.grpcAddress}  HTTP ${mesh.feature!.httpAddress}  (online store: ${mesh.feature!.onlineStore})\n`);

  // 1. Push the model, with the alias production.
  const file = join(root, "models", fraud.file);
  if (!existsSync(file)) await ensureExampleModels(join(root, "models"));
  const registry = createMeshClient(RegistryService, { address: mesh.registry.grpcAddress });
  // With a feature binding: the version says which features fill its input, so it can also be called by card id.
  const pushed = await uploadModelVersion(
    registry.client,
    { model: "fraud", description: fraud.description, createModel: true, aliases: ["production"], featureBinding: fraudFeatureBinding() },
    await readFile(file),
  );
  registry.close();
  say(`pushed ${relative(process.cwd(), file)} as fraud v${pushed.version}, alias production  (tessera models push models/fraud.onnx --name fraud --alias production)`);
  say(formatSignature(pushed.signature).replace(/^/gm, "  ") + "\n");

  // 2. Serve it: LoadModel answers once the version is loaded and warmed up.
  const inference = createMeshClient(InferenceService, { address: replica.grpcAddress, defaultTimeoutMs: 60_000 });
  const loaded = await inference.client.loadModel({ model: "fraud", selector: { case: "alias", value: "production" } });
  say(`replica serves fraud v${loaded.model?.version} on ${loaded.model?.device} (LoadModel fraud@production)\n`);

  inference.close();
  // 3. Predict over gRPC through the router, a few sample rows; the reference is the same MLP computed in plain TypeScript.
  const front = createMeshClient(InferenceService, { address: router.grpcAddress, defaultTimeoutMs: 60_000 });
  await waitForRouter(() => front.client.predict({ model: "fraud", inputs: [{ name: "features", dtype: DataType.FLOAT32, shape: [1n, 16n], floatData: new Array(16).fill(0) }] }, { headers }));
  say("gRPC Predict (tessera.inference.v1.InferenceService), through the router:");
  for (const seed of [0, 1, 2]) {
    const features = fraud.sampleRow(seed).get("features")!.data as Float32Array;
    const response = await front.client.predict({ model: "fraud", inputs: [{ name: "features", dtype: DataType.FLOAT32, shape: [1n, 16n], floatData: [...features] }] }, { headers });
    const score = response.outputs[0]?.floatData[0] ?? NaN;
    say(`  row ${seed}: score ${score.toFixed(6)}  (reference ${reference(features).toFixed(6)}, queue ${response.timing?.queueUs} µs, compute ${response.timing?.computeUs} µs)`);
  }
  front.close();

  // 4. The same row three more ways. Rounded to 4 decimals so the printed commands are exactly what was sent.
  const row = [...(fraud.sampleRow(0).get("features")!.data as Float32Array)].map((v) => Math.round(v * 1e4) / 1e4);
  const expected = reference(Float32Array.from(row));
  say(`\nOne row, ${JSON.stringify(row)}, three more ways (reference ${expected.toFixed(6)}):`);

  const oip = createMeshClient(GRPCInferenceService, { address: router.grpcAddress });
  const infer = await oip.client.modelInfer({ modelName: "fraud", inputs: [{ name: "features", datatype: "FP32", shape: [1n, 16n], contents: { fp32Contents: row } }] }, { headers });
  oip.close();
  const oipBody = { model_name: "fraud", inputs: [{ name: "features", datatype: "FP32", shape: [1, 16], contents: { fp32_contents: row } }] };
  say(`  OIP ModelInfer over gRPC: score ${(infer.outputs[0]?.contents?.fp32Contents[0] ?? NaN).toFixed(6)}`);
  say(`    grpcurl -plaintext${keyFlag} -d '${JSON.stringify(oipBody)}' ${router.grpcAddress} inference.GRPCInferenceService/ModelInfer`);

  const connectUrl = `http://${router.httpAddress}/tessera.inference.v1.InferenceService/Predict`;
  const connectBody = { model: "fraud", inputs: [{ name: "features", dtype: "DATA_TYPE_FLOAT32", shape: [1, 16], floatData: row }] };
  const connectAnswer = (await postJson(connectUrl, connectBody, headers)) as { outputs?: { floatData?: number[] }[] };
  say(`  Connect JSON over HTTP:   score ${(connectAnswer.outputs?.[0]?.floatData?.[0] ?? NaN).toFixed(6)}`);
  say(`    curl -s -H 'content-type: application/json'${keyFlag} -d '${JSON.stringify(connectBody)}' ${connectUrl}`);

  const restUrl = `http://${router.httpAddress}/v2/models/fraud/infer`;
  const restBody = { inputs: [{ name: "features", datatype: "FP32", shape: [1, 16], data: row }] };
  const restAnswer = (await postJson(restUrl, restBody, headers)) as { outputs?: { data?: number[] }[] };
  say(`  OIP REST (KServe V2):     score ${(restAnswer.outputs?.[0]?.data?.[0] ?? NaN).toFixed(6)}`);
  say(`    curl -s -H 'content-type: application/json'${keyFlag} -d '${JSON.stringify(restBody)}' ${restUrl}`);

  // 5. Feature-enriched: define the card features, write them for two cards, then predict by card id alone.
  const featureService = createMeshClient(FeatureService, { address: mesh.feature!.grpcAddress });
  await featureService.client.applyDefinitions(fraudFeatureDefinitions());
  await featureService.client.writeOnlineFeatures({ view: FRAUD_VIEW, rows: [fraudFeatureRow("card-1", fraud.sampleRow(1).get("features")!.data as Float32Array), fraudFeatureRow("card-2", fraud.sampleRow(2).get("features")!.data as Float32Array)] });
  featureService.close();
  say(`\nFeatures: applied view ${FRAUD_VIEW} (entity card) and wrote card-1 and card-2  (tessera features apply / features write)`);
  const byEntity = createMeshClient(InferenceService, { address: router.grpcAddress, defaultTimeoutMs: 60_000 });
  const enriched = await byEntity.client.predict({ model: "fraud", entityKeys: ["card-1", "card-2", "card-unknown"] }, { headers });
  byEntity.close();
  ["card-1", "card-2", "card-unknown"].forEach((card, i) => {
    const defaulted = enriched.defaultedFeatures.filter((d) => d.row === i);
    const reference = i < 2 ? `  (reference ${mlpReference(fraud.mlp!, fraudModelRow(fraud.sampleRow(i + 1).get("features")!.data as Float32Array), 1)[0]!.toFixed(6)})` : "";
    say(`  Predict by entity ${card}: score ${(enriched.outputs[0]?.floatData[i] ?? NaN).toFixed(6)}${reference}${defaulted.length ? `  — ${defaulted.length} features defaulted (${defaulted[0]!.reason})` : ""}`);
  });
  say(`    grpcurl -plaintext${keyFlag} -d '{"model":"fraud","entity_keys":["card-1"]}' ${router.grpcAddress} tessera.inference.v1.InferenceService/Predict`);

  say("\nThe same from the CLI while `tessera up` runs:");
  say(`  tessera predict fraud --input '${JSON.stringify({ features: [row] })}'`);

  // 6. Two rollouts: a healthy version promoted, a broken one rolled back by the analysis.
  const outcome = await demoRollouts({ mesh, apiKey, say, stepIntervalMs: STEP_INTERVAL_MS });
  if (outcome.healthy !== RolloutPhase.PROMOTED) throw new Error(`the healthy version's rollout ended ${RolloutPhase[outcome.healthy]}, not PROMOTED (the monitoring log has why)`);
  if (outcome.broken !== RolloutPhase.ROLLED_BACK) throw new Error(`the broken version's rollout ended ${RolloutPhase[outcome.broken]}, not ROLLED_BACK`);
  say("\nstopping the mesh");
  await cleanUp();
  say("done");
  process.exit(0);
} catch (error) {
  process.stderr.write(`demo failed: ${describeError(error).message}\n`);
  await cleanUp().catch(() => undefined);
  process.exit(1);
}

async function cleanUp(): Promise<void> {
  await mesh?.stop();
  mesh = undefined;
  // The embedded artifact directory of this run.
  await rm(join(root, ".tessera", tag), { recursive: true, force: true });
  if (nats?.kind === "nats") {
    // The registry namespaced the bucket names by the mesh; drop what it made.
    const names = meshNames(readMeshName(process.env));
    await dropBuckets(nats.url, {
      kv: buckets.kv.map(names.bucket),
      objects: buckets.objects.map(names.bucket),
      consumers: [{ stream: PREDICTION_LOG_STREAM, name: tag }],
    });
    await nats.stop();
    nats = undefined;
  }
}

function reference(features: Float32Array): number {
  return mlpReference(fraud.mlp!, features, 1)[0] ?? NaN;
}

/** Until the router has seen the replica serve fraud (membership), calls through it answer UNAVAILABLE. */
async function waitForRouter(call: () => Promise<unknown>): Promise<void> {
  const deadline = Date.now() + 30_000;
  for (;;) {
    try {
      await call();
      return;
    } catch (error) {
      if (Date.now() > deadline) throw error;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }
}

async function postJson(url: string, body: unknown, headers: Record<string, string> | undefined): Promise<unknown> {
  const response = await fetch(url, { method: "POST", headers: { "content-type": "application/json", ...headers }, body: JSON.stringify(body), signal: AbortSignal.timeout(30_000) });
  const text = await response.text();
  if (!response.ok) throw new Error(`POST ${url} answered ${response.status}: ${text}`);
  return JSON.parse(text);
}
