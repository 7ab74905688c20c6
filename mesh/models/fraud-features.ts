import type { MessageInitShape } from "@bufbuild/protobuf";
import { ValueType, type ApplyDefinitionsRequestSchema, type FeatureRowSchema } from "../../libs/gen/tessera/feature/v1/feature_pb.js";
import { timestampFromMs } from "@bufbuild/protobuf/wkt";
import { MissingFeaturePolicy, type FeatureBindingSchema } from "../../libs/gen/tessera/registry/v1/feature_binding_pb.js";

/** The example fraud model's features: a card entity and one view of 4 scalars and a 12-wide embedding (16 inputs). */
export const FRAUD_VIEW = "card_fraud";

export function fraudFeatureDefinitions(view = FRAUD_VIEW): MessageInitShape<typeof ApplyDefinitionsRequestSchema> {
  return {
    entities: [{ name: "card", joinKey: "card_id", description: "a payment card" }],
    featureViews: [
      {
        name: view,
        entities: ["card"],
        description: "what the fraud model reads per card",
        owner: "risk",
        maxAge: { seconds: 24n * 3600n },
        // The demo writes into whatever Redis it finds: let its keys go.
        ttl: { seconds: 24n * 3600n },
        features: [
          { name: "amount", type: ValueType.FLOAT, description: "amount of the transaction being scored" },
          { name: "amount_avg_7d", type: ValueType.DOUBLE },
          { name: "txn_count_24h", type: ValueType.INT64 },
          { name: "is_foreign", type: ValueType.BOOL },
          { name: "merchant_embedding", type: ValueType.FLOAT_VECTOR, vectorLength: 12 },
        ],
      },
    ],
  };
}

/** The binding the fraud model is pushed with: 16 columns of `features`, in this order; missing values default. */
export function fraudFeatureBinding(view = FRAUD_VIEW): MessageInitShape<typeof FeatureBindingSchema> {
  return {
    entity: "card",
    input: "features",
    onMissing: MissingFeaturePolicy.DEFAULT,
    defaultsWhenUnavailable: false,
    features: [
      { ref: `${view}:amount`, defaultValue: 0 },
      { ref: `${view}:amount_avg_7d`, defaultValue: 0 },
      { ref: `${view}:txn_count_24h`, defaultValue: 0 },
      { ref: `${view}:is_foreign`, defaultValue: 0 },
      { ref: `${view}:merchant_embedding`, defaultValue: 0 },
    ],
  };
}

/** A card's features from a 16-number row (as the model's sample rows), so entity-keyed and tensor Predicts can be compared. */
export function fraudFeatureRow(cardId: string, row: ArrayLike<number>, eventTimeMs = Date.now()): MessageInitShape<typeof FeatureRowSchema> {
  return {
    entityKey: cardId,
    eventTime: timestampFromMs(eventTimeMs),
    values: {
      amount: { kind: { case: "floatValue", value: row[0]! } },
      amount_avg_7d: { kind: { case: "doubleValue", value: row[1]! } },
      txn_count_24h: { kind: { case: "int64Value", value: BigInt(Math.round(row[2]!)) } },
      is_foreign: { kind: { case: "boolValue", value: row[3]! >= 0.5 } },
      merchant_embedding: { kind: { case: "floatVectorValue", value: { values: Array.from(row).slice(4, 16) } } },
    },
  };
}

/** What the model sees for a row written with fraudFeatureRow (the int and bool columns are rounded). */
export function fraudModelRow(row: ArrayLike<number>): Float32Array {
  const out = Float32Array.from(row);
  out[2] = Math.round(row[2]!);
  out[3] = row[3]! >= 0.5 ? 1 : 0;
  return out;
}
