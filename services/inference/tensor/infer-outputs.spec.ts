import { describe, expect, it } from "vitest";
import { DataType } from "../../../libs/gen/tessera/registry/v1/signature_pb.js";
import type { HostTensor } from "./host-tensor.js";
import { toInferOutputs } from "./infer-outputs.js";

const scores: HostTensor = { dtype: DataType.FLOAT32, shape: [1, 2], data: new Float32Array([0.25, 0.75]) };
const half: HostTensor = { dtype: DataType.FLOAT16, shape: [1], data: new Uint16Array([0x3c00]) };

describe("toInferOutputs()", () => {
  it("answers with typed contents when raw is not asked for", () => {
    const out = toInferOutputs(new Map([["scores", scores]]), { raw: false });
    expect(out.rawOutputContents).toEqual([]);
    // The output's own Float32Array (tensor-values.ts): the gRPC port writes it in one copy.
    expect(out.outputs[0]!.contents!.fp32Contents).toBe(scores.data);
  });

  it("answers raw for every output, in order, when raw is asked for", () => {
    const out = toInferOutputs(
      new Map([
        ["scores", scores],
        ["half", half],
      ]),
      { raw: true },
    );
    expect(out.outputs.map((o) => o.name)).toEqual(["scores", "half"]);
    expect(out.rawOutputContents.map((b) => b.byteLength)).toEqual([8, 2]);
  });

  it("switches the whole answer to raw when an output is FP16", () => {
    const out = toInferOutputs(
      new Map([
        ["scores", scores],
        ["half", half],
      ]),
      { raw: false },
    );
    expect(out.rawOutputContents).toHaveLength(2);
    expect(out.outputs.every((o) => o.contents === undefined)).toBe(true);
  });
});
