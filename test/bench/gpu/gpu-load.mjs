// Load on one GPU replica from several load processes (issue 10, part 3).
//
// An in-process registry (embedded store) holds `wide` with batching on
// (max batch 256, max queue delay 1 ms). For each front-end loop count in
// LOOPS, `node dist/services/inference/main.js` serves it on TESSERA_DEVICE
// (default cuda:0) with TESSERA_FRONTEND_LOOPS set to that count; then, for each
// total concurrency in CONC, LOAD_PROCS load processes (test/bench/support/
// load-worker: closed loop over CHANNELS grpc-js connections each, default 4)
// share the concurrency.
// Per point it prints rows/s (sum), p50/p99 (worst process), mean batch (OIP
// ModelStatistics deltas), replica CPU (cores, and µs per request) and GPU
// utilization (nvidia-smi, sampled every 200 ms; "-" where there is none).
//
// Front-end loops: the replica serves its gRPC port on TESSERA_FRONTEND_LOOPS
// worker threads sharing the port (docs/inference.md, "More than one event
// loop"); the kernel spreads connections, not calls, over them, hence several
// connections per load process. It needs Node >= 22.12: on an older Node the
// replica logs why and serves on one loop, and the figures say so.
//
// Usage (repo root, after npm run build; CUDA set up as in run-on-device.sh):
//   LOOPS=1,2,4 CONC=8,64,256,1024 LOAD_PROCS=4 DURATION_MS=5000 node test/bench/gpu/gpu-load.mjs [outDir]
// It also runs on a CPU-only machine with TESSERA_DEVICE=cpu (for a dry run).
import { spawn } from "node:child_process";
import { createWriteStream, mkdirSync, readFileSync } from "node:fs";
import { openBackends } from "../../../dist/libs/backends/index.js";
import { GRPCInferenceService } from "../../../dist/libs/gen/inference/grpc_service_pb.js";
import { InferenceService } from "../../../dist/libs/gen/tessera/inference/v1/inference_pb.js";
import { RegistryService } from "../../../dist/libs/gen/tessera/registry/v1/registry_pb.js";
import { DataType } from "../../../dist/libs/gen/tessera/registry/v1/signature_pb.js";
import { createMeshClient } from "../../../dist/libs/host/index.js";
import { createLogger } from "../../../dist/libs/log/index.js";
import { uploadModelVersion } from "../../../dist/libs/registry-client/index.js";
import { startRegistry } from "../../../dist/services/registry/start-registry.js";
import { readCpuSeconds } from "../../../dist/test/bench/support/process-cpu.js";
import { spawnLoad } from "../../../dist/test/bench/support/spawn-load.js";

const outDir = process.argv[2] ?? "/tmp";
mkdirSync(outDir, { recursive: true }); // the replicas' logs go there
const list = (text, fallback) => (text ?? fallback).split(",").map(Number).filter((n) => n > 0);
const loops = list(process.env.LOOPS, "1");
const concurrencies = list(process.env.CONC, "8,64,256,1024");
const loadProcs = Number(process.env.LOAD_PROCS ?? 4);
const channels = Number(process.env.CHANNELS ?? 4);
const durationMs = Number(process.env.DURATION_MS ?? 5000);
const warmupMs = Number(process.env.WARMUP_MS ?? 1500);
const device = process.env.TESSERA_DEVICE ?? "cuda:0";
const say = (...a) => console.log(...a);
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const logger = createLogger("gpu-load", { level: "warn" });

const bytes = new Uint8Array(readFileSync("models/wide.onnx"));
const backends = await openBackends({ mode: "embedded", dataDir: `/tmp/gpu-load-data-${process.pid}`, logger });
const registryHost = await startRegistry({
  config: { host: "127.0.0.1", grpcPort: 0, httpPort: 0, metadataBucket: "reg", artifactBucket: "art", maxArtifactBytes: 512 * 1024 * 1024 },
  backends,
  logger,
  ownsBackends: false,
});
const registry = createMeshClient(RegistryService, { address: registryHost.grpcAddress });
await uploadModelVersion(registry.client, { model: "wide", createModel: true, aliases: ["production"], batching: { enabled: true, maxBatchSize: 256, maxQueueDelayUs: 1000n } }, bytes);

const row = Array.from({ length: 512 }, (_, i) => Math.sin(i * 0.37) * 0.5);
const request = { model: "wide", inputs: [{ name: "x", dtype: DataType.FLOAT32, shape: [1n, 512n], floatData: row }] };

let port = 18100;
function startReplica(frontEndLoops) {
  const httpPort = port++, grpcPort = port++;
  const env = {
    ...process.env,
    TESSERA_DEVICE: device,
    TESSERA_REGISTRY_ADDRESS: registryHost.grpcAddress,
    TESSERA_SERVE: "wide@production",
    TESSERA_INFERENCE_HTTP_PORT: String(httpPort),
    TESSERA_INFERENCE_GRPC_PORT: String(grpcPort),
    TESSERA_FRONTEND_LOOPS: String(frontEndLoops),
    TESSERA_LOG_LEVEL: "warn",
  };
  delete env.NATS_URL;
  const child = spawn(process.execPath, ["dist/services/inference/main.js"], { env, stdio: ["ignore", "pipe", "pipe"] });
  const log = createWriteStream(`${outDir}/gpu-load-replica-loops${frontEndLoops}.log`);
  child.stdout.pipe(log);
  child.stderr.pipe(log);
  const exited = new Promise((resolve) => child.on("exit", (code) => resolve(code)));
  return { child, exited, grpc: `127.0.0.1:${grpcPort}` };
}

async function waitServing(replica) {
  const client = createMeshClient(InferenceService, { address: replica.grpc, defaultTimeoutMs: 10_000 });
  try {
    for (const end = Date.now() + 120_000; Date.now() < end; ) {
      const code = await Promise.race([replica.exited, sleep(250).then(() => undefined)]);
      if (code !== undefined) throw new Error(`replica exited with ${code} before serving`);
      try {
        await client.client.predict(request);
        return;
      } catch {
        // not ready yet
      }
    }
    throw new Error("replica not serving after 120 s");
  } finally {
    client.close();
  }
}

/** GPU utilization samples (%) while `run` goes on; [] without nvidia-smi. */
async function sampleGpu(run) {
  const samples = [];
  const smi = spawn("nvidia-smi", ["--query-gpu=utilization.gpu", "--format=csv,noheader,nounits", "-lms", "200"], { stdio: ["ignore", "pipe", "ignore"] });
  smi.on("error", () => {});
  smi.stdout?.setEncoding("utf8").on("data", (chunk) => {
    for (const line of chunk.split("\n")) if (line.trim() !== "" && !Number.isNaN(Number(line))) samples.push(Number(line.split(",")[0]));
  });
  try {
    return { result: await run(), samples };
  } finally {
    smi.kill();
  }
}

async function statistics(oip) {
  const { modelStats } = await oip.client.modelStatistics({ name: "wide", version: "" });
  return { inferences: Number(modelStats[0]?.inferenceCount ?? 0n), executions: Number(modelStats[0]?.executionCount ?? 0n) };
}

const fmt = (v, d = 0) => (Number.isFinite(v) ? v.toFixed(d) : "-");
say(`gpu-load: wide, batching on (max 256, 1 ms), device ${device}, ${loadProcs} load processes, ${warmupMs} ms warm-up + ${durationMs} ms per point`);
say(["loops", "conc", "rows/s", "p50 ms", "p99 ms", "errors", "batch", "cpu cores", "cpu µs/req", "gpu util %"].join("\t"));
for (const n of loops) {
  const replica = startReplica(n);
  try {
    await waitServing(replica);
    const oip = createMeshClient(GRPCInferenceService, { address: replica.grpc, defaultTimeoutMs: 10_000 });
    for (const c of concurrencies) {
      const procs = Math.max(1, Math.min(loadProcs, c));
      const shares = Array.from({ length: procs }, (_, i) => Math.floor(c / procs) + (i < c % procs ? 1 : 0));
      const before = await statistics(oip);
      const cpu0 = await readCpuSeconds(replica.child.pid);
      const t0 = performance.now();
      const { result: results, samples } = await sampleGpu(() =>
        Promise.all(shares.map((concurrency) => spawnLoad({ address: replica.grpc, request, concurrency, channels, durationMs, warmupMs }))),
      );
      const wallS = (performance.now() - t0) / 1000;
      const cpu = (await readCpuSeconds(replica.child.pid)) - cpu0;
      const after = await statistics(oip);
      const total = results.reduce((s, r) => s + r.totalCalls, 0);
      const rows = results.reduce((s, r) => s + r.callsPerSecond, 0);
      const batch = (after.inferences - before.inferences) / Math.max(1, after.executions - before.executions);
      const gpu = samples.length ? samples.reduce((a, b) => a + b, 0) / samples.length : Number.NaN;
      say([n, c, fmt(rows), fmt(Math.max(...results.map((r) => r.p50Ms)), 2), fmt(Math.max(...results.map((r) => r.p99Ms)), 2), results.reduce((s, r) => s + r.errors, 0), fmt(batch, 1), fmt(cpu / wallS, 2), fmt((cpu * 1e6) / Math.max(1, total)), fmt(gpu, 0)].join("\t"));
    }
    oip.close();
  } finally {
    replica.child.kill("SIGTERM");
    await replica.exited;
  }
}
registry.close();
await registryHost.shutdown();
await backends.close();
process.exit(0);
