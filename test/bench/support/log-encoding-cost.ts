import { create, toBinary } from "@bufbuild/protobuf";
import { timestampFromMs } from "@bufbuild/protobuf/wkt";
import { randomUUID } from "node:crypto";
import { LoggedTensorSchema, PredictionLogSchema, RouteDecisionSchema, type PredictionLog } from "../../../libs/gen/tessera/events/v1/prediction_log_pb.js";
import { encodePredictionLog, PredictionLogPublisher } from "../../../libs/prediction-log/index.js";
import { cpuUsPer } from "./process-cpu.js";

/** A one-row fraud request's log, as a replica builds it: 16 input features, one output. */
function fraudLog(): PredictionLog {
  return create(PredictionLogSchema, {
    requestId: randomUUID(),
    model: "fraud",
    version: 1,
    route: create(RouteDecisionSchema, { alias: "production", reason: "alias" }),
    inputs: [create(LoggedTensorSchema, { name: "features", shape: [1n, 16n], numbers: Array.from({ length: 16 }, (_, i) => Math.fround(i * 0.37)) })],
    outputs: [create(LoggedTensorSchema, { name: "probability", shape: [1n, 1n], numbers: [Math.fround(0.42)] })],
    latencyUs: 321n,
    traceId: "0af7651916cd43dd8448eb211c80319c",
    time: timestampFromMs(Date.now()),
    replicaId: "bench-replica",
    rows: 1,
    sampleRate: 1,
  });
}


/**
 * What a log costs the replica before it reaches NATS, on this thread's
 * CPU: its protobuf encoding by protobuf-es's toBinary (the reference) and
 * by encodePredictionLog, and the publisher's whole path (sampling,
 * buffering, CloudEvent headers, encoding, batching) into a transport that
 * stores nothing. Printed, no target: it says how much of logging's cost
 * in the throughput part is ours and how much is NATS.
 */
export async function printLogEncodingCost(count = 50_000): Promise<void> {
  const log = fraudLog();
  let toBinaryUs = 0;
  let handUs = 0;
  // The second round of each, after the JIT has settled.
  for (let round = 0; round < 2; round++) {
    toBinaryUs = cpuUsPer(count, () => toBinary(PredictionLogSchema, log));
    handUs = cpuUsPer(count, () => encodePredictionLog(log));
  }
  const publisher = new PredictionLogPublisher({ transport: { publish: () => Promise.resolve() }, source: "tessera/inference/bench", maxBuffered: count });
  let publisherUs = 0;
  for (let round = 0; round < 2; round++) {
    const start = process.cpuUsage();
    for (let i = 0; i < count; i++) {
      publisher.offer("fraud", 1, 1, fraudLog);
      // Let full batches go out, as they would between requests.
      if (i % 256 === 255) await new Promise((resolve) => setImmediate(resolve));
    }
    await publisher.flush();
    const used = process.cpuUsage(start);
    publisherUs = (used.user + used.system) / count;
  }
  console.log(
    `prediction log, one-row fraud (16 features), CPU per log: toBinary ${toBinaryUs.toFixed(2)} µs, encodePredictionLog ${handUs.toFixed(2)} µs ` +
      `(${(toBinaryUs / handUs).toFixed(1)}x); the publisher's whole path into a transport that stores nothing, building the log included: ${publisherUs.toFixed(2)} µs (printed, no target)`,
  );
}
