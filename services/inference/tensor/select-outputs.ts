import { internal, invalidArgument } from "../../../libs/errors/index.js";
import type { Signature } from "../../../libs/gen/tessera/registry/v1/signature_pb.js";
import type { HostTensor, TensorMap } from "./host-tensor.js";

/**
 * The outputs to fetch for a request: the requested names (deduplicated, in request order),
 * or every output of the signature when none are requested. Unknown names are
 * INVALID_ARGUMENT listing the model's outputs, so a request can be refused before it runs.
 */
export function resolveOutputNames(requested: readonly string[], signature: Signature): readonly string[] {
  const all = outputNamesOf(signature);
  if (requested.length === 0) return all;
  const known = new Set(all);
  const names = [...new Set(requested)];
  const unknown = names.filter((n) => !known.has(n));
  if (unknown.length > 0) {
    const list = unknown.map((n) => `'${n}'`).join(", ");
    throw invalidArgument(
      `unknown output${unknown.length === 1 ? "" : "s"} ${list}; this model returns ${all.map((n) => `'${n}'`).join(", ") || "no outputs"}`,
    );
  }
  return names;
}

// A version's signature never changes: its output names are worked out once, not per request.
const outputNames = new WeakMap<Signature, readonly string[]>();

function outputNamesOf(signature: Signature): readonly string[] {
  let names = outputNames.get(signature);
  if (!names) outputNames.set(signature, (names = Object.freeze(signature.outputs.map((s) => s.name))));
  return names;
}

/** The requested outputs of a run (all of them when none are requested), in that order. */
export function selectOutputs(outputs: TensorMap, requested: readonly string[], signature: Signature): Map<string, HostTensor> {
  const selected = new Map<string, HostTensor>();
  for (const name of resolveOutputNames(requested, signature)) {
    const host = outputs.get(name);
    // The signature was read from this very model, so a gap is ours, not the caller's.
    if (host === undefined) throw internal(`the model run returned no output '${name}', though its signature lists it`);
    selected.set(name, host);
  }
  return selected;
}
