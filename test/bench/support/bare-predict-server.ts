import cluster from "node:cluster";
import { create } from "@bufbuild/protobuf";
import { InferenceService, PredictResponseSchema, type PredictResponse } from "../../../libs/gen/tessera/inference/v1/inference_pb.js";
import { serve, shutdownOnSignals, startService } from "../../../libs/host/index.js";
import { createLogger } from "../../../libs/log/index.js";
import { reviveBigInts } from "./load-worker.js";

/**
 * The RPC ceiling: the same InferenceService on the same host code, with
 * Predict answering a fixed response of the real one's shape and no model.
 * argv[2]: gRPC port; argv[3]: the response, as protobuf JSON; argv[4]:
 * event loops (default 1). With more than one, node:cluster workers serve
 * the port and the primary hands connections out round-robin: what a
 * front end on several loops could reach at most.
 */
async function main(): Promise<void> {
  const port = Number(process.argv[2]);
  const loops = Number(process.argv[4] ?? 1);
  if (loops > 1 && cluster.isPrimary) {
    cluster.schedulingPolicy = cluster.SCHED_RR;
    let ready = 0;
    for (let i = 0; i < loops; i++) {
      cluster.fork().on("message", (message) => {
        if (message === "ready" && ++ready === loops) process.stdout.write("ready\n");
      });
    }
    const stop = () => {
      for (const worker of Object.values(cluster.workers ?? {})) worker?.kill("SIGTERM");
      process.exit(0);
    };
    process.once("SIGTERM", stop);
    process.once("SIGINT", stop);
    return;
  }
  const response: PredictResponse = create(PredictResponseSchema, JSON.parse(process.argv[3] ?? "{}", reviveBigInts) as object);
  const logger = createLogger("bare", { level: "warn" });
  const host = await startService({
    name: "bare",
    services: [serve(InferenceService, { predict: () => response })],
    grpcPort: port,
    httpPort: 0,
    logger,
  });
  host.setReady(true);
  shutdownOnSignals(host, logger);
  if (cluster.isWorker) process.send?.("ready");
  else process.stdout.write("ready\n");
}

main().catch((error: unknown) => {
  process.stderr.write(`bare server: ${String(error)}\n`);
  process.exit(1);
});
