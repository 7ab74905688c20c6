import { create } from "@bufbuild/protobuf";
import { describe, expect, it } from "vitest";
import { DataType, SignatureSchema } from "../../libs/gen/tessera/registry/v1/signature_pb.js";
import { dtypeName, formatSignature, formatSpecShape } from "./format-signature.js";

describe("formatSignature()", () => {
  it("lists inputs then outputs with dtype and shape, then the opset and producer", () => {
    const signature = create(SignatureSchema, {
      inputs: [{ name: "features", dtype: DataType.FLOAT32, shape: [{ size: -1n, name: "batch" }, { size: 16n }], allowNonFinite: true }],
      outputs: [{ name: "score", dtype: DataType.FLOAT32, shape: [{ size: -1n }, { size: 1n }] }],
      opset: 17n,
      producerName: "tessera",
      producerVersion: "1",
    });
    expect(formatSignature(signature)).toBe(
      [
        "KIND    NAME      DTYPE    SHAPE",
        "input   features  float32  [batch, 16]  non-finite allowed",
        "output  score     float32  [?, 1]",
        "opset 17, produced by tessera 1",
      ].join("\n"),
    );
  });

  it("says when there is no signature", () => {
    expect(formatSignature(undefined)).toBe("(no signature recorded)");
  });
});

describe("dtypeName()", () => {
  it("names dtypes in lower case, unknown for unspecified", () => {
    expect(dtypeName(DataType.INT64)).toBe("int64");
    expect(dtypeName(DataType.UNSPECIFIED)).toBe("unknown");
  });
});

describe("formatSpecShape()", () => {
  it("writes [] for a scalar", () => {
    expect(formatSpecShape([])).toBe("[]");
  });
});
