import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { create } from "@bufbuild/protobuf";
import { AckPolicy, DeliverPolicy, jetstream, jetstreamManager } from "@nats-io/jetstream";
import { connect } from "@nats-io/transport-node";
import { LoggedTensorSchema, PredictionLogSchema } from "../../libs/gen/tessera/events/v1/prediction_log_pb.js";
import { FeatureKind, FeatureRole } from "../../libs/gen/tessera/registry/v1/profile_pb.js";
import { silentLogger } from "../../libs/log/index.js";
import { mulberry32 } from "../../libs/onnx/index.js";
import { ensurePredictionLogStreams, natsPredictionLogTransport, predictionLogNames, PredictionLogPublisher } from "../../libs/prediction-log/index.js";
import { ProfileBuilder, type FeatureSlot } from "../../libs/profiles/index.js";
import { startNatsServer } from "../../libs/testing/index.js";
import { DriftMonitor } from "../../services/monitoring/drift-monitor.js";
import { datasetDrift, ksTwoSample, resolveDriftOptions, type FeatureReference, type FeatureWindow } from "../../services/monitoring/drift/index.js";
import { groupedAcks } from "../../services/monitoring/grouped-acks.js";
import { startLogConsumer } from "../../services/monitoring/log-consumer.js";
import { startBenchMesh } from "./support/bench-mesh.js";
import { printLogEncodingCost } from "./support/log-encoding-cost.js";
import { readBenchOptions } from "./support/bench-options.js";
import { formatRow } from "./support/format.js";
import { oneRowRequest } from "./support/predict-request.js";
import { withCpuPerCall } from "./support/process-cpu.js";
import { spawnLoad } from "./support/spawn-load.js";
import { targetLine } from "./support/target-line.js";

/**
 * Issue "monitoring": (1) prediction logs consumed and analysed per second
 * against raw JetStream consumption of the same messages in the same run;
 * (2) one full drift report, 100 numeric features, 10,000-value window vs a
 * 10,000-row reference, and KS over the same data against SciPy's ks_2samp
 * when /usr/bin/python3 has SciPy; (3) replica throughput with prediction
 * logging at 100 % sampling against logging off, in the same run; and,
 * printed without a target, what one log costs the replica before NATS.
 */
const LOGS = Number(process.env.BENCH_MONITORING_LOGS ?? 20_000);
const FEATURES = 16;
// A mesh of its own (TESSERA_MESH), so the bench runs the namespaced names a second mesh on a shared NATS would.
const MESH = "bench";
const STREAM = predictionLogNames(MESH).stream;

async function consumption(): Promise<number> {
  const nats = await startNatsServer();
  const nc = await connect({ servers: nats.url });
  try {
    const random = mulberry32(1);
    const slots: FeatureSlot[] = Array.from({ length: FEATURES }, (_, j) => ({
      name: `features[${j}]`, tensor: "features", column: j, width: FEATURES, role: FeatureRole.INPUT, kinds: [FeatureKind.NUMERIC], dtype: 1,
    }));
    const builder = new ProfileBuilder(slots, () => FeatureKind.NUMERIC);
    for (let i = 0; i < 5000; i++) builder.add(slots.map(() => random()), `row ${i}`);
    const profile = builder.finish("bench");
    const publisher = new PredictionLogPublisher({ transport: natsPredictionLogTransport(nc, { mesh: MESH }), source: "bench", maxBuffered: LOGS + 1 });
    await ensurePredictionLogStreams(nc, { mesh: MESH });
    for (let i = 0; i < LOGS; i++) {
      publisher.offer("bench", 1, 1, () =>
        create(PredictionLogSchema, {
          requestId: `r${i}`, model: "bench", version: 1, rows: 1, latencyUs: 900n,
          inputs: [create(LoggedTensorSchema, { name: "features", shape: [1n, BigInt(FEATURES)], numbers: slots.map(() => random()) })],
          outputs: [create(LoggedTensorSchema, { name: "score", shape: [1n, 1n], numbers: [random()] })],
        }),
      );
    }
    await publisher.close();
    console.log(`published ${publisher.stats().published} logs of ${FEATURES} features to ${STREAM}`);

    // Raw ceiling: a durable pull consumer that only acknowledges, in groups as the log consumer does.
    const js = jetstream(nc);
    const jsm = await jetstreamManager(nc);
    await jsm.consumers.add(STREAM, { durable_name: "raw", ack_policy: AckPolicy.Explicit, deliver_policy: DeliverPolicy.All, max_ack_pending: 1000 });
    const raw = await js.consumers.get(STREAM, "raw");
    let t0 = performance.now();
    let n = 0;
    const messages = await raw.consume({ max_messages: 256 });
    const acks = groupedAcks();
    for await (const m of messages) {
      acks.handled(m);
      if (++n === LOGS) break;
    }
    acks.flush();
    const rawPerSecond = LOGS / ((performance.now() - t0) / 1000);

    // Monitoring: decode, window, and a drift report at the end.
    const monitor = new DriftMonitor({ profiles: async () => profile, windowSize: 10_000 });
    let consumed = 0;
    let done: () => void = () => {};
    const finished = new Promise<void>((resolve) => (done = resolve));
    t0 = performance.now();
    const consumer = await startLogConsumer(nc, {
      mesh: MESH,
      durable: "monitoring",
      // The logs were published before it starts.
      startAt: "all",
      handle: async (log, timeMs) => {
        await monitor.ingest(log, timeMs);
        if (++consumed === LOGS) done();
      },
      logger: silentLogger,
    });
    await finished;
    await monitor.evaluateAll();
    const analysedPerSecond = LOGS / ((performance.now() - t0) / 1000);
    await consumer.stop();
    console.log(`raw JetStream consumption: ${rawPerSecond.toFixed(0)} logs/s; monitoring (decode + windows + one report): ${analysedPerSecond.toFixed(0)} logs/s`);
    return analysedPerSecond / rawPerSecond;
  } finally {
    await nc.close();
    await nats.stop();
  }
}

function driftReport(): void {
  const random = mulberry32(2);
  const n = 10_000;
  const column = (shift: number) => Float64Array.from({ length: n }, () => shift + Math.sqrt(-2 * Math.log(1 - random())) * Math.cos(2 * Math.PI * random()));
  const refs = Array.from({ length: 100 }, () => column(0));
  const curs = Array.from({ length: 100 }, (_, i) => column(i % 2 ? 0.05 : 0));
  const references = new Map<string, FeatureReference>();
  const windows = new Map<string, FeatureWindow>();
  refs.forEach((values, i) => {
    const sorted = [...values].sort((a, b) => a - b);
    const mean = sorted.reduce((s, x) => s + x, 0) / n;
    const std = Math.sqrt(sorted.reduce((s, x) => s + (x - mean) ** 2, 0) / n);
    references.set(`f${i}`, {
      kind: "numeric", count: n, std, exact: false, histogramEdges: [sorted[0]!, sorted[n - 1]!], histogramCounts: [n],
      values: Array.from({ length: 200 }, (_, q) => sorted[Math.floor(((q + 0.5) / 200) * n)]!),
    });
    windows.set(`f${i}`, { kind: "numeric", values: [...curs[i]!] });
  });
  const empty = { references: new Map(), windows: new Map() };
  const options = resolveDriftOptions();
  datasetDrift({ references, windows }, empty, options); // warm-up
  let t0 = performance.now();
  const rounds = 5;
  for (let r = 0; r < rounds; r++) datasetDrift({ references, windows }, empty, options);
  const reportMs = (performance.now() - t0) / rounds;
  console.log(`full drift report (default tests: normalized Wasserstein vs the 200-quantile sketch), 100 features × 10,000 values: ${reportMs.toFixed(1)} ms`);

  t0 = performance.now();
  for (let i = 0; i < 100; i++) ksTwoSample(refs[i]!, curs[i]!);
  const ksMs = performance.now() - t0;
  console.log(`ksTwoSample on the raw data, 100 features × (10,000 vs 10,000): ${ksMs.toFixed(1)} ms`);

  const dir = mkdtempSync(join(tmpdir(), "tessera-bench-ks-"));
  try {
    const all = new Float64Array(200 * n);
    refs.forEach((v, i) => all.set(v, i * n));
    curs.forEach((v, i) => all.set(v, (100 + i) * n));
    writeFileSync(join(dir, "data.f64"), all);
    const script = `import sys, time, numpy as np\nfrom scipy import stats\nd = np.fromfile(sys.argv[1]).reshape(200, ${n})\nt = time.perf_counter()\nfor i in range(100): stats.ks_2samp(d[i], d[100 + i])\nprint((time.perf_counter() - t) * 1000)\n`;
    const run = spawnSync("/usr/bin/python3", ["-c", script, join(dir, "data.f64")], { encoding: "utf8" });
    if (run.status === 0) {
      const scipyMs = Number(run.stdout.trim());
      console.log(`scipy.stats.ks_2samp over the same data: ${scipyMs.toFixed(1)} ms; ours / scipy time: ${(ksMs / scipyMs).toFixed(2)} (printed, not a target)`);
    } else {
      console.log("scipy.stats.ks_2samp: /usr/bin/python3 with SciPy not found (apt-get install -y python3-scipy); no ratio");
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/**
 * One-row Predict of fraud (batching off) at 64 in flight, load from a
 * separate process, against two replicas of the same version side by side:
 * one logging every request (TESSERA_PREDICTION_LOG_SAMPLE_RATE=1, the
 * default) to JetStream, one with logging off (0: no log connection at all).
 * They are measured alternately, ROUNDS times each, the order flipped each
 * round, so a busy machine's drift weighs on both; the ratio is of the
 * summed calls.
 */
async function loggingThroughput(): Promise<number> {
  const options = readBenchOptions();
  const rounds = Number(process.env.BENCH_LOGGING_ROUNDS ?? 3);
  const mesh = await startBenchMesh();
  try {
    // A name of its own: a monitoring service on the same NATS (tessera up) should not mistake these logs for its fraud's.
    const model = `bench-logging-${process.pid}`;
    await mesh.pushModel(model, "fraud.onnx", { enabled: false });
    const common = { TESSERA_INTRA_OP_THREADS: String(options.intraOpThreads) };
    const logging = await mesh.startReplica([model], { ...common, TESSERA_PREDICTION_LOG_SAMPLE_RATE: "1" });
    const silent = await mesh.startReplica([model], { ...common, TESSERA_PREDICTION_LOG_SAMPLE_RATE: "0" });
    const request = oneRowRequest(model, "fraud");
    console.log(`\nreplica throughput, logging at 100 % vs off: one-row Predict of fraud (batching off), c=64, ${options.warmupMs} ms warm-up + ${options.durationMs} ms per point, ${rounds} rounds alternating, NATS ${mesh.natsUrl}`);
    const widths = [12, 6, 10, 9, 9, 7, 8];
    console.log(formatRow(["logging", "round", "calls/s", "p50 ms", "p99 ms", "errors", "cpu µs"], widths));
    const totals = { on: { calls: 0, ms: 0, cpu: 0 }, off: { calls: 0, ms: 0, cpu: 0 } };
    for (let round = 1; round <= rounds; round++) {
      const order = round % 2 === 1 ? (["on", "off"] as const) : (["off", "on"] as const);
      for (const which of order) {
        const replica = which === "on" ? logging : silent;
        const r = await withCpuPerCall(replica.pid, () => spawnLoad({ request, concurrency: 64, durationMs: options.durationMs, warmupMs: options.warmupMs, address: replica.grpcAddress }));
        console.log(formatRow([which === "on" ? "100 %" : "off", String(round), r.callsPerSecond, r.p50Ms, r.p99Ms, String(r.errors), r.cpuUsPerCall], widths) + (r.firstError ? `  first error: ${r.firstError}` : ""));
        totals[which].calls += r.callsPerSecond * options.durationMs;
        totals[which].ms += options.durationMs;
        totals[which].cpu += r.cpuUsPerCall;
      }
    }
    // Calls/s weighted by the time measured: the mean rate over all rounds.
    const on = totals.on.calls / totals.on.ms;
    const off = totals.off.calls / totals.off.ms;
    console.log(
      `logging at 100 %: ${on.toFixed(0)} calls/s, ${(totals.on.cpu / rounds).toFixed(0)} cpu µs per call; off: ${off.toFixed(0)} calls/s, ${(totals.off.cpu / rounds).toFixed(0)} cpu µs per call; ` +
        `throughput ratio ${(on / off).toFixed(2)}, CPU per call ratio ${(totals.on.cpu / totals.off.cpu).toFixed(2)}`,
    );
    return on / off;
  } finally {
    await mesh.stop();
  }
}

async function main(): Promise<void> {
  console.log(`monitoring bench: ${LOGS} prediction logs through a private nats-server; drift for 100 features; replica throughput with logging on and off`);
  const ratio = await consumption();
  driftReport();
  await printLogEncodingCost();
  const logging = await loggingThroughput();
  console.log(targetLine("monitoring-vs-raw-jetstream-consumption", ratio, 0.5));
  console.log(targetLine("prediction-logging-throughput", logging, 0.9));
  process.exit(0);
}

main().catch((error: unknown) => {
  console.error(`monitoring bench failed: ${String((error as Error)?.stack ?? error)}`);
  process.exit(1);
});
