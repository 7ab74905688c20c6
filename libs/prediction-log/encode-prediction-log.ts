import type { LoggedTensor, PredictionLog, RouteDecision } from "../gen/tessera/events/v1/prediction_log_pb.js";
import { WireType, WireWriter } from "./wire-writer.js";

const { Varint, Bit64, LengthDelimited } = WireType;

// One writer for every log: encoding is synchronous, and `finish` copies the bytes out.
const writer = new WireWriter();

/**
 * A PredictionLog's protobuf binary encoding: the bytes `toBinary` writes
 * (encode-prediction-log.spec.ts holds the two to that), at a fraction of
 * its cost. A replica encodes one log per request, and the reflective
 * encoder was a third of what logging cost it (docs/performance.md).
 * Fields go in field-number order; proto3 fields holding their default are
 * left out. A new field in prediction_log.proto must be added here too: the
 * spec fills every field the schema has and fails on one this misses.
 */
export function encodePredictionLog(log: PredictionLog): Uint8Array {
  const w = writer.reset();
  if (log.requestId !== "") w.tag(1, LengthDelimited).string(log.requestId);
  if (log.model !== "") w.tag(2, LengthDelimited).string(log.model);
  if (log.version !== 0) w.tag(3, Varint).varint(log.version);
  if (log.route) {
    const start = w.tag(4, LengthDelimited).fork();
    writeRoute(w, log.route);
    w.join(start);
  }
  for (const tensor of log.inputs) writeTensor(w, 5, tensor);
  for (const tensor of log.outputs) writeTensor(w, 6, tensor);
  if (log.latencyUs !== 0n) w.tag(7, Varint).varint64(log.latencyUs);
  if (log.traceId !== "") w.tag(8, LengthDelimited).string(log.traceId);
  if (log.entityKey !== "") w.tag(9, LengthDelimited).string(log.entityKey);
  if (log.time) {
    const start = w.tag(10, LengthDelimited).fork();
    if (log.time.seconds !== 0n) w.tag(1, Varint).varint64(log.time.seconds);
    if (log.time.nanos !== 0) w.tag(2, Varint).int32(log.time.nanos);
    w.join(start);
  }
  if (log.replicaId !== "") w.tag(11, LengthDelimited).string(log.replicaId);
  if (log.rows !== 0) w.tag(12, Varint).varint(log.rows);
  if (log.errorCode !== "") w.tag(13, LengthDelimited).string(log.errorCode);
  // -0 is not the default to protobuf-es: it is written, as toBinary does.
  if (!Object.is(log.sampleRate, 0)) w.tag(14, Bit64).double(log.sampleRate);
  return w.finish();
}

function writeRoute(w: WireWriter, route: RouteDecision): void {
  if (route.alias !== "") w.tag(1, LengthDelimited).string(route.alias);
  if (route.routeRevision !== 0n) w.tag(2, Varint).varint64(route.routeRevision);
  if (route.reason !== "") w.tag(3, LengthDelimited).string(route.reason);
  if (route.shadow) w.tag(4, Varint).varint(1);
}

function writeTensor(w: WireWriter, field: number, tensor: LoggedTensor): void {
  const start = w.tag(field, LengthDelimited).fork();
  if (tensor.name !== "") w.tag(1, LengthDelimited).string(tensor.name);
  if (tensor.shape.length > 0) {
    const shape = w.tag(2, LengthDelimited).fork();
    for (const dim of tensor.shape) w.varint64(dim);
    w.join(shape);
  }
  if (tensor.numbers.length > 0) w.tag(3, LengthDelimited).packedDoubles(tensor.numbers);
  for (const s of tensor.strings) w.tag(4, LengthDelimited).string(s);
  if (tensor.rowsOmitted !== 0) w.tag(5, Varint).varint(tensor.rowsOmitted);
  w.join(start);
}
