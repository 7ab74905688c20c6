import { create, type MessageInitShape } from "@bufbuild/protobuf";
import { timestampFromMs } from "@bufbuild/protobuf/wkt";
import {
  FeatureRowSchema,
  ValueType,
  type ApplyDefinitionsRequestSchema,
  type FeatureValueSchema,
} from "../../libs/gen/tessera/feature/v1/feature_pb.js";

/** A card entity and a view with one feature of every type, max age one hour. */
export function cardDefinitions(view = "card_stats"): MessageInitShape<typeof ApplyDefinitionsRequestSchema> {
  return {
    entities: [{ name: "card", joinKey: "card_id", valueType: ValueType.STRING, description: "a payment card", owner: "risk-team" }],
    featureViews: [
      {
        name: view,
        entities: ["card"],
        owner: "risk-team",
        description: "rolling card statistics",
        tags: { team: "risk" },
        maxAge: { seconds: 3600n },
        ttl: { seconds: 86_400n },
        features: [
          { name: "amount_avg", type: ValueType.DOUBLE },
          { name: "txn_count", type: ValueType.INT64 },
          { name: "risk", type: ValueType.FLOAT },
          { name: "hour", type: ValueType.INT32 },
          { name: "is_new", type: ValueType.BOOL },
          { name: "country", type: ValueType.STRING },
          { name: "embedding", type: ValueType.FLOAT_VECTOR, vectorLength: 3 },
        ],
      },
    ],
  };
}

type Kind = MessageInitShape<typeof FeatureValueSchema>["kind"];
export const v = {
  double: (value: number): { kind: Kind } => ({ kind: { case: "doubleValue", value } }),
  float: (value: number): { kind: Kind } => ({ kind: { case: "floatValue", value } }),
  int64: (value: bigint): { kind: Kind } => ({ kind: { case: "int64Value", value } }),
  int32: (value: number): { kind: Kind } => ({ kind: { case: "int32Value", value } }),
  bool: (value: boolean): { kind: Kind } => ({ kind: { case: "boolValue", value } }),
  string: (value: string): { kind: Kind } => ({ kind: { case: "stringValue", value } }),
  vector: (values: number[]): { kind: Kind } => ({ kind: { case: "floatVectorValue", value: { values } } }),
};

/** A full card_stats row. */
export function cardRow(entityKey: string, eventTimeMs: number, amount = 12.5) {
  return create(FeatureRowSchema, {
    entityKey,
    eventTime: timestampFromMs(eventTimeMs),
    values: {
      amount_avg: v.double(amount),
      txn_count: v.int64(7n),
      risk: v.float(0.25),
      hour: v.int32(13),
      is_new: v.bool(true),
      country: v.string("NL"),
      embedding: v.vector([0.5, -1, 2]),
    },
  });
}
