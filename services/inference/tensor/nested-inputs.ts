import { invalidArgument } from "../../../libs/errors/index.js";
import type { Signature } from "../../../libs/gen/tessera/registry/v1/signature_pb.js";
import type { HostTensor } from "./host-tensor.js";
import { jsonKind } from "./json-kind.js";
import { fromNestedArray } from "./nested-array.js";

/**
 * A CLI-style inputs object, `{"features": [[...]], "mask": [...]}`, as HostTensors by name.
 * Each key must name an input of the signature (its spec gives the dtype); presence and
 * shapes are left to validateInputs.
 */
export function fromNestedInputs(signature: Signature, json: unknown): Map<string, HostTensor> {
  if (json === null || typeof json !== "object" || Array.isArray(json)) {
    throw invalidArgument(`inputs must be a JSON object of input name to nested array, got ${jsonKind(json)}`);
  }
  const specs = new Map(signature.inputs.map((s) => [s.name, s]));
  const out = new Map<string, HostTensor>();
  for (const [name, value] of Object.entries(json)) {
    const spec = specs.get(name);
    if (spec === undefined) {
      const takes = signature.inputs.map((s) => `'${s.name}'`).join(", ") || "no inputs";
      throw invalidArgument(`unknown input '${name}'; this model takes ${takes}`);
    }
    out.set(name, fromNestedArray(spec, value));
  }
  return out;
}
