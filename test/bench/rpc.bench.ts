import { create } from "@bufbuild/protobuf";
import { PredictRequestSchema } from "../../libs/gen/tessera/inference/v1/inference_pb.js";
import { loopsUnsupportedReason } from "../../services/inference/frontend/loop-count.js";
import { startBenchMesh, type BenchMesh } from "./support/bench-mesh.js";
import { readBenchOptions, type BenchOptions } from "./support/bench-options.js";
import { formatRow } from "./support/format.js";
import { IN_TURN_HEADER, IN_TURN_WIDTHS, measureInTurn, warmUp } from "./support/measure-in-turn.js";
import { printMessageBuildingCost } from "./support/message-building-cost.js";
import { withCpuPerCall } from "./support/process-cpu.js";
import { oneRowRequest, responseAsArg, type PredictRequestInit } from "./support/predict-request.js";
import { spawnBareServer } from "./support/spawn-bare-server.js";
import { spawnLoad } from "./support/spawn-load.js";
import { targetLine, targetLineAtMost } from "./support/target-line.js";

/** Rounds of each table, its servers loaded in turn; ratios are of the sums. */
const ROUNDS = 2;

/**
 * Issue "foundation": what the replica's gRPC Predict path costs over the
 * bare RPC. One-row Predict of fraud (batching off) against the same
 * InferenceService on the same host code answering a fixed response of
 * identical shape, load from a separate process.
 */
async function main(): Promise<void> {
  const options = readBenchOptions();
  const mesh = await startBenchMesh();
  const targets: string[] = [];
  try {
    await mesh.pushModel("fraud", "fraud.onnx", { enabled: false });
    const replica = await mesh.startReplica(["fraud"], { TESSERA_INTRA_OP_THREADS: String(options.intraOpThreads) });
    const request = oneRowRequest("fraud", "fraud");
    const sample = await replica.client.predict(create(PredictRequestSchema, request));
    const bare = await spawnBareServer(responseAsArg(sample));
    console.log(`rpc bench: one-row Predict of fraud (batching off), ${options.warmupMs} ms warm-up + ${options.durationMs} ms per point, load from a separate process`);
    console.log("cpu µs: the server process's CPU time (all threads) over the load ÷ calls it answered");
    console.log(`replica RSS with fraud loaded: ${(await replica.rssMb()).toFixed(1)} MB`);
    printMessageBuildingCost();
    // TESSERA_SESSION_PLACEMENT from the bench's environment reaches the replica; auto (the default) picks per version.
    const served = (await replica.client.listServedModels({})).models.find((m) => m.model === "fraud");
    console.log(`replica session placement: ${served?.sessionPlacement || "?"} (TESSERA_SESSION_PLACEMENT=${process.env.TESSERA_SESSION_PLACEMENT ?? "auto"})`);
    console.log(formatRow(["server", ...IN_TURN_HEADER], IN_TURN_WIDTHS));
    const servers = [
      { name: "predict", address: replica.grpcAddress, pid: replica.pid },
      { name: "bare", address: bare.address, pid: bare.pid },
    ];
    const ratios = new Map<number, { calls: number; cpu: number }>();
    try {
      await warmUp(servers, { request, durationMs: options.durationMs, warmupMs: options.warmupMs });
      for (const concurrency of [1, 64]) {
        const [predictSums, bareSums] = await measureInTurn(servers, { request, concurrency, durationMs: options.durationMs, warmupMs: options.warmupMs, rounds: ROUNDS });
        const ratio = { calls: predictSums!.calls / bareSums!.calls, cpu: predictSums!.cpu / bareSums!.cpu };
        console.log(`  predict / bare at c=${concurrency}: ${ratio.calls.toFixed(2)} of the calls/s, ${ratio.cpu.toFixed(2)}x the CPU per call (sums over ${ROUNDS} rounds)`);
        ratios.set(concurrency, ratio);
      }
    } finally {
      await bare.stop();
    }
    await frontEndScaling(request, responseAsArg(sample), options);
    await replica.stop();
    await predictLoopScaling(mesh, request, options);
    await placementComparison(mesh, request, options);
    targets.push(targetLine("predict-vs-bare-rpc-c1", ratios.get(1)!.calls, 0.7));
    targets.push(targetLine("predict-vs-bare-rpc-c64", ratios.get(64)!.calls, 0.8));
    // Replica CPU µs per Predict over the bare server's per call, at c=64 where both are busy the whole time.
    targets.push(targetLineAtMost("cpu-per-predict-vs-bare-c64", ratios.get(64)!.cpu, 1.5));
  } finally {
    await mesh.stop();
  }
  for (const line of targets) console.log(line);
  process.exit(0);
}

/**
 * How far more event loops could take the front end on this machine: the bare
 * server on one loop and on two node:cluster workers (the primary hands out
 * connections round-robin), each loaded by two load processes (two
 * connections) with 32 calls in flight each. No target: the figures size the
 * front end (docs/inference.md, "Front end").
 */
async function frontEndScaling(request: PredictRequestInit, responseArg: string, options: BenchOptions): Promise<void> {
  const results: { loops: number; calls: number; cpuUs: number }[] = [];
  for (const loops of [1, 2]) {
    const bare = await spawnBareServer(responseArg, loops);
    try {
      const job = { request, concurrency: 32, durationMs: options.durationMs, warmupMs: options.warmupMs, address: bare.address };
      const both = await withCpuPerCall(bare.pid, async () => {
        const parts = await Promise.all([spawnLoad(job), spawnLoad(job)]);
        return { calls: parts[0]!.callsPerSecond + parts[1]!.callsPerSecond, totalCalls: parts[0]!.totalCalls + parts[1]!.totalCalls };
      });
      results.push({ loops, calls: both.calls, cpuUs: both.cpuUsPerCall });
    } finally {
      await bare.stop();
    }
  }
  const [one, two] = results;
  console.log(
    `front-end scaling, bare server, 2 load processes × c=32: 1 loop ${Math.round(one!.calls)} calls/s (${one!.cpuUs.toFixed(0)} µs CPU/call), ` +
      `2 loops (node:cluster) ${Math.round(two!.calls)} calls/s (${two!.cpuUs.toFixed(0)} µs CPU/call): ${(two!.calls / one!.calls).toFixed(2)}x`,
  );
}

/**
 * Predict on a replica with 1 and with 2 front-end loops (TESSERA_FRONTEND_LOOPS),
 * each loaded by two load processes of 4 connections and 32 calls in flight
 * each, so the kernel spreads connections over both loops. No target: on a
 * 2-core machine the load takes a core, so a second loop has little to gain
 * (docs/performance.md, "Front-end loops").
 */
async function predictLoopScaling(mesh: BenchMesh, request: PredictRequestInit, options: BenchOptions): Promise<void> {
  const fallback = loopsUnsupportedReason(process.version, process.platform);
  const results: { loops: number; calls: number; cpuUs: number; errors: number }[] = [];
  for (const loops of [1, 2]) {
    const replica = await mesh.startReplica(["fraud"], { TESSERA_INTRA_OP_THREADS: String(options.intraOpThreads), TESSERA_FRONTEND_LOOPS: String(loops) });
    try {
      const job = { request, concurrency: 32, channels: 4, durationMs: options.durationMs, warmupMs: options.warmupMs, address: replica.grpcAddress };
      const both = await withCpuPerCall(replica.pid, async () => {
        const parts = await Promise.all([spawnLoad(job), spawnLoad(job)]);
        return { calls: parts[0]!.callsPerSecond + parts[1]!.callsPerSecond, totalCalls: parts[0]!.totalCalls + parts[1]!.totalCalls, errors: parts[0]!.errors + parts[1]!.errors };
      });
      results.push({ loops, calls: both.calls, cpuUs: both.cpuUsPerCall, errors: both.errors });
    } finally {
      await replica.stop();
    }
  }
  const [one, two] = results;
  console.log(
    `front-end loops, Predict, 2 load processes × 4 connections × c=32: 1 loop ${Math.round(one!.calls)} calls/s (${one!.cpuUs.toFixed(0)} µs CPU/call, ${one!.errors} errors), ` +
      `2 loops ${Math.round(two!.calls)} calls/s (${two!.cpuUs.toFixed(0)} µs CPU/call, ${two!.errors} errors): ${(two!.calls / one!.calls).toFixed(2)}x` +
      (fallback ? ` (this Node runs one loop either way: ${fallback})` : ""),
  );
}

/**
 * Predict on two replicas of fraud, one with its session on a thread and one
 * on the event loop (TESSERA_SESSION_PLACEMENT), loaded in turn, two rounds
 * each at c=1 and c=64, so the machine's load swings hit both alike. No
 * target: it sizes auto's choice (docs/performance.md, "Session placement").
 */
async function placementComparison(mesh: BenchMesh, request: PredictRequestInit, options: BenchOptions): Promise<void> {
  const placements = ["thread", "event-loop"] as const;
  const replicas = await Promise.all(
    placements.map((placement) => mesh.startReplica(["fraud"], { TESSERA_INTRA_OP_THREADS: String(options.intraOpThreads), TESSERA_SESSION_PLACEMENT: placement })),
  );
  try {
    console.log(`session placement, Predict, one replica per placement loaded in turn, ${ROUNDS} rounds:`);
    console.log(formatRow(["placement", ...IN_TURN_HEADER], IN_TURN_WIDTHS));
    const servers = placements.map((placement, i) => ({ name: placement, address: replicas[i]!.grpcAddress, pid: replicas[i]!.pid }));
    await warmUp(servers, { request, durationMs: options.durationMs, warmupMs: options.warmupMs });
    for (const concurrency of [1, 64]) {
      const [thread, loop] = await measureInTurn(servers, { request, concurrency, durationMs: options.durationMs, warmupMs: options.warmupMs, rounds: ROUNDS });
      console.log(`  event-loop / thread at c=${concurrency}: ${(loop!.calls / thread!.calls).toFixed(2)} of the calls/s, ${(loop!.cpu / thread!.cpu).toFixed(2)}x the CPU per call (sums over ${ROUNDS} rounds)`);
    }
  } finally {
    await Promise.all(replicas.map((r) => r.stop()));
  }
}

main().catch((error: unknown) => {
  console.error(`rpc bench failed: ${String((error as Error)?.stack ?? error)}`);
  process.exit(1);
});
