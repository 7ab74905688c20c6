import { TensorProto_DataType } from "../gen/onnx/onnx_pb.js";
import { buildModel, float32Initializer, node, tensorValue } from "./build-model.js";
import { mulberry32 } from "./mulberry32.js";

/**
 * Rows in the lookup table. A valid `idx` is -8..7: ONNX's Gather counts
 * negative indices from the end, so -1 is row 7.
 */
export const GATHER_TABLE_ROWS = 8;
/** Width of `x`, of each table row and of `y`. */
export const GATHER_WIDTH = 4;

export interface GatherModelSpec {
  /** Graph name; default "gather". */
  name?: string;
  /** Seed of the table values; default 7. */
  seed?: number;
}

/** The [8, 4] table the model adds rows of, drawn from mulberry32(seed). */
export function gatherTable(spec: GatherModelSpec = {}): Float32Array {
  const random = mulberry32(spec.seed ?? 7);
  const table = new Float32Array(GATHER_TABLE_ROWS * GATHER_WIDTH);
  for (let i = 0; i < table.length; i++) table[i] = random() * 2 - 1;
  return table;
}

/**
 * A model that fails on specific data, for fault tests: inputs `x` float32
 * [batch, 4] and `idx` int64 [batch], output `y` = x + table[idx], float32
 * [batch, 4]. An `idx` outside -8..7 (8, say) makes onnxruntime reject that run
 * ("indices element out of data bounds"), while every other request
 * succeeds. Its two inputs of different dtypes also serve signature tests.
 */
export function buildGatherModel(spec: GatherModelSpec = {}): Uint8Array {
  return buildModel({
    name: spec.name ?? "gather",
    inputs: [
      tensorValue("x", TensorProto_DataType.FLOAT, ["batch", GATHER_WIDTH]),
      tensorValue("idx", TensorProto_DataType.INT64, ["batch"]),
    ],
    outputs: [tensorValue("y", TensorProto_DataType.FLOAT, ["batch", GATHER_WIDTH])],
    nodes: [
      node("Gather", ["table", "idx"], ["rows"], { name: "lookup", attributes: { axis: 0n } }),
      node("Add", ["x", "rows"], ["y"], { name: "add" }),
    ],
    initializers: [float32Initializer("table", [GATHER_TABLE_ROWS, GATHER_WIDTH], gatherTable(spec))],
    docString: "y = x + table[idx]; an idx outside -8..7 fails the run (for fault tests).",
  });
}

/** What the gather model computes, in plain JavaScript; throws on a bad index like the runtime does. */
export function gatherReference(spec: GatherModelSpec, x: Float32Array, idx: BigInt64Array): Float32Array {
  const table = gatherTable(spec);
  const y = new Float32Array(idx.length * GATHER_WIDTH);
  const rows = BigInt(GATHER_TABLE_ROWS);
  for (const [r, index] of idx.entries()) {
    if (index < -rows || index >= rows) throw new RangeError(`idx ${index} is outside -${rows}..${rows - 1n}`);
    const row = Number(index < 0n ? index + rows : index);
    for (let c = 0; c < GATHER_WIDTH; c++) {
      y[r * GATHER_WIDTH + c] = Math.fround((x[r * GATHER_WIDTH + c] ?? 0) + (table[row * GATHER_WIDTH + c] ?? 0));
    }
  }
  return y;
}
