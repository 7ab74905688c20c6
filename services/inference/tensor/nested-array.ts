import { invalidArgument } from "../../../libs/errors/index.js";
import type { TensorSpec } from "../../../libs/gen/tessera/registry/v1/signature_pb.js";
import { dtypeInfo } from "../../../libs/dtypes/index.js";
import type { HostTensor } from "./host-tensor.js";
import { fromJsonElements } from "./json-elements.js";
import { MAX_ELEMENTS, elementCount, formatShape } from "./shape.js";

/**
 * One input given as nested JSON arrays, as the CLI takes it (`{"features": [[0.1, 0.2]]}`):
 * the shape is read from the nesting (which must be rectangular), the dtype from the spec.
 * A bare value is a scalar (shape []). Whether the shape fits the spec is validateInputs'
 * job, which says what the model expects.
 */
export function fromNestedArray(spec: TensorSpec, value: unknown): HostTensor {
  const subject = `input '${spec.name}'`;
  const info = dtypeInfo(spec.dtype, subject);
  const shape: number[] = [];
  for (let v = value; Array.isArray(v); v = v[0] as unknown) {
    shape.push(v.length);
    if (v.length === 0) break;
  }
  const count = elementCount(shape);
  if (count > MAX_ELEMENTS) {
    throw invalidArgument(`${subject}: shape ${formatShape(shape)} holds more than ${MAX_ELEMENTS} elements`);
  }
  const flat: unknown[] = [];
  const walk = (v: unknown, depth: number, path: string): void => {
    if (depth === shape.length) {
      if (Array.isArray(v)) {
        throw invalidArgument(`${subject}: ${path} is an array, but its siblings are values; the nesting must be rectangular`);
      }
      flat.push(v);
      return;
    }
    if (!Array.isArray(v) || v.length !== shape[depth]) {
      const got = Array.isArray(v) ? `${v.length} element${v.length === 1 ? "" : "s"}` : "a value";
      throw invalidArgument(
        `${subject}: ${path} has ${got}, expected ${shape[depth]} (the shape read from the first elements is ` +
          `${formatShape(shape)}); the nesting must be rectangular`,
      );
    }
    for (let i = 0; i < v.length; i++) walk(v[i], depth + 1, `${path}[${i}]`);
  };
  walk(value, 0, spec.name);
  return { dtype: info.dtype, shape, data: fromJsonElements(info, flat, subject, "values") };
}
