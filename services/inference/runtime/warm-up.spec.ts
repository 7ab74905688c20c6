import { create } from "@bufbuild/protobuf";
import { describe, expect, it } from "vitest";
import { BatchingConfigSchema } from "../../../libs/gen/tessera/registry/v1/batching_pb.js";
import { DataType, SignatureSchema } from "../../../libs/gen/tessera/registry/v1/signature_pb.js";
import { resolveBatchingOptions } from "../batching/index.js";
import { warmUpBatchSizes, warmUpInputs } from "./warm-up.js";

const dynamic = create(SignatureSchema, {
  inputs: [
    { name: "x", dtype: DataType.FLOAT32, shape: [{ size: -1n, name: "batch" }, { size: 4n }] },
    { name: "ids", dtype: DataType.INT64, shape: [{ size: -1n }, { size: -1n, name: "seq" }] },
    { name: "flag", dtype: DataType.BOOL, shape: [{ size: -1n }] },
  ],
  outputs: [{ name: "y", dtype: DataType.FLOAT32, shape: [{ size: -1n }, { size: 1n }] }],
});
const fixed = create(SignatureSchema, {
  inputs: [{ name: "x", dtype: DataType.FLOAT32, shape: [{ size: 1n }, { size: 4n }] }],
  outputs: [{ name: "y", dtype: DataType.FLOAT32, shape: [{ size: 1n }, { size: 2n }] }],
});
const batching = (init: object) => resolveBatchingOptions(create(BatchingConfigSchema, init));

describe("warmUpBatchSizes()", () => {
  it("runs once, at 1, without batching", () => {
    expect(warmUpBatchSizes(dynamic, batching({}))).toEqual([1]);
  });

  it("runs at 1 and the largest batch with batching on", () => {
    expect(warmUpBatchSizes(dynamic, batching({ enabled: true, maxBatchSize: 32 }))).toEqual([1, 32]);
  });

  it("runs at each preferred size and the largest", () => {
    expect(warmUpBatchSizes(dynamic, batching({ enabled: true, maxBatchSize: 32, preferredBatchSizes: [8, 4] }))).toEqual([4, 8, 32]);
  });

  it("runs at the fixed size of a model without a batch dimension", () => {
    expect(warmUpBatchSizes(fixed, batching({}))).toEqual([1]);
  });
});

describe("warmUpInputs()", () => {
  it("fills zeros shaped from the signature: rows for the leading dynamic dimension, 1 for the others", () => {
    const inputs = warmUpInputs(dynamic, 8);
    expect(inputs.get("x")).toEqual({ dtype: DataType.FLOAT32, shape: [8, 4], data: new Float32Array(32) });
    expect(inputs.get("ids")).toEqual({ dtype: DataType.INT64, shape: [8, 1], data: new BigInt64Array(8) });
    expect(inputs.get("flag")?.data).toEqual(new Array(8).fill(false));
  });
});
