import { ModelState, type ServedModel } from "../../libs/gen/tessera/inference/v1/inference_pb.js";

/** The version a predict asks for: by number, by alias, or (neither) the replica's default. */
export interface ServedChoice {
  readonly model: string;
  readonly version?: number;
  readonly alias?: string;
}

/**
 * Finds, in a replica's ListServedModels answer, the entry a Predict for
 * `choice` would reach, to read its signature. With no version or alias,
 * the replica answers with the version it follows by default; its
 * `production` version is the usual one, so that is preferred, then any
 * READY one. Throws, listing what the replica does serve, when none fits.
 */
export function pickServed(served: readonly ServedModel[], choice: ServedChoice, address: string): ServedModel {
  const ofModel = served.filter((s) => s.model === choice.model);
  const fits = ofModel.filter((s) => (choice.version !== undefined ? s.version === choice.version : choice.alias !== undefined ? s.aliases.includes(choice.alias) : true));
  const ready = fits.filter((s) => s.state === ModelState.READY);
  const found = choice.version === undefined && choice.alias === undefined ? (ready.find((s) => s.aliases.includes("production")) ?? ready[0] ?? fits[0]) : (ready[0] ?? fits[0]);
  if (found) return found;
  const wanted = choice.version !== undefined ? `${choice.model} v${choice.version}` : choice.alias !== undefined ? `${choice.model}@${choice.alias}` : `model "${choice.model}"`;
  return fail(`the inference replica at ${address} does not serve ${wanted}; it serves ${describeServed(served)}`);
}

/** "fraud v1 (production), wide v3 (loading)"; "nothing yet" with how to change that. */
export function describeServed(served: readonly ServedModel[]): string {
  if (served.length === 0) return "nothing yet (list models in its serve list, e.g. `serve: [fraud@production]` in the topology, then push them)";
  return served
    .map((s) => {
      const notes = [...s.aliases].sort();
      if (s.state !== ModelState.READY) notes.push((ModelState[s.state] ?? "unknown").toLowerCase());
      return `${s.model} v${s.version}${notes.length > 0 ? ` (${notes.join(", ")})` : ""}`;
    })
    .join(", ");
}

function fail(message: string): never {
  throw new Error(message);
}
