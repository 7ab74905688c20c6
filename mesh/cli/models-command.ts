import { createHash } from "node:crypto";
import { createReadStream, readFileSync } from "node:fs";
import { readFile } from "node:fs/promises";
import { resolve } from "node:path";
import { Argument, Command, Option } from "commander";
import { Code } from "../../libs/errors/index.js";
import type { BatchingConfig } from "../../libs/gen/tessera/registry/v1/batching_pb.js";
import { RegistryService, type Model, type ModelVersion } from "../../libs/gen/tessera/registry/v1/registry_pb.js";
import { createMeshClient, type MeshClient } from "../../libs/host/index.js";
import { uploadModelVersion, uploadModelVersionStream } from "../../libs/registry-client/index.js";
import type { CliIo } from "./cli-io.js";
import { addConnectionOptions, resolveConnection } from "./connection-options.js";
import { findExternalData, type ExternalDataFile } from "./external-data-files.js";
import { formatModelDetail, formatModelList, formatPushed, formatVersionDetail } from "./format-models.js";
import { parseBatching } from "./parse-batching.js";
import { parseVersionNumber } from "./parse-count.js";
import { STAGE_NAMES, stageFromName, stageName, type StageName } from "./parse-stage.js";
import { collectList, collectTag } from "./parse-tag.js";
import { callPeer, PeerError, type Peer } from "./peer-error.js";
import { modelNameFor } from "./model-name-from-file.js";
import { UsageError } from "./usage-error.js";

type RegistryClient = MeshClient<typeof RegistryService>["client"];

/** Uploads stream the whole artifact in one call: 10 minutes, unless --timeout says otherwise. */
const UPLOAD_TIMEOUT_MS = 10 * 60_000;

/** `tessera models ...`: the registry's models, versions, aliases and stages. */
export function modelsCommand(io: CliIo): Command {
  const models = new Command("models").description("manage models in the registry: push, list, show, alias, stage");

  addConnectionOptions(
    models
      .command("push")
      .description("upload an ONNX file as a new version of a model (created if missing), with the external data files it keeps its weights in; prints the version and its signature")
      .argument("<file>", "the .onnx file (external data files are taken from beside it, where the model names them)")
      .option("--name <model>", "model name (default: the file's name without .onnx)")
      .option("--alias <alias>", "point this alias at the new version (repeatable)", collectList)
      .option("--description <text>", "what this version is (also the model's description when the model is new)")
      .option("--tag <key=value>", "tag the version (and a new model) (repeatable)", collectTag)
      .option("--batching <json|@file>", 'dynamic batching for this version, as protobuf JSON, e.g. \'{"enabled":true,"maxBatchSize":32,"maxQueueDelayUs":"2000"}\''),
    { registry: true },
  ).action(async (file: string, options: PushOptions, command: Command) => {
    const name = modelNameFor(file, options.name);
    const batching = options.batching === undefined ? undefined : parseBatching(options.batching, (path) => readFileSync(resolve(io.cwd, path), "utf8"));
    const path = resolve(io.cwd, file);
    const bytes = await readArtifact(path, file);
    // Weights saved beside the model (ONNX external data) go with it, under the names the model gives them.
    const externalData = await findExternalData(path, bytes, file);
    await withRegistry(command, io, async (client, peer, timeoutMs) => {
      await ensureModel(client, peer, { name, description: options.description ?? "", tags: options.tag ?? {} }, timeoutMs);
      const header = { model: name, description: options.description, tags: options.tag, batching: batching as BatchingConfig | undefined, createModel: true, aliases: options.alias };
      const upload = { timeoutMs: timeoutMs ?? UPLOAD_TIMEOUT_MS };
      const version = await callPeer(peer, () =>
        externalData.length === 0
          ? uploadModelVersion(client, header, bytes, upload)
          : uploadModelVersionStream(
              client,
              { ...header, sizeBytes: bytes.byteLength, sha256: createHash("sha256").update(bytes).digest("hex"), externalData },
              withFiles(bytes, externalData),
              upload,
            ),
      );
      io.out(formatPushed(version) + "\n");
    });
  });

  addConnectionOptions(models.command("ls").alias("list").description("list the registry's models, their aliases and stages"), { registry: true }).action(
    async (_options: object, command: Command) => {
      await withRegistry(command, io, async (client, peer, timeoutMs) => {
        const all: Model[] = [];
        let pageToken = "";
        do {
          const page = await callPeer(peer, () => client.listModels({ pageSize: 1000, pageToken }, { timeoutMs }));
          all.push(...page.models);
          pageToken = page.nextPageToken;
        } while (pageToken !== "");
        io.out(formatModelList(all.sort((a, b) => a.name.localeCompare(b.name))) + "\n");
      });
    },
  );

  addConnectionOptions(
    models
      .command("show")
      .description("show a model's versions, aliases, stages and signature, or one version in full")
      .argument("<name>", "model name")
      .addOption(new Option("--version <n>", "show this version").argParser(parseVersionNumber).conflicts("alias"))
      .addOption(new Option("--alias <alias>", "show the version this alias points at")),
    { registry: true },
  ).action(async (name: string, options: { version?: number; alias?: string }, command: Command) => {
    await withRegistry(command, io, async (client, peer, timeoutMs) => {
      if (options.version !== undefined || options.alias !== undefined) {
        const selector = options.version !== undefined ? { case: "version" as const, value: options.version } : { case: "alias" as const, value: options.alias! };
        const response = await callPeer(peer, () => client.getModelVersion({ version: { model: name, selector } }, { timeoutMs }));
        io.out(formatVersionDetail(required(response.modelVersion, "model version")) + "\n");
        return;
      }
      const model = required((await callPeer(peer, () => client.getModel({ name }, { timeoutMs }))).model, "model");
      const versions: ModelVersion[] = [];
      let pageToken = "";
      do {
        const page = await callPeer(peer, () => client.listModelVersions({ model: name, pageSize: 1000, pageToken }, { timeoutMs }));
        versions.push(...page.modelVersions);
        pageToken = page.nextPageToken;
      } while (pageToken !== "");
      io.out(formatModelDetail(model, versions) + "\n");
    });
  });

  addConnectionOptions(
    models
      .command("alias")
      .description("point an alias at a version (creating or moving it), or delete it with --delete")
      .argument("<name>", "model name")
      .argument("<alias>", "alias, e.g. production")
      .addArgument(new Argument("[version]", "version to point at").argParser(parseVersionNumber))
      .option("--delete", "delete the alias instead"),
    { registry: true },
  ).action(async (name: string, alias: string, version: number | undefined, options: { delete?: boolean }, command: Command) => {
    if (options.delete && version !== undefined) throw new UsageError(`give a version to point "${alias}" at, or --delete to remove it, not both`);
    if (!options.delete && version === undefined) throw new UsageError(`missing the version to point "${alias}" at (or --delete to remove it)`);
    await withRegistry(command, io, async (client, peer, timeoutMs) => {
      if (options.delete) {
        await callPeer(peer, () => client.deleteAlias({ model: name, alias }, { timeoutMs }));
        io.out(`deleted alias ${alias} of ${name}\n`);
        return;
      }
      const response = await callPeer(peer, () => client.setAlias({ model: name, alias, version }, { timeoutMs }));
      const previous = response.previousVersion === 0 ? "new alias" : response.previousVersion === version ? "unchanged" : `was v${response.previousVersion}`;
      io.out(`${name}@${alias} → v${version} (${previous})\n`);
    });
  });

  addConnectionOptions(
    models
      .command("stage")
      .description("move a version to a stage")
      .argument("<name>", "model name")
      .addArgument(new Argument("<version>", "version number").argParser(parseVersionNumber))
      .addArgument(new Argument("<stage>", "target stage").choices(STAGE_NAMES))
      .option("--archive-existing", "move the other versions in that stage to archived"),
    { registry: true },
  ).action(async (name: string, version: number, stage: StageName, options: { archiveExisting?: boolean }, command: Command) => {
    await withRegistry(command, io, async (client, peer, timeoutMs) => {
      const response = await callPeer(peer, () =>
        client.transitionStage({ model: name, version, stage: stageFromName(stage), archiveExisting: options.archiveExisting ?? false }, { timeoutMs }),
      );
      const archived = response.archivedVersions.length > 0 ? `; archived ${response.archivedVersions.map((v) => `v${v}`).join(", ")}` : "";
      io.out(`${name} v${version} is now ${stageName(response.modelVersion?.stage ?? stageFromName(stage))}${archived}\n`);
    });
  });

  return models;
}

interface PushOptions {
  name?: string;
  alias?: string[];
  description?: string;
  tag?: Record<string, string>;
  batching?: string;
}

/** Opens a registry client for one command and closes it after. */
async function withRegistry(
  command: Command,
  io: CliIo,
  run: (client: RegistryClient, peer: Peer, timeoutMs: number | undefined) => Promise<void>,
): Promise<void> {
  const connection = resolveConnection(command, io);
  const mesh = createMeshClient(RegistryService, { address: connection.registry.address, defaultTimeoutMs: connection.timeoutMs });
  try {
    await run(mesh.client, connection.registry, connection.timeoutMs);
  } finally {
    mesh.close();
  }
}

/** Creates the model with its description and tags if it does not exist (the upload alone would create it bare). */
async function ensureModel(client: RegistryClient, peer: Peer, model: { name: string; description: string; tags: Record<string, string> }, timeoutMs: number | undefined) {
  const exists = await callPeer(peer, () => client.getModel({ name: model.name }, { timeoutMs })).then(
    () => true,
    (error: unknown) => {
      if (error instanceof PeerError && error.status.code === Code.NotFound) return false;
      throw error;
    },
  );
  if (exists) return;
  await callPeer(peer, () => client.createModel(model, { timeoutMs })).catch((error: unknown) => {
    // Created by someone else between our two calls: it exists, which is all we need.
    if (!(error instanceof PeerError && error.status.code === Code.AlreadyExists)) throw error;
  });
}

/** The model's bytes, then each external data file's, read from disk a chunk at a time. */
async function* withFiles(model: Uint8Array, files: readonly ExternalDataFile[]): AsyncGenerator<Uint8Array> {
  yield model;
  for (const file of files) {
    for await (const chunk of createReadStream(file.file)) yield chunk as Buffer;
  }
}

async function readArtifact(path: string, shown: string): Promise<Uint8Array> {
  try {
    return await readFile(path);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    throw new Error(`cannot read ${shown}${code === "ENOENT" ? ": no such file" : code === "EISDIR" ? ": it is a directory" : `: ${(error as Error).message}`}`);
  }
}

function required<T>(value: T | undefined, what: string): T {
  if (value === undefined) throw new Error(`the registry answered without the ${what}`);
  return value;
}
