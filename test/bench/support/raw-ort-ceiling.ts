import * as ort from "onnxruntime-node";
import { readFile } from "node:fs/promises";
import { fileURLToPath } from "node:url";
import { sessionOptionsFor } from "../../../services/inference/runtime/session-options.js";

const MODELS_DIR = fileURLToPath(new URL("../../../../models/", import.meta.url));

export interface RawOrtResult {
  batchSize: number;
  rowsPerSecond: number;
  /** Mean wall time of one run at this batch size. */
  msPerRun: number;
}

/**
 * onnxruntime-node in this process, no RPC and no batcher: rows/s of
 * back-to-back runs at one batch size, with the replica's session options.
 */
export async function measureRawOrt(file: string, inputName: string, rowWidth: number, batchSize: number, intraOpThreads: number, durationMs = 1000): Promise<RawOrtResult> {
  const session = await ort.InferenceSession.create(
    await readFile(MODELS_DIR + file),
    sessionOptionsFor({ kind: "cpu" }, { intraOpThreads, interOpThreads: 0, graphOptimization: "all", memoryArena: true, spinning: false }),
  );
  try {
    const data = new Float32Array(batchSize * rowWidth).map((_, i) => ((i * 7919) % 1000) / 1000);
    const feeds = { [inputName]: new ort.Tensor("float32", data, [batchSize, rowWidth]) };
    for (let i = 0; i < 5; i++) await session.run(feeds);
    let runs = 0;
    const start = performance.now();
    while (performance.now() - start < durationMs) {
      await session.run(feeds);
      runs++;
    }
    const elapsed = performance.now() - start;
    return { batchSize, rowsPerSecond: (runs * batchSize * 1000) / elapsed, msPerRun: elapsed / runs };
  } finally {
    await session.release();
  }
}
