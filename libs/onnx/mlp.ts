import { TensorProto_DataType } from "../gen/onnx/onnx_pb.js";
import { buildModel, float32Initializer, node, tensorValue, type DimSpec } from "./build-model.js";
import { mulberry32 } from "./mulberry32.js";

/** A fully connected network: Gemm layers with ReLU between them. */
export interface MlpSpec {
  /** Graph name. */
  name: string;
  /** Default "x". */
  inputName?: string;
  /** Default "y". */
  outputName?: string;
  /** Layer widths, input first: [16, 32, 16, 1] is 16 inputs, two hidden layers, 1 output. */
  layers: readonly number[];
  /** Between hidden layers; ReLU is the only one, named so specs read plainly. */
  activation?: "relu";
  /** Applied to the last layer. Default "none". */
  outputActivation?: "sigmoid" | "none";
  /** Weights come from mulberry32(seed): same seed, same model, same bytes. */
  seed: number;
  /** The leading dimension: a name makes it dynamic (default "batch"), a number fixes it. */
  batchDim?: DimSpec;
  docString?: string;
  metadata?: Record<string, string>;
}

/** One layer's parameters: weight is [out, in] row-major (Gemm with transB=1). */
export interface MlpLayer {
  inputs: number;
  outputs: number;
  weight: Float32Array;
  bias: Float32Array;
}

/**
 * The layers' weights, drawn from the seeded PRNG. Weights are uniform in
 * ±sqrt(6 / fan_in) (He-uniform, suited to ReLU) and biases in ±0.05, so
 * activations keep roughly unit scale through deep stacks and a sigmoid
 * output does not saturate on unit-scale inputs.
 */
export function mlpLayers(spec: MlpSpec): MlpLayer[] {
  checkSpec(spec);
  const random = mulberry32(spec.seed);
  const layers: MlpLayer[] = [];
  for (let l = 0; l + 1 < spec.layers.length; l++) {
    const inputs = spec.layers[l] ?? 0;
    const outputs = spec.layers[l + 1] ?? 0;
    const limit = Math.sqrt(6 / inputs);
    const weight = new Float32Array(outputs * inputs);
    for (let i = 0; i < weight.length; i++) weight[i] = (random() * 2 - 1) * limit;
    const bias = new Float32Array(outputs);
    for (let i = 0; i < outputs; i++) bias[i] = (random() * 2 - 1) * 0.05;
    layers.push({ inputs, outputs, weight, bias });
  }
  return layers;
}

/** Builds the MLP as an ONNX model (IR 8, opset 17): Gemm(transB=1) → Relu … → Gemm → [Sigmoid]. */
export function buildMlp(spec: MlpSpec): Uint8Array {
  const layers = mlpLayers(spec);
  const inputName = spec.inputName ?? "x";
  const outputName = spec.outputName ?? "y";
  const batch = spec.batchDim ?? "batch";
  const sigmoid = (spec.outputActivation ?? "none") === "sigmoid";
  const nodes = [];
  const initializers = [];
  let current = inputName;
  for (const [l, layer] of layers.entries()) {
    const last = l === layers.length - 1;
    const weightName = `layer${l}.weight`;
    const biasName = `layer${l}.bias`;
    initializers.push(float32Initializer(weightName, [layer.outputs, layer.inputs], layer.weight));
    initializers.push(float32Initializer(biasName, [layer.outputs], layer.bias));
    const linear = last && !sigmoid ? outputName : `layer${l}.linear`;
    nodes.push(node("Gemm", [current, weightName, biasName], [linear], { name: `layer${l}.gemm`, attributes: { transB: 1n } }));
    if (!last) {
      current = `layer${l}.relu`;
      nodes.push(node("Relu", [linear], [current], { name: `layer${l}.relu` }));
    } else if (sigmoid) {
      nodes.push(node("Sigmoid", [linear], [outputName], { name: `layer${l}.sigmoid` }));
    }
  }
  const outputs = spec.layers[spec.layers.length - 1] ?? 0;
  return buildModel({
    name: spec.name,
    inputs: [tensorValue(inputName, TensorProto_DataType.FLOAT, [batch, spec.layers[0] ?? 0])],
    outputs: [tensorValue(outputName, TensorProto_DataType.FLOAT, [batch, outputs])],
    nodes,
    initializers,
    docString: spec.docString ?? "",
    metadata: spec.metadata ?? {},
  });
}

/**
 * The same network computed in plain JavaScript, to check a runtime's numbers.
 * `input` is `rows` × layers[0] row-major; returns rows × last layer. Each dot
 * product is summed in float64 (products of float32 values are exact there)
 * and rounded to float32 once with the bias added, as a float32 kernel
 * would ideally produce; activations are applied in float32.
 */
export function mlpReference(spec: MlpSpec, input: Float32Array, rows: number, layers: readonly MlpLayer[] = mlpLayers(spec)): Float32Array {
  const width = spec.layers[0] ?? 0;
  if (input.length !== rows * width) {
    throw new RangeError(`mlpReference: input holds ${input.length} values, expected ${rows} rows × ${width}`);
  }
  const sigmoid = (spec.outputActivation ?? "none") === "sigmoid";
  let current = input;
  for (const [l, layer] of layers.entries()) {
    const last = l === layers.length - 1;
    const next = new Float32Array(rows * layer.outputs);
    for (let r = 0; r < rows; r++) {
      const rowBase = r * layer.inputs;
      for (let o = 0; o < layer.outputs; o++) {
        const weightBase = o * layer.inputs;
        let sum = 0;
        for (let i = 0; i < layer.inputs; i++) sum += (current[rowBase + i] ?? 0) * (layer.weight[weightBase + i] ?? 0);
        let value = Math.fround(sum + (layer.bias[o] ?? 0));
        if (!last) value = value > 0 ? value : 0;
        else if (sigmoid) value = Math.fround(1 / (1 + Math.exp(-value)));
        next[r * layer.outputs + o] = value;
      }
    }
    current = next;
  }
  return current;
}

function checkSpec(spec: MlpSpec): void {
  if (spec.layers.length < 2 || spec.layers.some((n) => !Number.isInteger(n) || n < 1)) {
    throw new RangeError(`MLP ${spec.name}: layers must be two or more positive integers, got [${spec.layers.join(", ")}]`);
  }
}
