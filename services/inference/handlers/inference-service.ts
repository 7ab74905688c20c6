import { randomUUID } from "node:crypto";
import { create } from "@bufbuild/protobuf";
import type { ServiceImpl } from "@connectrpc/connect";
import { invalidArgument } from "../../../libs/errors/index.js";
import { DefaultedFeatureSchema, PredictResponseSchema, TimingSchema, type InferenceService, type PredictResponse, type Tensor } from "../../../libs/gen/tessera/inference/v1/inference_pb.js";
import type { InferenceMetrics } from "../inference-metrics.js";
import type { ModelManager } from "../serving/model-manager.js";
import { DEFAULT_ALIAS } from "../serve-list.js";
import { fromTensorMessage, toTensorMessage, type HostTensor } from "../tensor/index.js";
import { requestOrigin } from "../logging/request-origin.js";
import { callAbortOf, requestHeaderReader } from "../../../libs/host/index.js";
import { runInference, type InferenceAnswer } from "./run-inference.js";
import { messageFactory } from "../../../libs/messages/index.js";
import { predictByEntity } from "../features/entity-predict.js";
import type { FeatureLookup } from "../features/feature-lookup.js";

const newPredictResponse = messageFactory(PredictResponseSchema);
const newTiming = messageFactory(TimingSchema);

/** tessera.inference.v1.InferenceService: Predict and the replica's model management. */
export function inferenceServiceImpl(manager: ModelManager, metrics: InferenceMetrics, features?: FeatureLookup): ServiceImpl<typeof InferenceService> {
  return {
    async predict(request, context) {
      if (request.model === "") throw invalidArgument(`model is empty; name the model to run (${manager.describeServed()})`);
      if (request.entityKeys.length > 0) {
        // Entity-keyed: the replica reads the features itself (services/inference/features).
        const { answer, defaulted } = await predictByEntity(manager, metrics, features, request, {
          timeoutMs: context.timeoutMs(),
          signal: callAbortOf(context),
          origin: () => requestOrigin(requestHeaderReader(context), request.entityKeys),
        });
        const response = predictResponse(answer, false, request.requestId);
        response.defaultedFeatures = defaulted.map((d) => create(DefaultedFeatureSchema, d));
        return response;
      }
      const answer = await runInference(manager, metrics, {
        target: { model: request.model, version: request.version, alias: request.alias },
        inputs: () => decodeTensors(request.inputs),
        outputNames: request.outputNames,
        priority: request.priority,
        queueTimeoutUs: Number(request.queueTimeoutUs),
        timeoutMs: context.timeoutMs(),
        signal: callAbortOf(context),
        origin: () => requestOrigin(requestHeaderReader(context)),
      });
      // Answer in the form asked in: raw bytes for raw requests (cheap for big tensors), typed fields otherwise.
      const raw = request.inputs.length > 0 && request.inputs.every((t) => t.rawData.byteLength > 0);
      return predictResponse(answer, raw, request.requestId);
    },

    listServedModels() {
      return { models: manager.list() };
    },

    async loadModel(request) {
      if (request.model === "") throw invalidArgument("model is empty; name the model to load");
      const selector = request.selector;
      const model = await manager.serve(
        request.model,
        selector.case === "version" ? { version: selector.value } : { alias: selector.case === "alias" && selector.value !== "" ? selector.value : DEFAULT_ALIAS },
      );
      return { model };
    },

    async unloadModel(request) {
      if (request.model === "") throw invalidArgument("model is empty; name the model to unload");
      return { unloadedVersions: await manager.unload(request.model, request.version) };
    },
  };
}

/** A finished PredictResponse, which the host sends as is (built on zero messages, not create(): libs/messages). */
function predictResponse(answer: InferenceAnswer, raw: boolean, requestId: string): PredictResponse {
  const response = newPredictResponse();
  response.model = answer.version.model;
  response.version = answer.version.version;
  for (const [name, host] of answer.outputs) response.outputs.push(toTensorMessage(name, host, { raw }));
  response.requestId = requestId || randomUUID();
  const timing = newTiming();
  timing.queueUs = BigInt(Math.max(0, Math.round(answer.result.queueUs)));
  timing.computeUs = BigInt(Math.max(0, Math.round(answer.result.computeUs)));
  timing.batchSize = answer.result.batchSize;
  response.timing = timing;
  return response;
}

function decodeTensors(tensors: readonly Tensor[]): Map<string, HostTensor> {
  const inputs = new Map<string, HostTensor>();
  for (const tensor of tensors) {
    if (inputs.has(tensor.name)) throw invalidArgument(`input '${tensor.name}' appears more than once; send each input once`);
    inputs.set(tensor.name, fromTensorMessage(tensor));
  }
  return inputs;
}
