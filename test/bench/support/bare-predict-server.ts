import { create } from "@bufbuild/protobuf";
import { InferenceService, PredictResponseSchema, type PredictResponse } from "../../../libs/gen/tessera/inference/v1/inference_pb.js";
import { serve, shutdownOnSignals, startService } from "../../../libs/host/index.js";
import { createLogger } from "../../../libs/log/index.js";
import { reviveBigInts } from "./load-worker.js";

/**
 * The RPC ceiling: the same InferenceService on the same host code, with
 * Predict answering a fixed response of the real one's shape and no model.
 * argv[2]: gRPC port; argv[3]: the response, as protobuf JSON.
 */
async function main(): Promise<void> {
  const port = Number(process.argv[2]);
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
  process.stdout.write("ready\n");
}

main().catch((error: unknown) => {
  process.stderr.write(`bare server: ${String(error)}\n`);
  process.exit(1);
});
