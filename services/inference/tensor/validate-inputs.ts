import { invalidArgument } from "../../../libs/errors/index.js";
import type { Signature, TensorSpec } from "../../../libs/gen/tessera/registry/v1/signature_pb.js";
import { DataType } from "../../../libs/gen/tessera/registry/v1/signature_pb.js";
import { dtypeLabel } from "../../../libs/dtypes/index.js";
import { fromFloat16Bits } from "../../../libs/dtypes/index.js";
import type { HostTensor, TensorMap } from "./host-tensor.js";
import { firstNonFinite } from "./non-finite.js";
import { describeHost, describeSpec, isDynamic } from "./spec-text.js";

export interface ValidatedInputs {
  /**
   * Rows in the request: the size every input agrees on for its leading dynamic (batch)
   * dimension; 1 when no input has one (the request is one unbatchable unit).
   */
  readonly rows: number;
}

/**
 * Checks a request's inputs against the model's signature before it is queued, so a bad
 * request fails alone instead of failing the whole batch it would join. Checks, in order:
 * the input names (all present, none unknown), then each input's datatype, rank, fixed
 * dimensions and dynamic dimensions (≥ 1), then that every batched input has the same
 * number of rows, then (unless the spec allows them) that float inputs are all finite.
 * Errors are INVALID_ARGUMENT naming the input and saying what the model expects.
 */
export function validateInputs(inputs: TensorMap, signature: Signature): ValidatedInputs {
  checkNames(inputs, signature);
  for (const spec of signature.inputs) checkTensor(spec, inputs.get(spec.name)!);
  const rows = agreeOnRows(inputs, signature);
  for (const spec of signature.inputs) {
    if (!spec.allowNonFinite) checkFinite(spec, inputs.get(spec.name)!);
  }
  return { rows };
}

function checkNames(inputs: TensorMap, signature: Signature): void {
  if (hasExactlyTheNames(inputs, signature)) return;
  const expected = new Set(signature.inputs.map((s) => s.name));
  const unknown = [...inputs.keys()].filter((name) => !expected.has(name));
  const missing = signature.inputs.filter((s) => !inputs.has(s.name)).map((s) => s.name);
  if (unknown.length === 0 && missing.length === 0) return;
  const problems: string[] = [];
  if (unknown.length > 0) problems.push(`${plural(unknown.length, "unknown input")} ${quoteList(unknown)}`);
  if (missing.length > 0) problems.push(`${plural(missing.length, "missing input")} ${quoteList(missing)}`);
  const takes = signature.inputs.map((s) => `'${s.name}' ${describeSpec(s)}`).join(", ");
  throw invalidArgument(`${problems.join(" and ")}; this model takes ${takes || "no inputs"}`);
}

/** The usual case, checked without allocating: every input the model takes, and no other. */
function hasExactlyTheNames(inputs: TensorMap, signature: Signature): boolean {
  if (inputs.size !== signature.inputs.length) return false;
  for (const spec of signature.inputs) if (!inputs.has(spec.name)) return false;
  return true;
}

function checkTensor(spec: TensorSpec, host: HostTensor): void {
  const problems: string[] = [];
  if (host.dtype !== spec.dtype) problems.push(`send ${dtypeLabel(spec.dtype)} values`);
  if (host.shape.length !== spec.shape.length) {
    problems.push(`send ${count(spec.shape.length, "dimension")}, not ${host.shape.length}`);
  } else {
    spec.shape.forEach((dim, i) => {
      const got = host.shape[i]!;
      if (isDynamic(dim.size)) {
        if (got < 1) {
          const label = dim.name ? `dimension ${i} (${dim.name})` : `dimension ${i}`;
          problems.push(i === 0 ? `${label} is 0; send at least one row` : `${label} must be at least 1`);
        }
      } else if (BigInt(got) !== dim.size) {
        problems.push(`dimension ${i} must be ${dim.size}`);
      }
    });
  }
  if (problems.length === 0) return;
  throw invalidArgument(
    `input '${spec.name}': expected ${describeSpec(spec)}, got ${describeHost(host)}; ${problems.join(", ")}`,
  );
}

function isBatched(spec: TensorSpec): boolean {
  const first = spec.shape[0];
  return first !== undefined && isDynamic(first.size);
}

function agreeOnRows(inputs: TensorMap, signature: Signature): number {
  let first: { name: string; rows: number } | undefined;
  for (const spec of signature.inputs) {
    if (!isBatched(spec)) continue;
    const rows = inputs.get(spec.name)!.shape[0]!;
    if (first === undefined) first = { name: spec.name, rows };
    else if (rows !== first.rows) {
      throw invalidArgument(
        `inputs disagree on the batch size: '${first.name}' has ${count(first.rows, "row")} but '${spec.name}' has ${rows}; ` +
          `send the same number of rows in every input`,
      );
    }
  }
  return first?.rows ?? 1;
}

function checkFinite(spec: TensorSpec, host: HostTensor): void {
  const index = firstNonFinite(host);
  if (index < 0) return;
  const raw = host.data[index] as number;
  const value = host.dtype === DataType.FLOAT16 ? fromFloat16Bits(raw) : raw;
  let where = `index ${index}`;
  if (isBatched(spec)) {
    const rowSize = host.data.length / host.shape[0]!;
    where += ` (row ${Math.floor(index / rowSize)})`;
  }
  throw invalidArgument(
    `input '${spec.name}' has ${String(value)} at ${where}; this model does not accept non-finite values`,
  );
}

/** "1 row", "3 rows". */
function count(n: number, noun: string): string {
  return `${n} ${noun}${n === 1 ? "" : "s"}`;
}

/** "unknown input", "unknown inputs". */
function plural(n: number, noun: string): string {
  return n === 1 ? noun : `${noun}s`;
}

function quoteList(names: readonly string[]): string {
  return names.map((n) => `'${n}'`).join(", ");
}
