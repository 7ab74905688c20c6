import { create, type MessageInitShape } from "@bufbuild/protobuf";
import { InferenceService, PredictRequestSchema } from "../../../libs/gen/tessera/inference/v1/inference_pb.js";
import { createMeshClient } from "../../../libs/host/index.js";
import { runClosedLoop, type ClosedLoopOptions, type ClosedLoopResult } from "./closed-loop.js";

/** What the parent asks a load worker to do (argv[2], JSON). */
export interface LoadWorkerJob extends ClosedLoopOptions {
  /** host:port of a gRPC port serving tessera.inference.v1.InferenceService. */
  address: string;
  request: MessageInitShape<typeof PredictRequestSchema>;
  /**
   * Connections to open (default 1), calls spread over them in turn. A
   * replica with several front-end loops spreads connections, not calls,
   * so one connection would load one loop.
   */
  channels?: number;
}

/**
 * A load generator in a process of its own, so the client's CPU time is
 * not the server's: it sends the same Predict in a closed loop over one
 * grpc-js channel and prints the result as one JSON line.
 */
async function main(): Promise<void> {
  const job = JSON.parse(process.argv[2] ?? "{}", reviveBigInts) as LoadWorkerJob;
  // A local subchannel pool per client: grpc-js would otherwise share one connection between them.
  const meshes = Array.from({ length: Math.max(1, job.channels ?? 1) }, () =>
    createMeshClient(InferenceService, { address: job.address, defaultTimeoutMs: 30_000, channelOptions: { "grpc.use_local_subchannel_pool": 1 } }),
  );
  const request = create(PredictRequestSchema, job.request);
  let next = 0;
  const result: ClosedLoopResult = await runClosedLoop(() => meshes[next++ % meshes.length]!.client.predict(request), job);
  meshes.forEach((mesh) => mesh.close());
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
