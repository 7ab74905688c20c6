import type { ServiceImpl } from "@connectrpc/connect";
import { Code, ConnectError } from "../../../libs/errors/index.js";
import { InferenceService, PredictRequestSchema, PredictResponseSchema } from "../../../libs/gen/tessera/inference/v1/inference_pb.js";
import { headersToMetadata } from "../../../libs/host/index.js";
import type { Authorizer } from "../auth/authorizer.js";
import type { ReplicaTable } from "../discovery/replica-table.js";
import type { Forwarder } from "../forwarding/forward-unary.js";
import { PREDICT } from "../forwarding/method-specs.js";
import { forwardTyped, toConnectError } from "./typed-forward.js";

/**
 * tessera.inference.v1.InferenceService at the front door. Predict is
 * forwarded (raw on the gRPC port, through this impl on the HTTP port);
 * ListServedModels answers from membership; loading and unloading are a
 * replica's business, so they are refused here with where to go instead.
 */
export function inferenceServiceImpl(forwarder: Forwarder, table: ReplicaTable, authorizer: Authorizer): ServiceImpl<typeof InferenceService> {
  return {
    predict: (request, context) => forwardTyped(forwarder, PREDICT, { input: PredictRequestSchema, output: PredictResponseSchema }, request, context),
    async listServedModels(_request, context) {
      try {
        await authorizer.check(headersToMetadata(context.requestHeader), `/${InferenceService.typeName}/ListServedModels`);
      } catch (error) {
        throw toConnectError(error);
      }
      return { models: table.all().flatMap((replica) => replica.models) };
    },
    loadModel() {
      throw new ConnectError("LoadModel goes to a replica, not the router: call the replica's gRPC port, or list the model in its TESSERA_SERVE", Code.Unimplemented);
    },
    unloadModel() {
      throw new ConnectError("UnloadModel goes to a replica, not the router: call the replica's gRPC port", Code.Unimplemented);
    },
  };
}
