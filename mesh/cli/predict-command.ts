import { readFileSync } from "node:fs";
import { resolve } from "node:path";
import { Command, Option } from "commander";
import { InferenceService } from "../../libs/gen/tessera/inference/v1/inference_pb.js";
import { RegistryService } from "../../libs/gen/tessera/registry/v1/registry_pb.js";
import type { TensorSpec } from "../../libs/gen/tessera/registry/v1/signature_pb.js";
import { createMeshClient } from "../../libs/host/index.js";
import type { CliIo } from "./cli-io.js";
import { addConnectionOptions, authHeaders, resolveConnection, type Connection } from "./connection-options.js";
import { buildTensors } from "./build-tensors.js";
import { formatPrediction, predictionJson } from "./format-prediction.js";
import { parseVersionNumber } from "./parse-count.js";
import { collectList } from "./parse-tag.js";
import { callPeer } from "./peer-error.js";
import { readJsonArgument } from "./read-json-argument.js";
import { pickServed, type ServedChoice } from "./pick-served.js";
import { UsageError } from "./usage-error.js";

interface PredictOptions {
  input: string;
  version?: number;
  alias?: string;
  output?: string[];
  json?: boolean;
}

/** `tessera predict`: one Predict call to an inference replica, inputs typed from the model's signature. */
export function predictCommand(io: CliIo): Command {
  const command = new Command("predict")
    .description("run a model on an inference replica: --input is JSON of input name to nested array, typed from the model's signature")
    .argument("<model>", "model name")
    .requiredOption("--input <json|@file>", 'inputs, e.g. \'{"features": [[0.1, 0.2, ...]]}\' (one row: a list inside the batch list), or @file.json')
    .addOption(new Option("--version <n>", "run this version (it must be served by the replica)").argParser(parseVersionNumber).conflicts("alias"))
    .option("--alias <alias>", "run the version this alias points at on the replica")
    .option("--output <name>", "return only this output (repeatable; default: all)", collectList)
    .option("--json", "print the answer as JSON: {model, version, requestId, timing, outputs: {name: {dtype, shape, data}}}")
    .addHelpText("after", `\nExample:\n  tessera predict fraud --input '{"features": [[${Array(16).fill("0.1").join(", ")}]]}'`);
  addConnectionOptions(command, { inference: true, registry: true });
  return command.action(async (model: string, options: PredictOptions, self: Command) => {
    const text = readJsonArgument(options.input, "--input", (path) => readFileSync(resolve(io.cwd, path), "utf8"));
    let input: unknown;
    try {
      input = JSON.parse(text);
    } catch (error) {
      throw new UsageError(`--input is not valid JSON (${(error as Error).message}); e.g. --input '{"features": [[0.1, 0.2]]}'`);
    }
    const connection = resolveConnection(self, io);
    const target: ServedChoice = { model, version: options.version, alias: options.alias };
    const inference = createMeshClient(InferenceService, { address: connection.inference.address, defaultTimeoutMs: connection.timeoutMs });
    try {
      const inputs = await signatureInputs(inference.client, connection, target);
      const tensors = buildTensors(input, inputs);
      const response = await callPeer(connection.inference, () =>
        inference.client.predict(
          { model, version: options.version ?? 0, alias: options.alias ?? "", inputs: tensors, outputNames: options.output ?? [] },
          { timeoutMs: connection.timeoutMs, headers: authHeaders(connection) },
        ),
      );
      io.out((options.json ? JSON.stringify(predictionJson(response)) : formatPrediction(response)) + "\n");
    } finally {
      inference.close();
    }
  });
}

/**
 * The model's inputs: from the replica's own list of what it serves (the
 * version that will answer), or, while that version is still loading and
 * the replica has no signature for it yet, from the registry.
 */
async function signatureInputs(
  inference: ReturnType<typeof createMeshClient<typeof InferenceService>>["client"],
  connection: Connection,
  target: ServedChoice,
): Promise<readonly TensorSpec[]> {
  const served = await callPeer(connection.inference, () => inference.listServedModels({}, { timeoutMs: connection.timeoutMs, headers: authHeaders(connection) }));
  const choice = pickServed(served.models, target, connection.inference.address);
  if (choice.signature && choice.signature.inputs.length > 0) return choice.signature.inputs;
  const registry = createMeshClient(RegistryService, { address: connection.registry.address, defaultTimeoutMs: connection.timeoutMs, meshToken: connection.meshToken });
  try {
    const response = await callPeer(connection.registry, () =>
      registry.client.getModelVersion({ version: { model: choice.model, selector: { case: "version", value: choice.version } } }, { timeoutMs: connection.timeoutMs }),
    );
    const inputs = response.modelVersion?.signature?.inputs ?? [];
    if (inputs.length === 0) throw new Error(`the registry has no signature for ${choice.model} v${choice.version}, so the CLI cannot type the inputs`);
    return inputs;
  } finally {
    registry.close();
  }
}
