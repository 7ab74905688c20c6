import { create, fromBinary, toBinary } from "@bufbuild/protobuf";
import { describe, expect, it } from "vitest";
import { Code } from "../../../libs/errors/index.js";
import { ModelInferRequestSchema } from "../../../libs/gen/inference/grpc_service_pb.js";
import { DataType } from "../../../libs/gen/tessera/registry/v1/signature_pb.js";
import { inputsFromInferRequest } from "./infer-request-inputs.js";
import { encodeRaw } from "./raw-bytes.js";
import { SAMPLES, tensorDifference, thrownBy } from "./spec-samples.js";

describe("inputsFromInferRequest()", () => {
  it("decodes every dtype from raw_input_contents of a request that crossed the wire", () => {
    const request = create(ModelInferRequestSchema, {
      modelName: "m",
      inputs: SAMPLES.map(({ label, host }) => ({ name: label, datatype: label, shape: host.shape.map((d) => BigInt(d)) })),
      rawInputContents: SAMPLES.map(({ label, host }) => encodeRaw(host, label)),
    });
    const decoded = fromBinary(ModelInferRequestSchema, toBinary(ModelInferRequestSchema, request));
    // protobuf-es decodes bytes fields as views into the message buffer, at whatever offset they fell.
    expect(decoded.rawInputContents.some((b) => b.byteOffset % 8 !== 0)).toBe(true);
    const inputs = inputsFromInferRequest(decoded);
    expect([...inputs.keys()]).toEqual(SAMPLES.map((s) => s.label));
    for (const { label, host } of SAMPLES) expect(tensorDifference(inputs.get(label)!, host), label).toBeUndefined();
  });

  it("decodes typed contents", () => {
    const request = create(ModelInferRequestSchema, {
      inputs: [
        { name: "a", datatype: "FP32", shape: [1n, 2n], contents: { fp32Contents: [1, 2] } },
        { name: "b", datatype: "INT64", shape: [1n], contents: { int64Contents: [3n] } },
      ],
    });
    const inputs = inputsFromInferRequest(request);
    expect(inputs.get("a")).toEqual({ dtype: DataType.FLOAT32, shape: [1, 2], data: new Float32Array([1, 2]) });
    expect(inputs.get("b")).toEqual({ dtype: DataType.INT64, shape: [1], data: new BigInt64Array([3n]) });
  });

  it("answers INVALID_ARGUMENT when raw_input_contents does not match the inputs", () => {
    const request = create(ModelInferRequestSchema, {
      inputs: [
        { name: "a", datatype: "FP32", shape: [1n] },
        { name: "b", datatype: "FP32", shape: [1n] },
      ],
      rawInputContents: [new Uint8Array(4)],
    });
    const error = thrownBy(() => inputsFromInferRequest(request));
    expect(error.code).toBe(Code.InvalidArgument);
    expect(error.rawMessage).toBe(
      "raw_input_contents has 1 entries but the request has 2 inputs; send one entry per input, in the order of inputs",
    );
  });

  it("answers INVALID_ARGUMENT naming an input sent twice", () => {
    const request = create(ModelInferRequestSchema, {
      inputs: [
        { name: "a", datatype: "FP32", shape: [1n], contents: { fp32Contents: [1] } },
        { name: "a", datatype: "FP32", shape: [1n], contents: { fp32Contents: [2] } },
      ],
    });
    const error = thrownBy(() => inputsFromInferRequest(request));
    expect(error.code).toBe(Code.InvalidArgument);
    expect(error.rawMessage).toContain("input 'a' appears more than once");
  });
});
