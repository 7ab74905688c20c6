import { create } from "@bufbuild/protobuf";
import { describe, expect, it } from "vitest";
import { FeatureKind } from "../gen/tessera/registry/v1/profile_pb.js";
import { DataType, SignatureSchema } from "../gen/tessera/registry/v1/signature_pb.js";
import { featureSlots } from "./feature-slots.js";
import { parseCsvLine } from "./parse-csv-line.js";
import { OTHER_CATEGORY, ProfileBuilder } from "./profile-builder.js";
import { csvRowReader, jsonlRowReader } from "./row-reader.js";

const dim = (size: number) => ({ size: BigInt(size) });
const signature = create(SignatureSchema, {
  inputs: [
    { name: "x", dtype: DataType.FLOAT32, shape: [dim(-1), dim(3)] },
    { name: "country", dtype: DataType.STRING, shape: [dim(-1)] },
    { name: "count", dtype: DataType.INT64, shape: [dim(-1), dim(1)] },
    { name: "image", dtype: DataType.FLOAT32, shape: [dim(-1), dim(-1)] },
  ],
  outputs: [{ name: "score", dtype: DataType.FLOAT32, shape: [dim(-1), dim(1)] }],
});

describe("featureSlots()", () => {
  it("names a column per value of fixed-width rows, one feature for a single column, none for dynamic rows", () => {
    expect(featureSlots(signature).map((s) => [s.name, s.kinds])).toEqual([
      ["x[0]", [FeatureKind.NUMERIC]],
      ["x[1]", [FeatureKind.NUMERIC]],
      ["x[2]", [FeatureKind.NUMERIC]],
      ["country", [FeatureKind.CATEGORICAL]],
      ["count", [FeatureKind.NUMERIC, FeatureKind.CATEGORICAL]],
      ["score", [FeatureKind.NUMERIC]],
    ]);
  });
});

describe("ProfileBuilder", () => {
  const slots = featureSlots(signature);
  const kindOf = (s: (typeof slots)[number]) => s.kinds[0]!;

  it("keeps exact statistics, every value of a small reference and the category counts", () => {
    const builder = new ProfileBuilder(slots, kindOf);
    for (let i = 0; i < 10; i++) builder.add([i, i * 2, 1, i % 2 ? "fr" : "de", i % 3, i / 10], `row ${i}`);
    builder.add([null, 0, 1, "", 0, 0.5], "row 10");
    const profile = builder.finish("test");
    expect(profile.rowCount).toBe(11n);
    const x0 = profile.features[0]!;
    expect(x0).toMatchObject({ name: "x[0]", kind: FeatureKind.NUMERIC, count: 10n, missing: 1n });
    expect(x0.numeric).toMatchObject({ min: 0, max: 9, mean: 4.5 });
    expect(x0.numeric!.std).toBeCloseTo(Math.sqrt(8.25), 12);
    expect(x0.numeric!.values).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    expect(x0.numeric!.histogramCounts.reduce((a, b) => a + b, 0n)).toBe(10n);
    expect(x0.numeric!.quantiles[0]).toBeLessThan(x0.numeric!.quantiles.at(-1)!);
    // A constant column has a one-value domain: tested as categorical later.
    expect(profile.features[2]!.numeric!.smallDomain).toEqual({ "1": 11n });
    expect(profile.features[3]!.categorical!.frequencies).toEqual({ de: 5n, fr: 5n });
    expect(profile.features[4]!.numeric!.smallDomain).toEqual({ "0": 5n, "1": 3n, "2": 3n });
  });

  it("bounds memory: a reservoir for quantiles, no kept values and an other-bucket past the limits", () => {
    const builder = new ProfileBuilder(slots, kindOf, { reservoirSize: 500, maxCategories: 3 });
    for (let i = 0; i < 5000; i++) builder.add([i, 0, 0, `c${i % 10}`, 0, 0], `row ${i}`);
    const profile = builder.finish("test");
    const x0 = profile.features[0]!.numeric!;
    expect(x0.values).toEqual([]);
    expect(x0.histogramCounts.reduce((a, b) => a + b, 0n)).toBe(5000n);
    expect(x0.quantiles.length).toBe(200);
    // The median of 0..4999 from a 500-value sample: within a few percent of rank.
    expect(Math.abs(x0.quantiles[100]! - 2500)).toBeLessThan(400);
    const frequencies = profile.features[3]!.categorical!.frequencies;
    expect(Object.keys(frequencies).sort()).toEqual([OTHER_CATEGORY, "c0", "c1", "c2"]);
    expect(frequencies[OTHER_CATEGORY]).toBe(3500n);
  });

  it("refuses a non-number in a numeric feature, naming the row", () => {
    const builder = new ProfileBuilder(slots, kindOf);
    expect(() => builder.add(["abc", 0, 0, "de", 0, 0], "data.csv line 7")).toThrow('data.csv line 7: "x[0]" is numeric, got "abc"');
  });
});

describe("row readers", () => {
  const slots = featureSlots(signature);

  it("reads CSV by header name, ignoring unknown columns and without outputs", () => {
    const reader = csvRowReader("id,x[0],x[1],x[2],country,count", slots, "data.csv");
    expect(reader.slots.map((s) => s.name)).toEqual(["x[0]", "x[1]", "x[2]", "country", "count"]);
    expect(reader.read('7,1.5,2,3,"Côte, d\'Ivoire",4', 2)).toEqual(["1.5", "2", "3", "Côte, d'Ivoire", "4"]);
    expect(reader.read("", 3)).toBeUndefined();
  });

  it("names missing input features", () => {
    expect(() => csvRowReader("x[0],country", slots, "data.csv")).toThrow("data.csv lacks input features x[1], x[2], count");
  });

  it("reads JSON Lines with a tensor as an array", () => {
    const reader = jsonlRowReader('{"x":[1,2,3],"country":"de","count":2,"score":0.5}', slots, "d.jsonl");
    expect(reader.read('{"x":[4,5,6],"country":"fr","count":1,"score":0.25}', 2)).toEqual([4, 5, 6, "fr", 1, 0.25]);
    expect(() => reader.read('{"x":[4,5],"country":"fr","count":1,"score":0}', 3)).toThrow('d.jsonl line 3: "x" must be an array of 3 values');
    expect(() => reader.read("{", 4)).toThrow("d.jsonl line 4: not JSON");
  });

  it.each([
    ["a,b,c", ["a", "b", "c"]],
    ['"a ""q""",b', ['a "q"', "b"]],
    ["a,,", ["a", "", ""]],
    ['"x"\r', ["x"]],
  ])("parseCsvLine(%j)", (line, fields) => {
    expect(parseCsvLine(line, "f")).toEqual(fields);
  });
});
