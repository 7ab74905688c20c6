import type { MessageInitShape } from "@bufbuild/protobuf";
import type { PredictRequestSchema, PredictResponse } from "../../../libs/gen/tessera/inference/v1/inference_pb.js";
import { exampleModel } from "../../../mesh/models/index.js";

export type PredictRequestInit = MessageInitShape<typeof PredictRequestSchema>;

/** A one-row Predict of an example model's sample row, as typed fields (what most clients send). */
export function oneRowRequest(servedName: string, example: string): PredictRequestInit {
  const inputs = [...exampleModel(example).sampleRow(7)].map(([name, tensor]) => ({
    name,
    dtype: tensor.dtype,
    shape: tensor.shape.map(BigInt),
    ...(tensor.data instanceof Float32Array ? { floatData: Array.from(tensor.data) } : { int64Data: Array.from(tensor.data) }),
  }));
  return { model: servedName, inputs };
}

/**
 * A real answer as the bare server's argv: JSON of the message's fields,
 * int64 as {"$bigint"} (see reviveBigInts), without protobuf-es's
 * $typeName or empty bytes, so `create()` on the other side rebuilds it.
 */
export function responseAsArg(response: PredictResponse): string {
  return JSON.stringify(response, (key, value: unknown) => {
    if (key === "$typeName") return undefined;
    if (typeof value === "bigint") return { $bigint: value.toString() };
    if (value instanceof Uint8Array) return value.byteLength === 0 ? undefined : Array.from(value);
    return value;
  });
}
