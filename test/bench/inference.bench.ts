import { create } from "@bufbuild/protobuf";
import { PredictRequestSchema } from "../../libs/gen/tessera/inference/v1/inference_pb.js";
import { startBenchMesh, type BenchReplica } from "./support/bench-mesh.js";
import { readBenchOptions } from "./support/bench-options.js";
import { formatRow } from "./support/format.js";
import { oneRowRequest, responseAsArg } from "./support/predict-request.js";
import { withCpuPerCall } from "./support/process-cpu.js";
import { measureRawOrt, type RawOrtResult } from "./support/raw-ort-ceiling.js";
import { spawnBareServer } from "./support/spawn-bare-server.js";
import { spawnLoad } from "./support/spawn-load.js";
import { targetLine, targetLineAtMost } from "./support/target-line.js";

/**
 * Issue "dynamic batching": one row per request, batching on and off, for
 * a cheap model (fraud) and a memory-bound one (wide), against a ceiling
 * measured in the same run: min(raw onnxruntime-node rows/s at the observed
 * mean batch size, the bare RPC server's calls/s at the same concurrency).
 */
const MODELS = [
  { name: "fraud", file: "fraud.onnx", input: "features", width: 16 },
  { name: "wide", file: "wide.onnx", input: "x", width: 512 },
] as const;
const CONCURRENCIES = [1, 8, 64, 256];
const MAX_QUEUE_DELAY_US = 2000;
const BATCHING_ON = { enabled: true, maxBatchSize: 64, maxQueueDelayUs: BigInt(MAX_QUEUE_DELAY_US), preferredBatchSizes: [8, 16, 32, 64] };
const BATCHING_OFF = { enabled: false };

interface Point {
  model: string;
  batching: "on" | "off";
  concurrency: number;
  rowsPerSecond: number;
  p50Ms: number;
  p99Ms: number;
  errors: number;
  meanBatch: number;
  /** Replica CPU time (all threads) over the point ÷ requests answered, µs. */
  cpuUsPerRequest: number;
  ceiling: number;
  ceilingFrom: "ort" | "rpc";
  ort: RawOrtResult;
}

async function main(): Promise<void> {
  const options = readBenchOptions();
  const mesh = await startBenchMesh();
  const targets: string[] = [];
  try {
    const served: string[] = [];
    for (const m of MODELS) {
      await mesh.pushModel(`${m.name}-on`, m.file, BATCHING_ON);
      await mesh.pushModel(`${m.name}-off`, m.file, BATCHING_OFF);
      served.push(`${m.name}-on`, `${m.name}-off`);
    }
    const replica = await mesh.startReplica(served, { TESSERA_INTRA_OP_THREADS: String(options.intraOpThreads) });
    console.log(`inference bench: one row per request, ${options.warmupMs} ms warm-up + ${options.durationMs} ms per point, load from a separate process`);
    console.log(`batching on: maxBatchSize 64, maxQueueDelayUs ${MAX_QUEUE_DELAY_US}, preferred [8,16,32,64]; intra-op threads ${options.intraOpThreads}`);
    console.log(`replica RSS with ${served.join(", ")} loaded: ${(await replica.rssMb()).toFixed(1)} MB`);

    const ortCache = new Map<string, RawOrtResult>();
    const rawOrt = async (m: (typeof MODELS)[number], batch: number) => {
      const key = `${m.name}/${batch}`;
      let result = ortCache.get(key);
      if (!result) {
        result = await measureRawOrt(m.file, m.input, m.width, batch, options.intraOpThreads);
        ortCache.set(key, result);
      }
      return result;
    };

    const widths = [6, 8, 5, 10, 9, 9, 7, 7, 8, 10, 8, 6];
    console.log("cpu µs: replica process CPU (all threads) over the point ÷ requests answered; bare: the bare RPC server's per call");
    console.log(formatRow(["model", "batching", "conc", "rows/s", "p50 ms", "p99 ms", "errors", "batch", "cpu µs", "ceiling", "of ceil", "from"], widths));
    const points: Point[] = [];
    const barePoints = new Map<string, { p99Ms: number; cpuUsPerCall: number }>();
    for (const m of MODELS) {
      const sample = await replica.client.predict(create(PredictRequestSchema, oneRowRequest(`${m.name}-off`, m.name)));
      const bare = await spawnBareServer(responseAsArg(sample));
      const bareRate = new Map<number, number>();
      try {
        for (const concurrency of CONCURRENCIES) {
          const job = { concurrency, durationMs: options.durationMs, warmupMs: options.warmupMs };
          const b = await withCpuPerCall(bare.pid, () => spawnLoad({ ...job, address: bare.address, request: oneRowRequest(`${m.name}-off`, m.name) }));
          bareRate.set(concurrency, b.callsPerSecond);
          barePoints.set(`${m.name}/${concurrency}`, b);
          console.log(formatRow([m.name, "bare", String(concurrency), b.callsPerSecond, b.p50Ms, b.p99Ms, String(b.errors), "", b.cpuUsPerCall, "", "", ""], widths));
          for (const batching of ["on", "off"] as const) {
            const servedName = `${m.name}-${batching}`;
            const before = await executions(replica, servedName);
            const r = await withCpuPerCall(replica.pid, () => spawnLoad({ ...job, address: replica.grpcAddress, request: oneRowRequest(servedName, m.name) }));
            const after = await executions(replica, servedName);
            // Over warm-up and measurement both: the batch sizes the load saw.
            const meanBatch = Number(after.inferences - before.inferences) / Math.max(1, Number(after.executions - before.executions));
            const ort = await rawOrt(m, Math.max(1, Math.round(meanBatch)));
            const rpc = bareRate.get(concurrency)!;
            const point: Point = {
              model: m.name,
              batching,
              concurrency,
              rowsPerSecond: r.callsPerSecond,
              p50Ms: r.p50Ms,
              p99Ms: r.p99Ms,
              errors: r.errors,
              meanBatch,
              cpuUsPerRequest: r.cpuUsPerCall,
              ceiling: Math.min(ort.rowsPerSecond, rpc),
              ceilingFrom: ort.rowsPerSecond <= rpc ? "ort" : "rpc",
              ort,
            };
            points.push(point);
            console.log(
              formatRow(
                [m.name, batching, String(concurrency), point.rowsPerSecond, point.p50Ms, point.p99Ms, String(point.errors), point.meanBatch, point.cpuUsPerRequest, point.ceiling, point.rowsPerSecond / point.ceiling, point.ceilingFrom],
                widths,
              ) + (r.firstError ? `  first error: ${r.firstError}` : ""),
            );
          }
        }
      } finally {
        await bare.stop();
      }
      console.log(`  ${m.name}: raw onnxruntime-node ` + [...ortCache.values()].filter((_, i) => [...ortCache.keys()][i]!.startsWith(`${m.name}/`)).map((o) => `batch ${o.batchSize}: ${Math.round(o.rowsPerSecond)} rows/s (${o.msPerRun.toFixed(2)} ms/run)`).join("; "));
      console.log(`  ${m.name}: bare RPC calls/s ` + CONCURRENCIES.map((c) => `c${c}: ${Math.round(bareRate.get(c)!)}`).join(", "));
    }

    const at = (model: string, batching: "on" | "off", c: number) => points.find((p) => p.model === model && p.batching === batching && p.concurrency === c)!;
    for (const model of ["fraud", "wide"]) {
      const p = at(model, "on", 64);
      targets.push(targetLine(`served-vs-ceiling-c64-${model}`, p.rowsPerSecond / p.ceiling, 0.6) + ` [ceiling: ${p.ceilingFrom === "ort" ? `raw ORT at batch ${p.ort.batchSize}` : "bare RPC"}]`);
    }
    targets.push(targetLine("batching-on-vs-off-c64-wide", at("wide", "on", 64).rowsPerSecond / at("wide", "off", 64).rowsPerSecond, 5));
    const c8 = at("wide", "on", 8);
    // A request at c=8 should wait at most the RPC's own tail, the queue delay and one model run.
    const bareC8 = barePoints.get("wide/8")!;
    const bound = bareC8.p99Ms + MAX_QUEUE_DELAY_US / 1000 + c8.ort.msPerRun;
    console.log(
      `wide c=8 batching on: p99 ${c8.p99Ms.toFixed(2)} ms vs bare RPC p99 ${bareC8.p99Ms.toFixed(2)} ms + max_queue_delay 2 ms + compute ${c8.ort.msPerRun.toFixed(2)} ms at batch ${c8.ort.batchSize} = ${bound.toFixed(2)} ms`,
    );
    targets.push(targetLineAtMost("p99-c8-wide-within-rpc-plus-delay-plus-compute", c8.p99Ms, bound, { unit: " ms" }));
    for (const model of ["fraud", "wide"]) {
      const p = at(model, "off", 64);
      const b = barePoints.get(`${model}/64`)!;
      console.log(`${model} c=64 batching off: replica ${p.cpuUsPerRequest.toFixed(0)} µs CPU per request, bare RPC ${b.cpuUsPerCall.toFixed(0)} µs per call`);
    }

    targets.push(await soak(replica, options.soakSeconds));
  } finally {
    await mesh.stop();
  }
  for (const line of targets) console.log(line);
  process.exit(0);
}

async function executions(replica: BenchReplica, name: string): Promise<{ inferences: bigint; executions: bigint }> {
  const { modelStats } = await replica.oip.modelStatistics({ name, version: "" });
  return { inferences: modelStats[0]?.inferenceCount ?? 0n, executions: modelStats[0]?.executionCount ?? 0n };
}

/** fraud with batching at c=64 for `seconds`, RSS sampled every 5 s: does the replica hold its memory under steady load? */
async function soak(replica: BenchReplica, seconds: number): Promise<string> {
  const samples: number[] = [await replica.rssMb()];
  const load = spawnLoad({ address: replica.grpcAddress, request: oneRowRequest("fraud-on", "fraud"), concurrency: 64, durationMs: seconds * 1000, warmupMs: 0 });
  let done = false;
  void load.finally(() => (done = true));
  while (!done) {
    await new Promise((resolve) => setTimeout(resolve, 5_000));
    samples.push(await replica.rssMb());
  }
  const result = await load;
  // Growth under load: the median of the last four samples over that of the first four taken under load. The idle
  // sample before the load is printed, not compared (the step to a loaded heap is not growth), and a median of four
  // rides over one GC's swing of ±25 MB, where a leak moves every late sample.
  const loaded = samples.slice(1);
  const early = median(loaded.slice(0, 4));
  const late = median(loaded.slice(-4));
  const max = Math.max(...samples);
  console.log(`memory soak: fraud-on c=64 for ${seconds} s, ${Math.round(result.callsPerSecond)} rows/s, ${result.errors} errors`);
  console.log(
    `  replica RSS MB every 5 s: ${samples.map((s) => s.toFixed(1)).join(" ")}; idle ${samples[0]!.toFixed(1)}, ` +
      `first 20 s under load (median) ${early.toFixed(1)}, last 20 s ${late.toFixed(1)}, max ${max.toFixed(1)}`,
  );
  return targetLineAtMost(`rss-growth-${seconds}s`, late - early, 20, { unit: " MB", digits: 1 });
}

function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length / 2;
  return sorted.length % 2 === 1 ? sorted[Math.floor(mid)]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

main().catch((error: unknown) => {
  console.error(`inference bench failed: ${String((error as Error)?.stack ?? error)}`);
  process.exit(1);
});
