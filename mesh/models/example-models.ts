import { DataType } from "../../libs/gen/tessera/registry/v1/signature_pb.js";
import { buildGatherModel, buildMlp, GATHER_TABLE_ROWS, GATHER_WIDTH, mulberry32, type MlpSpec } from "../../libs/onnx/index.js";

/** One tensor of a sample request; the same shape as the inference service's HostTensor. */
export interface ExampleTensor {
  readonly dtype: DataType;
  readonly shape: readonly number[];
  readonly data: Float32Array | BigInt64Array;
}

export interface ExampleModel {
  /** Short name, also the model's name when registered by the demo: "fraud". */
  readonly name: string;
  /** File name inside the models directory: "fraud.onnx". */
  readonly file: string;
  readonly description: string;
  /** The model's bytes; deterministic, no I/O. */
  build(): Uint8Array;
  /** One valid input row (leading dimension 1), keyed by input name; `seed` varies the values. */
  sampleRow(seed?: number): Map<string, ExampleTensor>;
  /** For the MLPs: the spec, so `mlpReference` can recompute their outputs. */
  readonly mlp?: MlpSpec;
}

const fraudSpec: MlpSpec = {
  name: "fraud",
  inputName: "features",
  outputName: "score",
  layers: [16, 32, 16, 1],
  activation: "relu",
  outputActivation: "sigmoid",
  seed: 1001,
  batchDim: "batch",
  docString: "Tabular fraud scoring: 16 transaction features in, a probability out.",
};

// Sized so one row costs ~1.5 ms of onnxruntime-node CPU at batch 1: the
// ~21 MB of weights are streamed from memory once per run whatever the batch,
// so batch 64 serves ~10x the rows per second (measured on the 2-core dev
// machine: ~700-1,200 rows/s at batch 1, ~6,700-12,600 at batch 64).
const wideSpec: MlpSpec = {
  name: "wide",
  inputName: "x",
  outputName: "y",
  layers: [512, 2048, 2048, 16],
  activation: "relu",
  outputActivation: "none",
  seed: 2002,
  batchDim: "batch",
  docString: "A wide MLP for load tests: memory-bound at batch 1, so batching pays.",
};

const fixedSpec: MlpSpec = {
  name: "fixed",
  inputName: "x",
  outputName: "y",
  layers: [4, 8, 2],
  activation: "relu",
  outputActivation: "none",
  seed: 3003,
  batchDim: 1,
  docString: "Input fixed at [1, 4]: no dynamic leading dimension, so it cannot be batched.",
};

/** The models `npm run build` writes into models/, for the CLI, the demo, tests and benchmarks. */
export const exampleModels: readonly ExampleModel[] = [
  {
    name: "fraud",
    file: "fraud.onnx",
    description: "fraud-scoring MLP: features float32 [batch, 16] -> score float32 [batch, 1] (sigmoid)",
    build: () => buildMlp(fraudSpec),
    sampleRow: (seed = 0) => new Map([["features", uniformRow(16, seed)]]),
    mlp: fraudSpec,
  },
  {
    name: "wide",
    file: "wide.onnx",
    description: "load-test MLP 512->2048->2048->16: x float32 [batch, 512] -> y float32 [batch, 16]; ~1.5 ms CPU per run at batch 1",
    build: () => buildMlp(wideSpec),
    sampleRow: (seed = 0) => new Map([["x", uniformRow(512, seed)]]),
    mlp: wideSpec,
  },
  {
    name: "gather",
    file: "gather.onnx",
    description: `fault-test model: x float32 [batch, ${GATHER_WIDTH}], idx int64 [batch] -> y = x + table[idx]; idx outside -${GATHER_TABLE_ROWS}..${GATHER_TABLE_ROWS - 1} fails the run`,
    build: () => buildGatherModel(),
    sampleRow: (seed = 0) =>
      new Map<string, ExampleTensor>([
        ["x", uniformRow(GATHER_WIDTH, seed)],
        ["idx", { dtype: DataType.INT64, shape: [1], data: BigInt64Array.of(BigInt(Math.abs(seed) % GATHER_TABLE_ROWS)) }],
      ]),
  },
  {
    name: "fixed",
    file: "fixed.onnx",
    description: "MLP with a fixed input shape: x float32 [1, 4] -> y float32 [1, 2] (no dynamic batch dimension)",
    build: () => buildMlp(fixedSpec),
    sampleRow: (seed = 0) => new Map([["x", uniformRow(4, seed)]]),
    mlp: fixedSpec,
  },
];

/** A row that makes the gather model fail: idx = 8, one past its table. */
export function failingGatherRow(): Map<string, ExampleTensor> {
  return new Map<string, ExampleTensor>([
    ["x", uniformRow(GATHER_WIDTH, 0)],
    ["idx", { dtype: DataType.INT64, shape: [1], data: BigInt64Array.of(BigInt(GATHER_TABLE_ROWS)) }],
  ]);
}

/** Finds a catalogue entry by name; throws listing the names when there is none. */
export function exampleModel(name: string): ExampleModel {
  const model = exampleModels.find((m) => m.name === name);
  if (model === undefined) {
    throw new RangeError(`no example model named "${name}"; known: ${exampleModels.map((m) => m.name).join(", ")}`);
  }
  return model;
}

function uniformRow(width: number, seed: number): ExampleTensor {
  const random = mulberry32(0x5eed + seed);
  const data = new Float32Array(width);
  for (let i = 0; i < width; i++) data[i] = random() * 2 - 1;
  return { dtype: DataType.FLOAT32, shape: [1, width], data };
}
