import { DataType, type Signature, type TensorSpec } from "../gen/tessera/registry/v1/signature_pb.js";
import { FeatureKind, FeatureRole } from "../gen/tessera/registry/v1/profile_pb.js";

/** One profiled feature: a column of an input or output tensor. */
export interface FeatureSlot {
  /** "<tensor>" for [batch] and [batch, 1] tensors, "<tensor>[j]" for column j of [batch, F]. */
  readonly name: string;
  readonly tensor: string;
  /** Column within a row; 0 for single-column tensors. */
  readonly column: number;
  /** Values per row of the tensor. */
  readonly width: number;
  readonly role: FeatureRole;
  /** The kinds a profile of this slot may have: strings and bools are categorical, floats numeric, integers either. */
  readonly kinds: readonly FeatureKind[];
  readonly dtype: DataType;
}

const FLOATS = new Set([DataType.FLOAT16, DataType.FLOAT32, DataType.FLOAT64]);
const CATEGORICAL = new Set([DataType.STRING, DataType.BOOL]);

/**
 * The features a signature's tensors hold. Tensors whose rows are not a
 * fixed number of values (e.g. [batch, -1], images) have no slots: drift
 * per element would mean nothing there.
 */
export function featureSlots(signature: Signature): FeatureSlot[] {
  return [
    ...signature.inputs.flatMap((t) => slotsOf(t, FeatureRole.INPUT)),
    ...signature.outputs.flatMap((t) => slotsOf(t, FeatureRole.OUTPUT)),
  ];
}

function slotsOf(spec: TensorSpec, role: FeatureRole): FeatureSlot[] {
  const rowDims = spec.shape.slice(1).map((d) => Number(d.size));
  if (rowDims.some((d) => d < 0)) return [];
  const width = rowDims.reduce((a, b) => a * b, 1);
  if (rowDims.length > 1 && width !== 1) return [];
  const kinds = CATEGORICAL.has(spec.dtype)
    ? [FeatureKind.CATEGORICAL]
    : FLOATS.has(spec.dtype)
      ? [FeatureKind.NUMERIC]
      : [FeatureKind.NUMERIC, FeatureKind.CATEGORICAL];
  if (width === 1) return [{ name: spec.name, tensor: spec.name, column: 0, width, role, kinds, dtype: spec.dtype }];
  return Array.from({ length: width }, (_, j) => ({ name: `${spec.name}[${j}]`, tensor: spec.name, column: j, width, role, kinds, dtype: spec.dtype }));
}
