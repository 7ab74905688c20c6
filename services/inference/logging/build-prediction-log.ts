import { timestampFromMs } from "@bufbuild/protobuf/wkt";
import { randomUUID } from "node:crypto";
import {
  LoggedTensorSchema,
  PredictionLogSchema,
  RouteDecisionSchema,
  type LoggedTensor,
  type PredictionLog,
} from "../../../libs/gen/tessera/events/v1/prediction_log_pb.js";
import { messageFactory } from "../../../libs/messages/index.js";
import { asNumberField, type HostTensor } from "../tensor/index.js";
import type { AnsweredRequest } from "./answered-request.js";

// One log per answered request: zero messages from factories, not create() (libs/messages).
const newPredictionLog = messageFactory(PredictionLogSchema);
const newRouteDecision = messageFactory(RouteDecisionSchema);
const newLoggedTensor = messageFactory(LoggedTensorSchema);

/** The PredictionLog message for an answered request, keeping at most `inputRows` input rows. */
export function buildPredictionLog(
  answer: AnsweredRequest,
  context: { replicaId: string; inputRows: "all" | number; sampleRate: number; timeMs: number },
): PredictionLog {
  const alias = answer.target.alias ?? "";
  const origin = answer.origin?.();
  const route = origin?.route;
  const log = newPredictionLog();
  // Ours, not the caller's: it is also the CloudEvent id, which the stream deduplicates on (a retry or a shadow copy is another log).
  log.requestId = randomUUID();
  log.model = answer.version.model;
  log.version = answer.version.version;
  const decision = newRouteDecision();
  decision.alias = alias;
  if (route) {
    decision.reason = route.reason;
    decision.routeRevision = route.revision;
    decision.shadow = route.reason === "shadow";
  } else {
    decision.reason = alias !== "" ? "alias" : "direct";
  }
  log.route = decision;
  log.traceId = origin?.traceId ?? "";
  log.entityKey = origin?.entityKey ?? "";
  for (const [name, t] of answer.inputs) log.inputs.push(loggedTensor(name, t, context.inputRows));
  for (const [name, t] of answer.outputs) log.outputs.push(loggedTensor(name, t, "all"));
  log.latencyUs = BigInt(Math.max(0, Math.round(answer.latencyUs)));
  log.time = timestampFromMs(context.timeMs);
  log.replicaId = context.replicaId;
  log.rows = answer.rows;
  log.sampleRate = context.sampleRate;
  log.errorCode = answer.errorCode ?? "";
  return log;
}

/** Flattens a tensor, keeping its leading `maxRows` rows (shape[0] is the batch dimension). */
export function loggedTensor(name: string, tensor: HostTensor, maxRows: "all" | number): LoggedTensor {
  const shape = tensor.shape;
  const rows = shape.length > 0 ? shape[0]! : 1;
  const keptRows = maxRows === "all" ? rows : Math.min(rows, maxRows);
  const perRow = rows === 0 ? 0 : tensor.data.length / rows;
  const kept = keptRows * perRow;
  let numbers: number[] = [];
  const strings: string[] = [];
  const data = tensor.data;
  if (Array.isArray(data)) {
    for (let i = 0; i < kept; i++) {
      const v = data[i]!;
      if (typeof v === "string") strings.push(v);
      else numbers.push(v ? 1 : 0);
    }
  } else if (data instanceof BigInt64Array || data instanceof BigUint64Array) {
    for (let i = 0; i < kept; i++) numbers.push(Number(data[i]!));
  } else {
    // One native conversion into the doubles the log holds, which its encoder then copies as bytes (WireWriter.packedDoubles).
    numbers = asNumberField(new Float64Array(data.subarray(0, kept)));
  }
  const logged = newLoggedTensor();
  logged.name = name;
  logged.shape = shape.map(BigInt);
  logged.numbers = numbers;
  logged.strings = strings;
  logged.rowsOmitted = rows - keptRows;
  return logged;
}
