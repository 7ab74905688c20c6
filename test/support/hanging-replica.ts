import { create } from "@bufbuild/protobuf";
import { Server, ServerCredentials, type sendUnaryData, type ServerUnaryCall } from "@grpc/grpc-js";
import { ModelState, ServedModelSchema } from "../../libs/gen/tessera/inference/v1/inference_pb.js";
import { encodeReplicaRecord, ReplicaRecordSchema } from "../../libs/membership/index.js";
import type { KvStore } from "../../libs/store/index.js";

export interface HangingReplica {
  readonly replicaId: string;
  /** Deadlines (ms since the epoch) of the calls received. */
  readonly deadlines: number[];
  /** Calls whose caller cancelled them. */
  cancelled: number;
  received: number;
  /** Answers every call still waiting (an empty PredictResponse), as a slow replica finally would. */
  answerPending(): void;
  stop(): Promise<void>;
}

/**
 * A fault, not a stand-in: a gRPC server that takes Predict calls and never
 * answers them, listed in membership as serving `model` version 1, as a
 * replica stuck in a model run would be. Records what the router sent it.
 */
export async function startHangingReplica(membership: KvStore, model: string, replicaId: string): Promise<HangingReplica> {
  const server = new Server();
  const waiting: Array<sendUnaryData<Buffer>> = [];
  const state: HangingReplica = {
    replicaId,
    deadlines: [],
    cancelled: 0,
    received: 0,
    answerPending: () => waiting.splice(0).forEach((answer) => answer(null, Buffer.alloc(0))),
    stop: async () => {
      await membership.delete(replicaId);
      server.forceShutdown();
    },
  };
  const identity = (b: Buffer) => b;
  server.addService(
    { Predict: { path: "/tessera.inference.v1.InferenceService/Predict", requestStream: false, responseStream: false, requestSerialize: identity, requestDeserialize: identity, responseSerialize: identity, responseDeserialize: identity } },
    {
      Predict: (call: ServerUnaryCall<Buffer, Buffer>, answer: sendUnaryData<Buffer>) => {
        state.received++;
        const deadline = call.getDeadline();
        state.deadlines.push(deadline instanceof Date ? deadline.getTime() : deadline);
        let answered = false;
        // grpc-js may also report a call it answered as cancelled once its stream closes.
        call.on("cancelled", () => answered || state.cancelled++);
        waiting.push((error, value) => {
          answered = true;
          answer(error, value);
        });
      },
    },
  );
  const port = await new Promise<number>((resolve, reject) => server.bindAsync("127.0.0.1:0", ServerCredentials.createInsecure(), (e, p) => (e ? reject(e) : resolve(p))));
  await membership.put(
    replicaId,
    encodeReplicaRecord(
      create(ReplicaRecordSchema, {
        replicaId,
        grpcAddress: `127.0.0.1:${port}`,
        httpAddress: "127.0.0.1:1",
        models: [create(ServedModelSchema, { model, version: 1, state: ModelState.READY, aliases: ["production"] })],
      }),
    ),
  );
  return state;
}
