import { fromBinary, toBinary } from "@bufbuild/protobuf";
import { ModelProtoSchema, TensorProto_DataType } from "../../libs/gen/onnx/onnx_pb.js";
import { buildMlp, float32Initializer, int64Initializer, node, type MlpSpec } from "../../libs/onnx/index.js";
import { exampleModel } from "./example-models.js";

// The versions the demo rolls out after fraud v1 (models/fraud.onnx): one
// healthy, one broken. Built in memory, deterministically, like the examples.

const fraud = exampleModel("fraud").mlp!;

/** A retrained fraud model: the same network and signature, other weights. The healthy candidate. */
export const retrainedFraudSpec: MlpSpec = { ...fraud, seed: fraud.seed + 1, docString: "Tabular fraud scoring, retrained: 16 transaction features in, a probability out." };

export function buildRetrainedFraud(): Uint8Array {
  return buildMlp(retrainedFraudSpec);
}

/** Rows of the calibration table the broken version looks its scale up in. */
export const CALIBRATION_BUCKETS = 8;

/**
 * A fraud version with a bug no load-time check sees: the same network,
 * then its score scaled by a calibration table looked up by amount bucket,
 * where the bucket is |features[0]| × 100 (cents) instead of × 10 (tenths).
 * Warm-up's zero rows land in bucket 0 and pass, so the version loads and
 * turns READY; a real row with |features[0]| ≥ 0.08 indexes past the 8-row
 * table and onnxruntime fails the run ("indices element out of data
 * bounds"), so the replica answers INTERNAL and logs the error. Its
 * signature is fraud's: the registry and the router take it as a drop-in.
 */
export function buildBrokenFraud(): Uint8Array {
  const model = fromBinary(ModelProtoSchema, buildMlp({ ...fraud, docString: "Tabular fraud scoring with amount-bucket calibration (bucket off by a factor of 10: fails on real inputs)." }));
  const graph = model.graph!;
  const output = fraud.outputName ?? "y";
  // The network's last node now writes the uncalibrated score.
  const last = graph.node.at(-1)!;
  last.output = last.output.map((name) => (name === output ? "score.raw" : name));
  const input = fraud.inputName ?? "x";
  graph.node.push(
    node("Gather", [input, "amount.column"], ["amount"], { name: "calibration.amount", attributes: { axis: 1n } }),
    node("Abs", ["amount"], ["amount.abs"], { name: "calibration.abs" }),
    node("Mul", ["amount.abs", "calibration.scale"], ["amount.scaled"], { name: "calibration.scale" }),
    node("Cast", ["amount.scaled"], ["amount.bucket"], { name: "calibration.bucket", attributes: { to: BigInt(TensorProto_DataType.INT64) } }),
    node("Gather", ["calibration.table", "amount.bucket"], ["calibration.factor"], { name: "calibration.lookup", attributes: { axis: 0n } }),
    node("Mul", ["score.raw", "calibration.factor"], [output], { name: "calibration.apply" }),
  );
  graph.initializer.push(
    int64Initializer("amount.column", [], BigInt64Array.of(0n)),
    // The bug: 100 where 10 was meant.
    float32Initializer("calibration.scale", [], Float32Array.of(100)),
    float32Initializer("calibration.table", [CALIBRATION_BUCKETS, 1], new Float32Array(CALIBRATION_BUCKETS).fill(1)),
  );
  return toBinary(ModelProtoSchema, model);
}
