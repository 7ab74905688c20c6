import * as ort from "onnxruntime-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { DataType, type Dimension } from "../../libs/gen/tessera/registry/v1/signature_pb.js";
import { gatherReference, mlpReference, mulberry32, readSignature } from "../../libs/onnx/index.js";
import { exampleModel, exampleModels, failingGatherRow, type ExampleModel, type ExampleTensor } from "./example-models.js";

const dims = (shape: readonly Dimension[]) => shape.map((d) => (d.size === -1n ? d.name : Number(d.size)));

const expectedSignatures: Record<string, { inputs: [string, DataType, (string | number)[]][]; outputs: [string, DataType, (string | number)[]][] }> = {
  fraud: { inputs: [["features", DataType.FLOAT32, ["batch", 16]]], outputs: [["score", DataType.FLOAT32, ["batch", 1]]] },
  wide: { inputs: [["x", DataType.FLOAT32, ["batch", 512]]], outputs: [["y", DataType.FLOAT32, ["batch", 16]]] },
  gather: {
    inputs: [
      ["x", DataType.FLOAT32, ["batch", 4]],
      ["idx", DataType.INT64, ["batch"]],
    ],
    outputs: [["y", DataType.FLOAT32, ["batch", 4]]],
  },
  fixed: { inputs: [["x", DataType.FLOAT32, [1, 4]]], outputs: [["y", DataType.FLOAT32, [1, 2]]] },
};

function toOrt(tensor: ExampleTensor): ort.Tensor {
  return tensor.data instanceof BigInt64Array
    ? new ort.Tensor("int64", tensor.data, [...tensor.shape])
    : new ort.Tensor("float32", tensor.data, [...tensor.shape]);
}

function feeds(row: Map<string, ExampleTensor>): Record<string, ort.Tensor> {
  return Object.fromEntries([...row].map(([name, tensor]) => [name, toOrt(tensor)]));
}

/** Largest |a - b| relative to the largest |b|. */
function normwiseError(actual: Float32Array, expected: Float32Array): number {
  let diff = 0;
  let scale = 0;
  for (let i = 0; i < expected.length; i++) {
    diff = Math.max(diff, Math.abs((actual[i] ?? NaN) - (expected[i] ?? NaN)));
    scale = Math.max(scale, Math.abs(expected[i] ?? 0));
  }
  return diff / scale;
}

describe("exampleModels", () => {
  const sessions = new Map<string, ort.InferenceSession>();
  const bytes = new Map<string, Uint8Array>();
  beforeAll(async () => {
    ort.env.logLevel = "fatal";
    for (const model of exampleModels) {
      const built = model.build();
      bytes.set(model.name, built);
      sessions.set(model.name, await ort.InferenceSession.create(built));
    }
  });
  afterAll(async () => {
    for (const session of sessions.values()) await session.release();
  });
  const session = (model: ExampleModel) => sessions.get(model.name) as ort.InferenceSession;

  it("holds fraud, wide, gather and fixed, each with its own file", () => {
    expect(exampleModels.map((m) => m.name)).toEqual(["fraud", "wide", "gather", "fixed"]);
    expect(exampleModels.map((m) => m.file)).toEqual(["fraud.onnx", "wide.onnx", "gather.onnx", "fixed.onnx"]);
  });

  it.each(exampleModels.map((m) => [m.name, m] as const))("%s: readSignature gives its names, dtypes and dims", (name, model) => {
    const signature = readSignature(bytes.get(model.name) as Uint8Array);
    const expected = expectedSignatures[name];
    expect(signature.inputs.map((t) => [t.name, t.dtype, dims(t.shape)])).toEqual(expected?.inputs);
    expect(signature.outputs.map((t) => [t.name, t.dtype, dims(t.shape)])).toEqual(expected?.outputs);
    expect(signature.opset).toBe(17n);
  });

  it.each(exampleModels.map((m) => [m.name, m] as const))("%s: sampleRow fits the signature and onnxruntime's inputs", (_name, model) => {
    const signature = readSignature(bytes.get(model.name) as Uint8Array);
    const row = model.sampleRow(3);
    expect([...row.keys()]).toEqual(signature.inputs.map((t) => t.name));
    expect(session(model).inputNames).toEqual(signature.inputs.map((t) => t.name));
    for (const spec of signature.inputs) {
      const tensor = row.get(spec.name) as ExampleTensor;
      expect(tensor.dtype).toBe(spec.dtype);
      expect(tensor.shape).toEqual(spec.shape.map((d) => (d.size === -1n ? 1 : Number(d.size))));
      expect(tensor.data.length).toBe(tensor.shape.reduce((a, b) => a * b, 1));
    }
    expect(model.sampleRow(3).get(signature.inputs[0]?.name ?? "")?.data).toEqual(row.get(signature.inputs[0]?.name ?? "")?.data);
    expect(model.sampleRow(4).get(signature.inputs[0]?.name ?? "")?.data).not.toEqual(row.get(signature.inputs[0]?.name ?? "")?.data);
  });

  it.each(exampleModels.filter((m) => m.mlp !== undefined).map((m) => [m.name, m] as const))(
    "%s: onnxruntime's output for a sample row equals mlpReference within 1e-5",
    async (_name, model) => {
      const spec = model.mlp;
      if (spec === undefined) throw new Error("no spec");
      const row = model.sampleRow(1);
      const input = row.get(spec.inputName ?? "x")?.data as Float32Array;
      const result = await session(model).run(feeds(row));
      const output = result[spec.outputName ?? "y"];
      expect(output?.dims).toEqual([1, spec.layers[spec.layers.length - 1]]);
      expect(normwiseError(output?.data as Float32Array, mlpReference(spec, input, 1))).toBeLessThan(1e-5);
    },
  );

  it.each(["fraud", "wide"])("%s: a batch of 64 rows equals mlpReference within 1e-5", async (name) => {
    const model = exampleModel(name);
    const spec = model.mlp;
    if (spec === undefined) throw new Error("no spec");
    const width = spec.layers[0] ?? 0;
    const random = mulberry32(77);
    const input = Float32Array.from({ length: 64 * width }, () => random() * 2 - 1);
    const result = await session(model).run({ [spec.inputName ?? "x"]: new ort.Tensor("float32", input, [64, width]) });
    const actual = result[spec.outputName ?? "y"]?.data as Float32Array;
    expect(normwiseError(actual, mlpReference(spec, input, 64))).toBeLessThan(1e-5);
  });

  it("fraud: scores are probabilities, not saturated", async () => {
    const model = exampleModel("fraud");
    for (let seed = 0; seed < 20; seed++) {
      const score = (await session(model).run(feeds(model.sampleRow(seed)))).score?.data[0] as number;
      expect(score).toBeGreaterThan(0.001);
      expect(score).toBeLessThan(0.999);
    }
  });

  it("gather: a sample row runs and equals gatherReference to the bit", async () => {
    const model = exampleModel("gather");
    const row = model.sampleRow(5);
    const result = await session(model).run(feeds(row));
    const expected = gatherReference({}, row.get("x")?.data as Float32Array, row.get("idx")?.data as BigInt64Array);
    expect(Array.from(result.y?.data as Float32Array)).toEqual(Array.from(expected));
  });

  it("gather: failingGatherRow makes onnxruntime fail the run", async () => {
    await expect(session(exampleModel("gather")).run(feeds(failingGatherRow()))).rejects.toThrow(/out of data bounds/);
  });

  it("fixed: onnxruntime refuses a batch of 2, since the leading dimension is fixed at 1", async () => {
    const input = new ort.Tensor("float32", new Float32Array(8), [2, 4]);
    await expect(session(exampleModel("fixed")).run({ x: input })).rejects.toThrow(/dimension|shape/i);
  });
});

describe("exampleModel()", () => {
  it("finds a model by name", () => {
    expect(exampleModel("wide").file).toBe("wide.onnx");
  });

  it("throws listing the known names for an unknown one", () => {
    expect(() => exampleModel("nope")).toThrow(/known: fraud, wide, gather, fixed/);
  });
});
