import { randomUUID } from "node:crypto";
import type { ServiceImpl } from "@connectrpc/connect";
import { invalidArgument } from "../../../libs/errors/index.js";
import { PredictResponseSchema, TimingSchema, type InferenceService, type Tensor } from "../../../libs/gen/tessera/inference/v1/inference_pb.js";
import type { InferenceMetrics } from "../inference-metrics.js";
import type { ModelManager } from "../serving/model-manager.js";
import { DEFAULT_ALIAS } from "../serve-list.js";
import { fromTensorMessage, toTensorMessage, type HostTensor } from "../tensor/index.js";
import { requestOrigin } from "../logging/request-origin.js";
import { callAbortOf, requestHeaderReader } from "../../../libs/host/index.js";
import { runInference } from "./run-inference.js";
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
        return {
          model: answer.version.model,
          version: answer.version.version,
          outputs: [...answer.outputs].map(([name, host]) => toTensorMessage(name, host, { raw: false })),
          requestId: request.requestId || randomUUID(),
          timing: { queueUs: BigInt(Math.max(0, Math.round(answer.result.queueUs))), computeUs: BigInt(Math.max(0, Math.round(answer.result.computeUs))), batchSize: answer.result.batchSize },
          defaultedFeatures: defaulted,
        };
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
      const outputs: Tensor[] = [];
      for (const [name, host] of answer.outputs) outputs.push(toTensorMessage(name, host, { raw }));
      // A finished message, which the host sends as is (not create() from a plain object: libs/messages).
      const response = newPredictResponse();
      response.model = answer.version.model;
      response.version = answer.version.version;
      response.outputs = outputs;
      response.requestId = request.requestId || randomUUID();
      const timing = newTiming();
      timing.queueUs = BigInt(Math.max(0, Math.round(answer.result.queueUs)));
      timing.computeUs = BigInt(Math.max(0, Math.round(answer.result.computeUs)));
      timing.batchSize = answer.result.batchSize;
      response.timing = timing;
      return response;
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

function decodeTensors(tensors: readonly Tensor[]): Map<string, HostTensor> {
  const inputs = new Map<string, HostTensor>();
  for (const tensor of tensors) {
    if (inputs.has(tensor.name)) throw invalidArgument(`input '${tensor.name}' appears more than once; send each input once`);
    inputs.set(tensor.name, fromTensorMessage(tensor));
  }
  return inputs;
}
