import { readFile } from "node:fs/promises";
import { fileURLToPath } from "node:url";
import { timestampFromMs } from "@bufbuild/protobuf/wkt";
import { AckPolicy, jetstream, jetstreamManager } from "@nats-io/jetstream";
import { Redis } from "ioredis";
import { FeatureService, ValueType } from "../../libs/gen/tessera/feature/v1/feature_pb.js";
import { DataType } from "../../libs/gen/tessera/registry/v1/signature_pb.js";
import { createMeshClient } from "../../libs/host/index.js";
import { connectNats } from "../../libs/nats/index.js";
import { uploadModelVersion } from "../../libs/registry-client/index.js";
import { startRedisServer, uniqueName } from "../../libs/testing/index.js";
import { repoRoot } from "../../mesh/launcher/repo-root.js";
import { exampleModel, fraudFeatureBinding, fraudFeatureDefinitions, fraudFeatureRow, fraudModelRow, FRAUD_VIEW } from "../../mesh/models/index.js";
import { startBenchMesh } from "./support/bench-mesh.js";
import { readBenchOptions } from "./support/bench-options.js";
import { runClosedLoop, type ClosedLoopResult } from "./support/closed-loop.js";
import { formatRow } from "./support/format.js";
import { freePort } from "./support/free-port.js";
import { spawnLoad } from "./support/spawn-load.js";
import { spawnService } from "./support/spawn-service.js";
import { targetLine } from "./support/target-line.js";

/**
 * Issue 9 (feature service): GetOnlineFeatures against raw pipelined
 * ioredis reads of the same hashes; push ingestion against the lower of
 * raw JetStream consumption and raw pipelined ioredis writes; entity-keyed
 * Predict against tensor Predict. Every ceiling is measured in the same run
 * on a private Redis. The feature service is a process of its own (as in
 * the mesh), so its encoding does not share a thread with the load's
 * decoding; the gRPC load and the ioredis ceiling run in this process.
 */
const FEATURES = 20;
const FEATURE_MAIN = fileURLToPath(new URL("../../services/feature/main.js", import.meta.url));
const INGEST_MESSAGES = Number(process.env.BENCH_INGEST_MESSAGES ?? 5000);

async function main(): Promise<void> {
  const options = readBenchOptions();
  const targets: string[] = [];
  const redisServer = await startRedisServer();
  const mesh = await startBenchMesh();
  const nc = await connectNats({ servers: mesh.natsUrl, name: "bench-feature-push" });
  const bucket = uniqueName("bench_feat");
  const pushPrefix = uniqueName("bench_push");
  const pushStream = uniqueName("BENCH_PUSH");
  const keyPrefix = `${uniqueName("tf")}:`;
  const grpcPort = await freePort();
  const httpPort = await freePort();
  const feature = await spawnService(
    FEATURE_MAIN,
    {
      NATS_URL: mesh.natsUrl,
      REDIS_URL: redisServer.url,
      TESSERA_STORE: "nats",
      TESSERA_FEATURE_ONLINE_STORE: "redis",
      TESSERA_FEATURE_GRPC_PORT: String(grpcPort),
      TESSERA_FEATURE_HTTP_PORT: String(httpPort),
      TESSERA_FEATURE_BUCKET: bucket,
      TESSERA_FEATURE_KEY_PREFIX: keyPrefix,
      TESSERA_FEATURE_MAX_FUTURE_SKEW_MS: "60000",
      TESSERA_FEATURE_PUSH_PREFIX: pushPrefix,
      TESSERA_FEATURE_PUSH_STREAM: pushStream,
      TESSERA_FEATURE_CACHE_TTL_MS: "0",
      TESSERA_LOG_LEVEL: "info",
    },
    (line) => line.includes('"listening"'),
  );
  const featureAddress = `127.0.0.1:${grpcPort}`;
  const client = createMeshClient(FeatureService, { address: featureAddress, defaultTimeoutMs: 30_000 });
  const raw = new Redis(redisServer.url);
  try {
    console.log(`features bench: ${options.warmupMs} ms warm-up + ${options.durationMs} ms per point; feature service a process of its own, its load and the ioredis ceiling in this one, Redis private`);
    // 1. GetOnlineFeatures: 20 double features, 100 entities written.
    const names = Array.from({ length: FEATURES }, (_, i) => `f${i}`);
    await client.client.applyDefinitions({
      entities: [{ name: "user" }],
      featureViews: [{ name: "user_stats", entities: ["user"], features: names.map((name) => ({ name, type: ValueType.DOUBLE })) }],
    });
    const now = Date.now();
    await client.client.writeOnlineFeatures({
      view: "user_stats",
      rows: Array.from({ length: 100 }, (_, e) => ({ entityKey: `u${e}`, eventTime: timestampFromMs(now), values: Object.fromEntries(names.map((n, i) => [n, { kind: { case: "doubleValue" as const, value: e + i / 100 } }])) })),
    });
    const refs = names.map((n) => `user_stats:${n}`);
    const widths = [10, 9, 5, 10, 9, 9, 14];
    console.log(formatRow(["path", "entities", "conc", "calls/s", "p50 ms", "p99 ms", "values/s"], widths));
    const row = (path: string, entities: number, c: number, r: ClosedLoopResult) =>
      console.log(formatRow([path, String(entities), String(c), r.callsPerSecond.toFixed(0), r.p50Ms.toFixed(2), r.p99Ms.toFixed(2), (r.callsPerSecond * entities * FEATURES).toFixed(0)], widths) + (r.errors ? `  errors ${r.errors}: ${r.firstError}` : ""));
    let ratio100c32 = 0;
    for (const entities of [1, 10, 100]) {
      const keys = Array.from({ length: entities }, (_, i) => `u${i}`);
      const redisKeys = keys.map((k) => `${keyPrefix}{user:${k}}:user_stats`);
      for (const concurrency of [1, 32]) {
        const job = { concurrency, durationMs: options.durationMs, warmupMs: options.warmupMs };
        const served = await runClosedLoop(() => client.client.getOnlineFeatures({ features: refs, entityKeys: keys }), job);
        row("grpc", entities, concurrency, served);
        const ceiling = await runClosedLoop(() => {
          const pipeline = raw.pipeline();
          for (const key of redisKeys) pipeline.hmgetBuffer(key, "_t", ...names);
          return pipeline.exec();
        }, job);
        row("ioredis", entities, concurrency, ceiling);
        const ratio = served.callsPerSecond / ceiling.callsPerSecond;
        console.log(`  grpc / raw ioredis at ${entities} entities, c=${concurrency}: ${ratio.toFixed(2)}`);
        if (entities === 100 && concurrency === 32) ratio100c32 = ratio;
      }
    }
    targets.push(targetLine("get-online-features-vs-ioredis-100x20-c32", ratio100c32, 0.5));

    // 2. Ingestion: messages published first, then consumed by (a) the service, (b) a raw consumer; and (c) raw pipelined writes.
    const body = (i: number) => JSON.stringify({ entity_key: `i${i}`, event_time: now, values: Object.fromEntries(names.map((n, j) => [n, i + j])) });
    const js = jetstream(nc);
    const subject = `${pushPrefix}.user_stats`;
    const rawSubject = `${pushPrefix}.raw`;
    for (let i = 0; i < INGEST_MESSAGES; i += 500) {
      await Promise.all(Array.from({ length: Math.min(500, INGEST_MESSAGES - i) }, (_, j) => js.publish(subject, body(i + j))));
      await Promise.all(Array.from({ length: Math.min(500, INGEST_MESSAGES - i) }, (_, j) => js.publish(rawSubject, body(i + j))));
    }
    const written = async () => {
      const text = await (await fetch(`http://127.0.0.1:${httpPort}/metrics`)).text();
      return text.split("\n").filter((line) => line.startsWith("tessera_feature_rows_written_total{") && line.includes('source="push"')).reduce((sum, line) => sum + Number(line.slice(line.lastIndexOf(" ") + 1)), 0);
    };
    let began = performance.now();
    await client.client.applyDefinitions({
      featureViews: [{ name: "user_stats", entities: ["user"], pushSource: { subject }, features: names.map((name) => ({ name, type: ValueType.DOUBLE })) }],
    });
    while ((await written()) < INGEST_MESSAGES) await new Promise((resolve) => setTimeout(resolve, 20));
    const serviceRate = INGEST_MESSAGES / ((performance.now() - began) / 1000);

    const jsm = await jetstreamManager(nc);
    await jsm.consumers.add(pushStream, { durable_name: "raw", filter_subject: rawSubject, ack_policy: AckPolicy.Explicit });
    const rawConsumer = await js.consumers.get(pushStream, "raw");
    began = performance.now();
    const messages = await rawConsumer.consume({ max_messages: 512 });
    let seen = 0;
    for await (const message of messages) {
      JSON.parse(new TextDecoder().decode(message.data));
      message.ack();
      if (++seen >= INGEST_MESSAGES) break;
    }
    await messages.close();
    const jetstreamRate = INGEST_MESSAGES / ((performance.now() - began) / 1000);

    began = performance.now();
    for (let i = 0; i < INGEST_MESSAGES; i += 512) {
      const pipeline = raw.pipeline();
      for (let j = i; j < Math.min(i + 512, INGEST_MESSAGES); j++) {
        const fields: (string | Buffer)[] = ["_t", String(now)];
        names.forEach((n, k) => {
          const b = Buffer.alloc(8);
          b.writeDoubleLE(j + k);
          fields.push(n, b);
        });
        pipeline.hset(`${keyPrefix}raw:{user:i${j}}`, ...fields);
      }
      await pipeline.exec();
    }
    const redisRate = INGEST_MESSAGES / ((performance.now() - began) / 1000);
    const ingestCeiling = Math.min(jetstreamRate, redisRate);
    console.log(`\ningestion of ${INGEST_MESSAGES} messages × ${FEATURES} features: service ${serviceRate.toFixed(0)} msg/s; raw JetStream consume ${jetstreamRate.toFixed(0)} msg/s; raw pipelined ioredis writes ${redisRate.toFixed(0)} rows/s`);
    console.log(`  service / min(raw) : ${(serviceRate / ingestCeiling).toFixed(2)}`);
    targets.push(targetLine("push-ingestion-vs-raw", serviceRate / ingestCeiling, 0.5));

    // 3. Entity-keyed Predict (fraud) against tensor Predict, c=64, from a separate process.
    await client.client.applyDefinitions(fraudFeatureDefinitions());
    const sample = exampleModel("fraud").sampleRow(7).get("features")!.data as Float32Array;
    await client.client.writeOnlineFeatures({ view: FRAUD_VIEW, rows: [fraudFeatureRow("card-7", sample)] });
    const artifact = await readFile(`${repoRoot()}/models/fraud.onnx`);
    await uploadModelVersion(mesh.registry, { model: "fraud", createModel: true, aliases: ["production"], batching: { enabled: false }, featureBinding: fraudFeatureBinding() }, artifact);
    const replica = await mesh.startReplica(["fraud"], { TESSERA_INTRA_OP_THREADS: String(options.intraOpThreads), TESSERA_FEATURE_ADDRESS: featureAddress });
    const job = { concurrency: 64, durationMs: options.durationMs, warmupMs: options.warmupMs, address: replica.grpcAddress };
    const byEntity = await spawnLoad({ ...job, request: { model: "fraud", entityKeys: ["card-7"] } });
    const byTensor = await spawnLoad({ ...job, request: { model: "fraud", inputs: [{ name: "features", dtype: DataType.FLOAT32, shape: [1n, 16n], floatData: [...fraudModelRow(sample)] }] } });
    console.log(`\nfraud Predict at c=64: entity-keyed ${byEntity.callsPerSecond.toFixed(0)} calls/s (p50 ${byEntity.p50Ms.toFixed(2)} ms, p99 ${byEntity.p99Ms.toFixed(2)} ms, errors ${byEntity.errors}${byEntity.firstError ? `: ${byEntity.firstError}` : ""}); tensor ${byTensor.callsPerSecond.toFixed(0)} calls/s (p50 ${byTensor.p50Ms.toFixed(2)} ms, p99 ${byTensor.p99Ms.toFixed(2)} ms)`);
    targets.push(targetLine("entity-predict-vs-tensor-predict-c64", byEntity.callsPerSecond / byTensor.callsPerSecond, 0.6));
  } finally {
    raw.disconnect();
    client.close();
    await feature.stop();
    const jsm = await jetstreamManager(nc).catch(() => undefined);
    await jsm?.streams.delete(pushStream).catch(() => false);
    await jsm?.streams.delete(`KV_${bucket}`).catch(() => false);
    await nc.close();
    await mesh.stop();
    await redisServer.stop();
  }
  for (const line of targets) console.log(line);
  process.exit(0);
}

main().catch((error: unknown) => {
  console.error(`features bench failed: ${String((error as Error)?.stack ?? error)}`);
  process.exit(1);
});
