import { create } from "@bufbuild/protobuf";
import { describe, expect, it } from "vitest";
import { Code } from "../../../libs/errors/index.js";
import { ModelInferRequest_InferInputTensorSchema } from "../../../libs/gen/inference/grpc_service_pb.js";
import { DataType } from "../../../libs/gen/tessera/registry/v1/signature_pb.js";
import type { HostTensor } from "./host-tensor.js";
import { fromInferInput } from "./infer-input.js";
import { toInferOutput } from "./infer-output.js";
import { SAMPLES, tensorDifference, thrownBy } from "./spec-samples.js";

const CONTENTS_FIELD: Record<string, string> = {
  FP32: "fp32Contents",
  FP64: "fp64Contents",
  INT8: "intContents",
  INT16: "intContents",
  INT32: "intContents",
  INT64: "int64Contents",
  UINT8: "uintContents",
  UINT16: "uintContents",
  UINT32: "uintContents",
  UINT64: "uint64Contents",
  BOOL: "boolContents",
  BYTES: "bytesContents",
};

/** Feeds an output back in as an input, as a client echoing a response would. */
function asInput(name: string, out: ReturnType<typeof toInferOutput>): HostTensor {
  const { datatype, shape, contents } = out.tensor;
  return fromInferInput(create(ModelInferRequest_InferInputTensorSchema, { name, datatype, shape, contents }), out.raw);
}

describe("toInferOutput()", () => {
  it.each(SAMPLES.filter((s) => s.label !== "FP16"))("round-trips $label through typed contents", ({ label, host }) => {
    const out = toInferOutput("y", host, { raw: false });
    expect(out.raw).toBeUndefined();
    expect(out.tensor.datatype).toBe(label);
    expect(out.tensor.shape).toEqual([2n, 3n]);
    const field = CONTENTS_FIELD[label]!;
    expect((out.tensor.contents as unknown as Record<string, unknown[]>)[field]!.length).toBe(6);
    expect(tensorDifference(asInput("y", out), host)).toBeUndefined();
  });

  it.each(SAMPLES)("round-trips $label through raw bytes", ({ host }) => {
    const out = toInferOutput("y", host, { raw: true });
    expect(out.raw).toBeInstanceOf(Uint8Array);
    expect(out.tensor.contents).toBeUndefined();
    expect(tensorDifference(asInput("y", out), host)).toBeUndefined();
  });

  it("answers INVALID_ARGUMENT naming FP16 when typed contents are asked for", () => {
    const host = { dtype: DataType.FLOAT16, shape: [1], data: new Uint16Array([0x3c00]) };
    const error = thrownBy(() => toInferOutput("half", host, { raw: false }));
    expect(error.code).toBe(Code.InvalidArgument);
    expect(error.rawMessage).toContain("output 'half': FP16 has no typed contents field");
  });
});
