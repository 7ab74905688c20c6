import { create } from "@bufbuild/protobuf";
import { describe, expect, it } from "vitest";
import { DataType, TensorSpecSchema, type TensorSpec } from "../../libs/gen/tessera/registry/v1/signature_pb.js";
import { buildTensors } from "./build-tensors.js";
import { UsageError } from "./usage-error.js";

function spec(name: string, dtype: DataType, shape: (number | string)[]): TensorSpec {
  return create(TensorSpecSchema, {
    name,
    dtype,
    shape: shape.map((d) => (typeof d === "string" ? { size: -1n, name: d } : { size: BigInt(d) })),
  });
}

const features = spec("features", DataType.FLOAT32, ["batch", 3]);

describe("buildTensors()", () => {
  it("types float32 input from the signature and takes the shape from the nesting", () => {
    const [tensor] = buildTensors({ features: [[0.5, 1, -2], [0, 0, 0]] }, [features]);
    expect(tensor).toMatchObject({ name: "features", dtype: DataType.FLOAT32, shape: [2n, 3n], floatData: [0.5, 1, -2, 0, 0, 0] });
  });

  it("puts each dtype in its own field", () => {
    const inputs = [
      spec("d", DataType.FLOAT64, [1]),
      spec("i", DataType.INT8, [2]),
      spec("l", DataType.INT64, [2]),
      spec("u", DataType.UINT64, [1]),
      spec("b", DataType.BOOL, [2]),
      spec("s", DataType.STRING, [1]),
      spec("h", DataType.FLOAT16, [1]),
    ];
    const tensors = buildTensors({ d: [0.25], i: [-128, 127], l: [5, "-9007199254740993"], u: ["18446744073709551615"], b: [true, false], s: ["hi"], h: [1] }, inputs);
    const byName = new Map(tensors.map((t) => [t.name, t]));
    expect(byName.get("d")!.doubleData).toEqual([0.25]);
    expect(byName.get("i")!.int32Data).toEqual([-128, 127]);
    expect(byName.get("l")!.int64Data).toEqual([5n, -9007199254740993n]);
    expect(byName.get("u")!.uint64Data).toEqual([18446744073709551615n]);
    expect(byName.get("b")!.boolData).toEqual([true, false]);
    expect(byName.get("s")!.stringData).toEqual(["hi"]);
    // 1.0 in binary16 is 0x3c00, little-endian.
    expect([...byName.get("h")!.rawData]).toEqual([0x00, 0x3c]);
  });

  it('accepts "NaN" and "Infinity" for floats, which JSON cannot write', () => {
    const [tensor] = buildTensors({ features: [["NaN", "Infinity", "-Infinity"]] }, [features]);
    expect(tensor!.floatData[0]).toBeNaN();
    expect(tensor!.floatData.slice(1)).toEqual([Infinity, -Infinity]);
  });

  it("leaves the shape to the server when the signature records none", () => {
    const [tensor] = buildTensors({ x: [[1, 2], [3, 4]] }, [spec("x", DataType.FLOAT32, [])]);
    expect(tensor!.shape).toEqual([2n, 2n]);
  });

  it.each([
    ["input that is not an object", [[1, 2, 3]], "--input must be a JSON object of input name to nested array"],
    ["an input the model lacks", { features: [[1, 2, 3]], extra: [1] }, 'the model has no input "extra"; it takes features float32 [batch, 3]'],
    ["a missing input", {}, 'input "features" is missing; the model takes features float32 [batch, 3]'],
    ["one row not wrapped in a batch", { features: [1, 2, 3] }, 'input "features" has shape [3], 1 dimension, but the model takes features float32 [batch, 3]; wrap it in [ ] to send one row'],
    ["a row of the wrong width", { features: [[1, 2]] }, 'input "features" has shape [1, 2], but dimension 1 of features float32 [batch, 3] must be 3'],
    ["a string among floats", { features: [[1, "x", 3]] }, 'features[0][1] is "x"; float32 takes numbers'],
    ["a ragged batch", { features: [[1, 2, 3], [1, 2]] }, "features[1] has 2 elements where features[0] has 3"],
  ])("refuses %s, saying what the model takes", (_label, input, message) => {
    expect(() => buildTensors(input, [features])).toThrow(UsageError);
    expect(() => buildTensors(input, [features])).toThrow(message);
  });

  it.each([
    [DataType.INT8, [128], "x[0] is 128, outside int8's range -128..127"],
    [DataType.INT32, [1.5], "x[0] is 1.5; int32 takes whole numbers"],
    [DataType.UINT32, [-1], "x[0] is -1, outside uint32's range 0..4294967295"],
    [DataType.INT64, [2 ** 60], "x[0] is 1152921504606847000; int64 takes whole numbers; past 2^53 write it as a string of digits"],
    [DataType.BOOL, [1], "x[0] is 1; bool takes true or false"],
    [DataType.STRING, [1], "x[0] is 1; string takes JSON strings"],
  ])("checks the values of dtype %s", (dtype, values, message) => {
    expect(() => buildTensors({ x: values }, [spec("x", dtype, [-1])])).toThrow(message);
  });
});
