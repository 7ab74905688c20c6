import { create } from "@bufbuild/protobuf";
import { describe, expect, it } from "vitest";
import { Code } from "../../../libs/errors/index.js";
import { DataType, SignatureSchema } from "../../../libs/gen/tessera/registry/v1/signature_pb.js";
import type { HostTensor } from "./host-tensor.js";
import { resolveOutputNames, selectOutputs } from "./select-outputs.js";
import { thrownBy } from "./spec-samples.js";

const signature = create(SignatureSchema, {
  outputs: [
    { name: "label", dtype: DataType.INT64, shape: [{ size: -1n }] },
    { name: "scores", dtype: DataType.FLOAT32, shape: [{ size: -1n }, { size: 2n }] },
  ],
});
const label: HostTensor = { dtype: DataType.INT64, shape: [1], data: new BigInt64Array([1n]) };
const scores: HostTensor = { dtype: DataType.FLOAT32, shape: [1, 2], data: new Float32Array([0.2, 0.8]) };
const outputs = new Map([
  ["label", label],
  ["scores", scores],
]);

describe("resolveOutputNames()", () => {
  it("answers every output when none are requested", () => {
    expect(resolveOutputNames([], signature)).toEqual(["label", "scores"]);
  });

  it("answers the requested outputs once each, in request order", () => {
    expect(resolveOutputNames(["scores", "label", "scores"], signature)).toEqual(["scores", "label"]);
  });

  it("answers INVALID_ARGUMENT listing the model's outputs for unknown names", () => {
    const error = thrownBy(() => resolveOutputNames(["score", "probs", "label"], signature));
    expect(error.code).toBe(Code.InvalidArgument);
    expect(error.rawMessage).toBe("unknown outputs 'score', 'probs'; this model returns 'label', 'scores'");
  });
});

describe("selectOutputs()", () => {
  it("picks the requested outputs of a run", () => {
    expect([...selectOutputs(outputs, ["scores"], signature)]).toEqual([["scores", scores]]);
  });

  it("picks every output when none are requested", () => {
    expect([...selectOutputs(outputs, [], signature).keys()]).toEqual(["label", "scores"]);
  });

  it("answers INVALID_ARGUMENT naming an unknown requested output", () => {
    const error = thrownBy(() => selectOutputs(outputs, ["probability"], signature));
    expect(error.code).toBe(Code.InvalidArgument);
    expect(error.rawMessage).toBe("unknown output 'probability'; this model returns 'label', 'scores'");
  });

  it("answers INTERNAL when the run lacks an output the signature lists", () => {
    const error = thrownBy(() => selectOutputs(new Map([["label", label]]), [], signature));
    expect(error.code).toBe(Code.Internal);
    expect(error.rawMessage).toContain("no output 'scores'");
  });
});
