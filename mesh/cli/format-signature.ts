import { DataType, type Dimension, type Signature, type TensorSpec } from "../../libs/gen/tessera/registry/v1/signature_pb.js";
import { formatTable } from "./format-table.js";

/** "float32", "int64", ...: the lower-case ONNX names people know. */
export function dtypeName(dtype: DataType): string {
  const name = DataType[dtype];
  return name === undefined || dtype === DataType.UNSPECIFIED ? "unknown" : name.toLowerCase();
}

/** "[batch, 16]": a dynamic dimension by its ONNX name, or "?" when it has none. */
export function formatSpecShape(shape: readonly Dimension[]): string {
  return `[${shape.map((d) => (d.size < 0n ? d.name || "?" : String(d.size))).join(", ")}]`;
}

/** "features float32 [batch, 16]". */
export function describeSpec(spec: TensorSpec): string {
  return `${spec.name} ${dtypeName(spec.dtype)} ${formatSpecShape(spec.shape)}`;
}

/**
 * The signature as a table:
 *   KIND    NAME      DTYPE    SHAPE
 *   input   features  float32  [batch, 16]
 *   output  score     float32  [batch, 1]
 */
export function formatSignature(signature: Signature | undefined): string {
  if (!signature || (signature.inputs.length === 0 && signature.outputs.length === 0)) return "(no signature recorded)";
  const row = (kind: string, spec: TensorSpec) => [kind, spec.name, dtypeName(spec.dtype), formatSpecShape(spec.shape), spec.allowNonFinite ? "non-finite allowed" : ""];
  const table = formatTable(["KIND", "NAME", "DTYPE", "SHAPE", ""], [...signature.inputs.map((s) => row("input", s)), ...signature.outputs.map((s) => row("output", s))]);
  const producer = [signature.producerName, signature.producerVersion].filter((part) => part !== "").join(" ");
  const about = [signature.opset > 0n ? `opset ${signature.opset}` : "", producer === "" ? "" : `produced by ${producer}`].filter((part) => part !== "").join(", ");
  return about === "" ? table : `${table}\n${about}`;
}
