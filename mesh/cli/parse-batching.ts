import { fromJsonString } from "@bufbuild/protobuf";
import { BatchingConfigSchema, type BatchingConfig } from "../../libs/gen/tessera/registry/v1/batching_pb.js";
import { UsageError } from "./usage-error.js";
import { readJsonArgument } from "./read-json-argument.js";

/**
 * Reads `--batching`: a BatchingConfig in protobuf JSON, inline or as
 * `@file`, e.g. {"enabled": true, "maxBatchSize": 64, "maxQueueDelayUs": "2000"}.
 * Field names may be camelCase or as in the proto (max_batch_size).
 */
export function parseBatching(text: string, readText: (path: string) => string): BatchingConfig {
  const json = readJsonArgument(text, "--batching", readText);
  try {
    return fromJsonString(BatchingConfigSchema, json);
  } catch (error) {
    throw new UsageError(`--batching: ${(error as Error).message} (fields: see proto/tessera/registry/v1/batching.proto)`);
  }
}
