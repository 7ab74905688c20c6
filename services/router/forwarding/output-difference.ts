import { fromBinary } from "@bufbuild/protobuf";
import { ModelInferResponseSchema, type ModelInferResponse } from "../../../libs/gen/inference/grpc_service_pb.js";
import { PredictResponseSchema, type PredictResponse } from "../../../libs/gen/tessera/inference/v1/inference_pb.js";
import { DataType } from "../../../libs/gen/tessera/registry/v1/signature_pb.js";

/**
 * The largest absolute difference between two answers' outputs, matched by
 * name; Infinity when their outputs differ in names or sizes (a shadow
 * that answers a different shape is as different as it gets).
 */
export function outputDifference(kind: "predict" | "infer", primary: Uint8Array, shadow: Uint8Array): number {
  const a = kind === "predict" ? predictOutputs(fromBinary(PredictResponseSchema, primary)) : inferOutputs(fromBinary(ModelInferResponseSchema, primary));
  const b = kind === "predict" ? predictOutputs(fromBinary(PredictResponseSchema, shadow)) : inferOutputs(fromBinary(ModelInferResponseSchema, shadow));
  if (a.size !== b.size) return Infinity;
  let largest = 0;
  for (const [name, values] of a) {
    const other = b.get(name);
    if (!other || other.length !== values.length) return Infinity;
    for (let i = 0; i < values.length; i++) {
      const d = Math.abs(values[i]! - other[i]!);
      if (Number.isNaN(d)) return Infinity;
      if (d > largest) largest = d;
    }
  }
  return largest;
}

function predictOutputs(response: PredictResponse): Map<string, number[]> {
  const out = new Map<string, number[]>();
  for (const t of response.outputs) {
    let values: number[];
    if (t.floatData.length > 0) values = t.floatData;
    else if (t.doubleData.length > 0) values = t.doubleData;
    else if (t.int32Data.length > 0) values = t.int32Data;
    else if (t.int64Data.length > 0) values = t.int64Data.map(Number);
    else if (t.uint64Data.length > 0) values = t.uint64Data.map(Number);
    else if (t.boolData.length > 0) values = t.boolData.map(Number);
    else if (t.rawData.length > 0 && t.dtype === DataType.FLOAT32) values = [...new Float32Array(t.rawData.slice().buffer)];
    else values = [...t.rawData];
    out.set(t.name, values);
  }
  return out;
}

function inferOutputs(response: ModelInferResponse): Map<string, number[]> {
  const out = new Map<string, number[]>();
  response.outputs.forEach((t, i) => {
    const raw = response.rawOutputContents[i];
    const c = t.contents;
    let values: number[];
    if (raw && t.datatype === "FP32") values = [...new Float32Array(raw.slice().buffer)];
    else if (raw && t.datatype === "FP64") values = [...new Float64Array(raw.slice().buffer)];
    else if (raw) values = [...raw];
    else if (c) values = [...c.fp32Contents, ...c.fp64Contents, ...c.intContents, ...c.uintContents, ...c.int64Contents.map(Number), ...c.uint64Contents.map(Number), ...c.boolContents.map(Number)];
    else values = [];
    out.set(t.name, values);
  });
  return out;
}
