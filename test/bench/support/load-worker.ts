import { create, type MessageInitShape } from "@bufbuild/protobuf";
import { InferenceService, PredictRequestSchema } from "../../../libs/gen/tessera/inference/v1/inference_pb.js";
import { createMeshClient } from "../../../libs/host/index.js";
import { runClosedLoop, type ClosedLoopOptions, type ClosedLoopResult } from "./closed-loop.js";

/** What the parent asks a load worker to do (argv[2], JSON). */
export interface LoadWorkerJob extends ClosedLoopOptions {
  /** host:port of a gRPC port serving tessera.inference.v1.InferenceService. */
  address: string;
  request: MessageInitShape<typeof PredictRequestSchema>;
}

/**
 * A load generator in a process of its own, so the client's CPU time is
 * not the server's: it sends the same Predict in a closed loop over one
 * grpc-js channel and prints the result as one JSON line.
 */
async function main(): Promise<void> {
  const job = JSON.parse(process.argv[2] ?? "{}", reviveBigInts) as LoadWorkerJob;
  const mesh = createMeshClient(InferenceService, { address: job.address, defaultTimeoutMs: 30_000 });
  const request = create(PredictRequestSchema, job.request);
  const result: ClosedLoopResult = await runClosedLoop(() => mesh.client.predict(request), job);
  mesh.close();
  process.stdout.write(JSON.stringify(result) + "\n");
}

/** Float arrays travel as plain JSON; int64 fields as {"$bigint": "..."}. */
export function reviveBigInts(_key: string, value: unknown): unknown {
  if (value && typeof value === "object" && "$bigint" in value) return BigInt((value as { $bigint: string }).$bigint);
  return value;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  main().catch((error: unknown) => {
    process.stderr.write(`load worker: ${String((error as Error)?.stack ?? error)}\n`);
    process.exit(1);
  });
}
