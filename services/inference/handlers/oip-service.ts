import type { ServiceImpl } from "@connectrpc/connect";
import { Code, ConnectError, invalidArgument } from "../../../libs/errors/index.js";
import { ModelInferResponseSchema, type GRPCInferenceService } from "../../../libs/gen/inference/grpc_service_pb.js";
import { messageFactory } from "../../../libs/messages/index.js";
import type { InferenceMetrics } from "../inference-metrics.js";
import type { ModelManager } from "../serving/model-manager.js";
import { inputsFromInferRequest, toInferOutputs } from "../tensor/index.js";
import { modelMetadata, modelStatistics, SERVER_EXTENSIONS, SERVER_NAME } from "./model-descriptions.js";
import { oipTarget, readBoolParameter, readCountParameter } from "./oip-parameters.js";
import { requestOrigin } from "../logging/request-origin.js";
import { callAbortOf, requestHeaderReader } from "../../../libs/host/index.js";
import { runInference } from "./run-inference.js";

const newInferResponse = messageFactory(ModelInferResponseSchema);

export interface OipServiceOptions {
  /** Reported by ServerMetadata. */
  readonly serverVersion: string;
  /** Whether the host is up and serving (false while shutting down). */
  readonly hostReady: () => boolean;
}

/** inference.GRPCInferenceService: the Open Inference Protocol, as Triton and KServe clients speak it. */
export function oipServiceImpl(manager: ModelManager, metrics: InferenceMetrics, options: OipServiceOptions): ServiceImpl<typeof GRPCInferenceService> {
  return {
    serverLive() {
      return { live: true };
    },

    serverReady() {
      return { ready: options.hostReady() && manager.isReady() };
    },

    modelReady(request) {
      try {
        manager.resolve(oipTarget(request.name, request.version));
        return { ready: true };
      } catch (error) {
        // Known but loading, unloading or failed: not ready. Unknown: NOT_FOUND, so a typo shows.
        if (ConnectError.from(error).code === Code.NotFound) throw error;
        return { ready: false };
      }
    },

    serverMetadata() {
      return { name: SERVER_NAME, version: options.serverVersion, extensions: [...SERVER_EXTENSIONS] };
    },

    modelMetadata(request) {
      return modelMetadata(manager, request.name, request.version);
    },

    async modelInfer(request, context) {
      if (request.modelName === "") throw invalidArgument(`model_name is empty; name the model to run (${manager.describeServed()})`);
      const parameters = request.parameters;
      const raw =
        request.rawInputContents.length > 0 ||
        readBoolParameter(parameters, "binary_data_output") ||
        request.outputs.some((o) => readBoolParameter(o.parameters, "binary_data"));
      const answer = await runInference(manager, metrics, {
        target: oipTarget(request.modelName, request.modelVersion),
        inputs: () => inputsFromInferRequest(request),
        outputNames: request.outputs.map((o) => o.name),
        priority: readCountParameter(parameters, "priority"),
        // Triton's "timeout" parameter: the longest the request may wait in the queue, in µs.
        queueTimeoutUs: readCountParameter(parameters, "timeout"),
        timeoutMs: context.timeoutMs(),
        signal: callAbortOf(context),
        origin: () => requestOrigin(requestHeaderReader(context)),
      });
      const { outputs, rawOutputContents } = toInferOutputs(answer.outputs, { raw });
      // A finished message, which the host sends as is (not create() from a plain object: libs/messages).
      const response = newInferResponse();
      response.modelName = answer.version.model;
      response.modelVersion = String(answer.version.version);
      response.id = request.id;
      response.outputs = outputs;
      response.rawOutputContents = rawOutputContents;
      return response;
    },

    modelStatistics(request) {
      return { modelStats: modelStatistics(manager, request.name, request.version) };
    },
  };
}
