import type { BatchingOptions } from "../../../libs/batching/index.js";

/**
 * The rows a batch of `rows` rows is run with. With pad_to_preferred: the
 * next preferred size at or above it, else max_batch_size — the only sizes
 * the model then sees. Otherwise `rows` itself.
 */
export function paddedSize(rows: number, options: BatchingOptions): number {
  if (!options.enabled || !options.padToPreferred) return rows;
  for (const size of options.preferredBatchSizes) if (size >= rows) return size;
  return Math.max(options.maxBatchSize, rows);
}
