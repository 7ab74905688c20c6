import { create, fromBinary, isFieldSet, toBinary, type DescMessage, type MessageShape } from "@bufbuild/protobuf";
import { describe, expect, it } from "vitest";
import {
  LoggedTensorSchema,
  PredictionLogSchema,
  RouteDecisionSchema,
  type LoggedTensor,
  type PredictionLog,
} from "../gen/tessera/events/v1/prediction_log_pb.js";
import { mulberry32 } from "../onnx/index.js";
import { encodePredictionLog } from "./encode-prediction-log.js";

// Strings that stress UTF-8: multi-byte, astral (surrogate pairs), a lone surrogate (encoded as U+FFFD).
const awkward = ["", "a", "é", "模型", "🦀🚀", "\ud800", "x".repeat(127), "y".repeat(128), "z".repeat(20_000)];
const awkwardNumbers = [0, -0, 1, -1, 0.1, Number.NaN, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY, Number.MAX_VALUE, Number.MIN_VALUE, 2 ** 53];
const awkwardInt64 = [0n, 1n, -1n, 127n, 128n, 2n ** 53n - 1n, 2n ** 53n, 2n ** 63n - 1n, -(2n ** 63n)];
const awkwardUint64 = [0n, 1n, 127n, 128n, 2n ** 32n, 2n ** 53n, 2n ** 64n - 1n];
const awkwardUint32 = [0, 1, 127, 128, 16_383, 16_384, 2 ** 31, 2 ** 32 - 1];

function randomLog(seed: number): PredictionLog {
  const random = mulberry32(seed);
  const pick = <T>(values: readonly T[]): T => values[Math.floor(random() * values.length)]!;
  const text = () => (random() < 0.5 ? pick(awkward) : `s${Math.floor(random() * 1e6)}`);
  const tensor = (): LoggedTensor =>
    create(LoggedTensorSchema, {
      name: text(),
      shape: Array.from({ length: Math.floor(random() * 4) }, () => pick(awkwardInt64)),
      numbers: Array.from({ length: Math.floor(random() * 40) }, () => (random() < 0.3 ? pick(awkwardNumbers) : random() * 2 - 1)),
      strings: Array.from({ length: Math.floor(random() * 3) }, text),
      rowsOmitted: pick(awkwardUint32),
    });
  return create(PredictionLogSchema, {
    requestId: text(),
    model: text(),
    version: pick(awkwardUint32),
    ...(random() < 0.8 && {
      route: create(RouteDecisionSchema, { alias: text(), routeRevision: pick(awkwardUint64), reason: text(), shadow: random() < 0.5 }),
    }),
    inputs: Array.from({ length: Math.floor(random() * 3) }, tensor),
    outputs: Array.from({ length: Math.floor(random() * 3) }, tensor),
    latencyUs: pick(awkwardUint64),
    traceId: text(),
    entityKey: text(),
    ...(random() < 0.8 && { time: { $typeName: "google.protobuf.Timestamp", seconds: pick(awkwardInt64), nanos: Math.floor(random() * 1e9) } }),
    replicaId: text(),
    rows: pick(awkwardUint32),
    errorCode: text(),
    sampleRate: random() < 0.3 ? pick(awkwardNumbers) : random(),
  });
}

/** A log with every field of every message set to something other than its default. */
function fullLog(): PredictionLog {
  const tensor = create(LoggedTensorSchema, { name: "features", shape: [1n, 16n], numbers: [0.5, -2], strings: ["a"], rowsOmitted: 3 });
  return create(PredictionLogSchema, {
    requestId: "id",
    model: "fraud",
    version: 2,
    route: create(RouteDecisionSchema, { alias: "production", routeRevision: 7n, reason: "weighted", shadow: true }),
    inputs: [tensor],
    outputs: [tensor],
    latencyUs: 321n,
    traceId: "0af7651916cd43dd8448eb211c80319c",
    entityKey: "card-1",
    time: { $typeName: "google.protobuf.Timestamp", seconds: 1_700_000_000n, nanos: 5 },
    replicaId: "r1",
    rows: 1,
    errorCode: "InvalidArgument",
    sampleRate: 0.25,
  });
}

function unsetFields<Desc extends DescMessage>(schema: Desc, message: MessageShape<Desc>): string[] {
  return schema.fields.filter((field) => !isFieldSet(message, field)).map((field) => `${schema.typeName}.${field.name}`);
}

const bytes = (b: Uint8Array) => Buffer.from(b).toString("hex");

describe("encodePredictionLog()", () => {
  it("writes what toBinary writes for a log with every field set, so a field added to the schema and not to the encoder fails here", () => {
    const log = fullLog();
    expect([
      ...unsetFields(PredictionLogSchema, log),
      ...unsetFields(RouteDecisionSchema, log.route!),
      ...unsetFields(LoggedTensorSchema, log.inputs[0]!),
    ]).toEqual([]);
    expect(bytes(encodePredictionLog(log))).toBe(bytes(toBinary(PredictionLogSchema, log)));
    expect(fromBinary(PredictionLogSchema, encodePredictionLog(log))).toEqual(log);
  });

  it("writes nothing for an empty log, as toBinary does", () => {
    expect(encodePredictionLog(create(PredictionLogSchema)).length).toBe(0);
  });

  it("writes what toBinary writes for 500 random logs: awkward strings, int64 extremes, NaN and -0, lengths past one and two varint bytes", () => {
    for (let seed = 1; seed <= 500; seed++) {
      const log = randomLog(seed);
      expect(bytes(encodePredictionLog(log)), `seed ${seed}`).toBe(bytes(toBinary(PredictionLogSchema, log)));
    }
  });
});
