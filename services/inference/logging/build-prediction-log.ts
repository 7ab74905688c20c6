import { create } from "@bufbuild/protobuf";
import { timestampFromMs } from "@bufbuild/protobuf/wkt";
import { randomUUID } from "node:crypto";
import {
  LoggedTensorSchema,
  PredictionLogSchema,
  RouteDecisionSchema,
  type LoggedTensor,
  type PredictionLog,
} from "../../../libs/gen/tessera/events/v1/prediction_log_pb.js";
import type { HostTensor } from "../tensor/index.js";
import type { AnsweredRequest } from "./answered-request.js";

/** The PredictionLog message for an answered request, keeping at most `inputRows` input rows. */
export function buildPredictionLog(
  answer: AnsweredRequest,
  context: { replicaId: string; inputRows: "all" | number; sampleRate: number; timeMs: number },
): PredictionLog {
  const alias = answer.target.alias ?? "";
  const origin = answer.origin?.();
  const route = origin?.route;
  return create(PredictionLogSchema, {
    // Ours, not the caller's: it is also the CloudEvent id, which the stream deduplicates on (a retry or a shadow copy is another log).
    requestId: randomUUID(),
    model: answer.version.model,
    version: answer.version.version,
    route: create(
      RouteDecisionSchema,
      route
        ? { alias, reason: route.reason, routeRevision: route.revision, shadow: route.reason === "shadow" }
        : { alias, reason: alias !== "" ? "alias" : "direct" },
    ),
    traceId: origin?.traceId ?? "",
    entityKey: origin?.entityKey ?? "",
    inputs: [...answer.inputs].map(([name, t]) => loggedTensor(name, t, context.inputRows)),
    outputs: [...answer.outputs].map(([name, t]) => loggedTensor(name, t, "all")),
    latencyUs: BigInt(Math.max(0, Math.round(answer.latencyUs))),
    time: timestampFromMs(context.timeMs),
    replicaId: context.replicaId,
    rows: answer.rows,
    sampleRate: context.sampleRate,
    errorCode: answer.errorCode ?? "",
  });
}

/** Flattens a tensor, keeping its leading `maxRows` rows (shape[0] is the batch dimension). */
export function loggedTensor(name: string, tensor: HostTensor, maxRows: "all" | number): LoggedTensor {
  const shape = tensor.shape;
  const rows = shape.length > 0 ? shape[0]! : 1;
  const keptRows = maxRows === "all" ? rows : Math.min(rows, maxRows);
  const perRow = rows === 0 ? 0 : tensor.data.length / rows;
  const kept = keptRows * perRow;
  const numbers: number[] = [];
  const strings: string[] = [];
  const data = tensor.data;
  if (Array.isArray(data)) {
    for (let i = 0; i < kept; i++) {
      const v = data[i]!;
      if (typeof v === "string") strings.push(v);
      else numbers.push(v ? 1 : 0);
    }
  } else {
    for (let i = 0; i < kept; i++) numbers.push(Number(data[i]!));
  }
  return create(LoggedTensorSchema, { name, shape: shape.map(BigInt), numbers, strings, rowsOmitted: rows - keptRows });
}
