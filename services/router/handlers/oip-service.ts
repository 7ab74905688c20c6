import type { ServiceImpl } from "@connectrpc/connect";
import { notFound } from "../../../libs/errors/index.js";
import type {
  GRPCInferenceService} from "../../../libs/gen/inference/grpc_service_pb.js";
import {
  ModelInferRequestSchema,
  ModelInferResponseSchema,
  ModelMetadataRequestSchema,
  ModelMetadataResponseSchema,
  ModelStatisticsRequestSchema,
  ModelStatisticsResponseSchema,
} from "../../../libs/gen/inference/grpc_service_pb.js";
import type { ReplicaTable } from "../discovery/replica-table.js";
import type { Forwarder } from "../forwarding/forward-unary.js";
import { MODEL_INFER, MODEL_METADATA, MODEL_STATISTICS } from "../forwarding/method-specs.js";
import { forwardTyped } from "./typed-forward.js";

export interface RouterOipOptions {
  serverVersion: string;
  /** The router is up and has at least one replica to send to. */
  ready: () => boolean;
}

/**
 * inference.GRPCInferenceService at the front door, so Triton and KServe
 * clients work unchanged: liveness, readiness and server metadata are the
 * router's own; model calls go to a replica of the model.
 */
export function oipServiceImpl(forwarder: Forwarder, table: ReplicaTable, options: RouterOipOptions): ServiceImpl<typeof GRPCInferenceService> {
  return {
    serverLive: () => ({ live: true }),
    serverReady: () => ({ ready: options.ready() }),
    modelReady(request) {
      if (!table.knows(request.name)) throw notFound(`no replica serves model "${request.name}"`);
      const version = request.version === "" ? { any: true as const } : { version: Number(request.version) };
      return { ready: table.serving(request.name, version).length > 0 };
    },
    serverMetadata: () => ({ name: "tessera", version: options.serverVersion, extensions: ["statistics", "binary_tensor_data", "parameters", "schedule_policy"] }),
    modelMetadata: (request, context) => forwardTyped(forwarder, MODEL_METADATA, { input: ModelMetadataRequestSchema, output: ModelMetadataResponseSchema }, request, context),
    modelInfer: (request, context) => forwardTyped(forwarder, MODEL_INFER, { input: ModelInferRequestSchema, output: ModelInferResponseSchema }, request, context),
    modelStatistics: (request, context) =>
      forwardTyped(forwarder, MODEL_STATISTICS, { input: ModelStatisticsRequestSchema, output: ModelStatisticsResponseSchema }, request, context),
  };
}
