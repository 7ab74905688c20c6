// The inference replica on the GPU, as processes: an in-process registry (embedded
// store), `node dist/services/inference/main.js` with TESSERA_DEVICE=cuda:0 serving
// wide (batching on) and wide-nb (batching off); Predict checked against the CPU;
// cuda:7 must stop start-up with one line; cuda:7 + TESSERA_ALLOW_CPU_FALLBACK must serve;
// then closed-loop load (test/bench/support/spawnLoad) at concurrency 1/8/64/256.
// Usage (repo root, after npm run build): node test/bench/gpu/gpu-replica.mjs <outDir> [durationMs]
import { spawn } from "node:child_process";
import { createWriteStream, readFileSync } from "node:fs";
import * as ort from "onnxruntime-node";
import { openBackends } from "../../../dist/libs/backends/index.js";
import { InferenceService } from "../../../dist/libs/gen/tessera/inference/v1/inference_pb.js";
import { RegistryService } from "../../../dist/libs/gen/tessera/registry/v1/registry_pb.js";
import { DataType } from "../../../dist/libs/gen/tessera/registry/v1/signature_pb.js";
import { createMeshClient } from "../../../dist/libs/host/index.js";
import { createLogger } from "../../../dist/libs/log/index.js";
import { uploadModelVersion } from "../../../dist/libs/registry-client/index.js";
import { startRegistry } from "../../../dist/services/registry/start-registry.js";
import { spawnLoad } from "../../../dist/test/bench/support/spawn-load.js";

const outDir = process.argv[2] ?? "/tmp";
const durationMs = Number(process.argv[3] ?? 5000);
const say = (...a) => console.log(...a);
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const logger = createLogger("gpu-replica", { level: "warn" });

const bytes = new Uint8Array(readFileSync("models/wide.onnx"));
const backends = await openBackends({ mode: "embedded", dataDir: "/tmp/gpu-replica-data", logger });
const registryHost = await startRegistry({
  config: { host: "127.0.0.1", grpcPort: 0, httpPort: 0, metadataBucket: "reg", artifactBucket: "art", maxArtifactBytes: 512 * 1024 * 1024 },
  backends,
  logger,
  ownsBackends: false,
});
const registry = createMeshClient(RegistryService, { address: registryHost.grpcAddress });
await uploadModelVersion(registry.client, { model: "wide", createModel: true, aliases: ["production"], batching: { enabled: true, maxBatchSize: 256, maxQueueDelayUs: 1000n } }, bytes);
await uploadModelVersion(registry.client, { model: "wide-nb", createModel: true, aliases: ["production"], batching: { enabled: false } }, bytes);
say("registry at", registryHost.grpcAddress, "holds wide (batching on, max 256, 1 ms) and wide-nb (batching off)");

let port = 18000;
function startReplica(tag, extraEnv) {
  const httpPort = port++, grpcPort = port++;
  const env = { ...process.env, TESSERA_REGISTRY_ADDRESS: registryHost.grpcAddress, TESSERA_SERVE: "wide@production,wide-nb@production", TESSERA_INFERENCE_HTTP_PORT: String(httpPort), TESSERA_INFERENCE_GRPC_PORT: String(grpcPort), ...extraEnv };
  delete env.NATS_URL;
  const child = spawn(process.execPath, ["dist/services/inference/main.js"], { env, stdio: ["ignore", "pipe", "pipe"] });
  const log = createWriteStream(`${outDir}/replica-${tag}.log`);
  let stderr = "";
  child.stdout.pipe(log);
  child.stderr.on("data", (c) => { stderr += c; log.write(c); });
  const exited = new Promise((resolve) => child.on("exit", (code) => resolve(code)));
  return { child, exited, grpc: `127.0.0.1:${grpcPort}`, http: `http://127.0.0.1:${httpPort}`, stderr: () => stderr };
}

const row = Array.from({ length: 512 }, (_, i) => Math.sin(i * 0.37) * 0.5);
const request = (model) => ({ model, inputs: [{ name: "x", dtype: DataType.FLOAT32, shape: [1n, 512n], floatData: row }] });

async function waitServing(replica, ms) {
  const client = createMeshClient(InferenceService, { address: replica.grpc, defaultTimeoutMs: 10_000 });
  const end = Date.now() + ms;
  let last;
  while (Date.now() < end) {
    const code = await Promise.race([replica.exited, sleep(250).then(() => undefined)]);
    if (code !== undefined) { client.close(); return { exitCode: code }; }
    try {
      const response = await client.client.predict(request("wide"));
      client.close();
      return { response };
    } catch (error) { last = error; }
  }
  client.close();
  return { timeout: String(last?.message ?? last) };
}

function firstOutput(response) {
  const t = response.outputs[0];
  return t.floatData?.length ? Float32Array.from(t.floatData) : new Float32Array(new Uint8Array(t.rawData).slice().buffer);
}

const cpuSession = await ort.InferenceSession.create(bytes);
const expected = (await cpuSession.run({ x: new ort.Tensor("float32", Float32Array.from(row), [1, 512]) })).y.data;

// 1. cuda:0
let t = Date.now();
const gpu = startReplica("cuda0", { TESSERA_DEVICE: process.env.GPU_REPLICA_DEVICE ?? "cuda:0" });
const ready = await waitServing(gpu, 120_000);
if (!ready.response) {
  say("cuda:0 replica did NOT serve:", JSON.stringify(ready), "stderr:", gpu.stderr().trim().split("\n").slice(-5).join(" | "));
} else {
  const got = firstOutput(ready.response);
  let diff = 0;
  for (let i = 0; i < expected.length; i++) diff = Math.max(diff, Math.abs(got[i] - expected[i]));
  say(`cuda:0 replica served Predict after ${Date.now() - t} ms; outputs ${got.length}, max |served - cpu| = ${diff.toExponential(2)}`);
  const readyz = await fetch(`${gpu.http}/readyz`).then(async (r) => `${r.status} ${await r.text()}`).catch((e) => String(e));
  say("readyz:", readyz.slice(0, 400));
}

// 2. cuda:7 must fail start-up with one clear line
t = Date.now();
const bad = startReplica("cuda7", { TESSERA_DEVICE: "cuda:7" });
const badResult = await Promise.race([bad.exited, sleep(60_000).then(() => "still running after 60 s")]);
say(`cuda:7 -> exit ${badResult} after ${Date.now() - t} ms; stderr lines: ${bad.stderr().trim().split("\n").length}; stderr: ${bad.stderr().trim()}`);
if (typeof badResult === "string") bad.child.kill("SIGKILL");

// 3. cuda:7 with CPU fallback must serve
const fb = startReplica("cuda7-fallback", { TESSERA_DEVICE: "cuda:7", TESSERA_ALLOW_CPU_FALLBACK: "true" });
const fbReady = await waitServing(fb, 60_000);
say(`cuda:7 + TESSERA_ALLOW_CPU_FALLBACK=true -> ${fbReady.response ? "served Predict" : "did NOT serve " + JSON.stringify(fbReady)}`);
fb.child.kill("SIGTERM");
await Promise.race([fb.exited, sleep(5000)]);

// 4. load on the cuda:0 replica, batching on (wide) vs off (wide-nb)
async function batchStats(model) {
  const text = await fetch(`${gpu.http}/metrics`).then((r) => r.text()).catch(() => "");
  const pick = (suffix) => text.split("\n").filter((l) => l.startsWith(`tessera_inference_batch_size_${suffix}`) && l.includes(`"${model}"`)).reduce((a, l) => a + Number(l.trim().split(" ").pop()), 0);
  return { sum: pick("sum"), count: pick("count") };
}
// CPU seconds the replica process used (utime + stime, 100 ticks/s): near 1 s per second means its event loop is the limit.
function cpuSeconds(pid) {
  try {
    const fields = readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1].split(" ");
    return (Number(fields[11]) + Number(fields[12])) / 100;
  } catch { return NaN; }
}
// LOAD_WORKERS load processes share the concurrency, so the client is not the limit; p50/p99 are the workers' worst.
const workers = Number(process.env.LOAD_WORKERS ?? 1);
async function load(job) {
  const n = Math.min(workers, job.concurrency);
  const parts = await Promise.all(Array.from({ length: n }, (_, i) => spawnLoad({ ...job, concurrency: Math.floor(job.concurrency / n) + (i < job.concurrency % n ? 1 : 0) })));
  return { callsPerSecond: parts.reduce((a, p) => a + p.callsPerSecond, 0), p50Ms: Math.max(...parts.map((p) => p.p50Ms)), p99Ms: Math.max(...parts.map((p) => p.p99Ms)), errors: parts.reduce((a, p) => a + p.errors, 0), workers: n };
}
if (ready.response) {
  for (const model of ["wide", "wide-nb"]) {
    for (const concurrency of [1, 8, 64, 256]) {
      const before = await batchStats(model);
      const cpu0 = cpuSeconds(gpu.child.pid), t0 = Date.now();
      const r = await load({ address: gpu.grpc, request: request(model), concurrency, durationMs, warmupMs: 1500 });
      r.replicaCpuPerSec = ((cpuSeconds(gpu.child.pid) - cpu0) / ((Date.now() - t0) / 1000)).toFixed(2);
      const after = await batchStats(model);
      const meanBatch = after.count > before.count ? ((after.sum - before.sum) / (after.count - before.count)).toFixed(1) : "n/a";
      say(`LOAD model=${model} batching=${model === "wide" ? "on" : "off"} concurrency=${concurrency} rows_s=${Math.round(r.callsPerSecond)} p50_ms=${r.p50Ms ?? r.p50} p99_ms=${r.p99Ms ?? r.p99} errors=${r.errors} mean_batch=${meanBatch} raw=${JSON.stringify(r)}`);
    }
  }
}
gpu.child.kill("SIGTERM");
await Promise.race([gpu.exited, sleep(5000)]);
registry.close();
await registryHost.close?.();
await backends.close();
process.exit(0);
