import { create } from "@bufbuild/protobuf";
import { timestampNow } from "@bufbuild/protobuf/wkt";
import { Code, ConnectError, type ServiceImpl } from "@connectrpc/connect";
import { checkBatchable, resolveBatchingOptions } from "../../libs/batching/index.js";
import { alreadyExists, invalidArgument, notFound } from "../../libs/errors/index.js";
import type {
  RegistryService} from "../../libs/gen/tessera/registry/v1/registry_pb.js";
import {
  ArtifactSchema,
  ModelSchema,
  ModelVersionSchema,
  Stage,
  type ModelVersion,
  type UploadModelVersionRequest,
  type UploadModelVersionRequest_Header,
} from "../../libs/gen/tessera/registry/v1/registry_pb.js";
import type { BatchingConfig } from "../../libs/gen/tessera/registry/v1/batching_pb.js";
import type { Signature } from "../../libs/gen/tessera/registry/v1/signature_pb.js";
import type { Logger } from "../../libs/log/index.js";
import { readSignature } from "../../libs/onnx/index.js";
import { checkAliasName, checkDescription, checkMetrics, checkModelName, checkTags, checkVersionNumber } from "./names.js";
import { decodePageToken, encodePageToken, pageOf, resolvePageSize } from "./page-token.js";
import { presentVersion, type RegistryStore } from "./registry-store.js";
import type { RegistryEvents } from "./registry-events.js";
import { checkSelector, resolveVersionNumber } from "./resolve-version.js";
import { transitionStage } from "./stage-transition.js";
import { artifactObjectName, MODEL_PREFIX, modelFromKey, versionFromKey, versionPrefix } from "./store-keys.js";
import { UploadAssembler } from "./upload-assembler.js";

export interface RegistryServiceOptions {
  store: RegistryStore;
  events: RegistryEvents;
  logger: Logger;
  /** Largest artifact accepted, in bytes. */
  maxArtifactBytes: number;
}

const DEFAULT_CHUNK_BYTES = 256 * 1024;
const MAX_CHUNK_BYTES = 4 * 1024 * 1024;

export function createRegistryService(options: RegistryServiceOptions): ServiceImpl<typeof RegistryService> {
  const { store, events } = options;

  return {
    async createModel(request) {
      checkModelName(request.name);
      checkDescription(request.description);
      checkTags(request.tags);
      const now = timestampNow();
      const model = create(ModelSchema, { name: request.name, description: request.description, tags: request.tags, createTime: now, updateTime: now });
      try {
        await store.createModel(model);
      } catch (error) {
        if (error instanceof ConnectError && error.code === Code.AlreadyExists) throw alreadyExists(`model "${request.name}" already exists`);
        throw error;
      }
      await events.modelCreated({ model });
      return { model };
    },

    async getModel(request) {
      checkModelName(request.name);
      return { model: (await store.getModel(request.name)).value };
    },

    async listModels(request) {
      const pageSize = resolvePageSize(request.pageSize);
      const after = decodePageToken(request.pageToken, MODEL_PREFIX);
      const page = pageOf(await store.modelKeys(), after, pageSize);
      const models = [];
      for (const key of page.keys) {
        const found = await store.findModel(modelFromKey(key));
        if (found) models.push(found.value);
      }
      return { models, nextPageToken: page.nextPageToken };
    },

    async updateModel(request) {
      checkModelName(request.name);
      if (request.description !== undefined) checkDescription(request.description);
      checkTags(request.setTags, "set_tags");
      const model = await store.updateModel(request.name, (current) => {
        const tags = { ...current.tags, ...request.setTags };
        for (const key of request.removeTags) delete tags[key];
        return create(ModelSchema, { ...current, description: request.description ?? current.description, tags });
      });
      await events.modelUpdated({ model });
      return { model };
    },

    async uploadModelVersion(requests) {
      const iterator = requests[Symbol.asyncIterator]();
      const first = await iterator.next();
      const header = headerOf(first.done ? undefined : first.value);
      checkUploadHeader(header);

      const existing = await store.findModel(header.model);
      if (!existing && !header.createModel) {
        throw notFound(`model "${header.model}" does not exist; create it first, or set header.create_model`);
      }

      const assembler = new UploadAssembler(header, options.maxArtifactBytes);
      for (let next = await iterator.next(); !next.done; next = await iterator.next()) {
        const payload = next.value.payload;
        if (payload.case !== "chunk") throw invalidArgument("only the first upload message may carry a header; the rest carry chunks");
        assembler.add(payload.value);
      }
      const artifact = assembler.finish();
      const signature = readSignature(artifact.bytes);
      checkBatchingFits(header.batching, signature);

      // Everything is checked: now write, artifact first (content-addressed,
      // so a retry or a twin upload reuses it), then the records.
      if (!existing) await createModelIfMissing(header.model);
      const objectName = artifactObjectName(artifact.sha256);
      if (!(await store.objects.has(objectName))) await store.objects.put(objectName, artifact.bytes);

      const now = timestampNow();
      const created = await store.createVersion(
        create(ModelVersionSchema, {
          model: header.model,
          description: header.description,
          tags: header.tags,
          metrics: header.metrics,
          artifact: create(ArtifactSchema, { sha256: artifact.sha256, sizeBytes: BigInt(artifact.bytes.byteLength), format: "onnx" }),
          signature,
          batching: header.batching,
          featureBinding: header.featureBinding,
          createTime: now,
          updateTime: now,
        }),
        // A hint: createVersion moves past numbers other uploads claimed meanwhile.
        (existing?.value.latestVersion ?? 0) + 1,
      );
      const version = created.version.version;

      const previousAliases: Record<string, number> = {};
      let updatedModel;
      try {
        updatedModel = await store.updateModel(header.model, (current) => {
          const aliases = { ...current.aliases };
          for (const alias of header.aliases) {
            previousAliases[alias] = current.aliases[alias] ?? 0;
            aliases[alias] = version;
          }
          return create(ModelSchema, { ...current, aliases, latestVersion: Math.max(current.latestVersion, version) });
        });
      } catch (error) {
        // Undo the version record so the upload applies whole or not at all.
        await store.removeVersion(header.model, version, created.revision).catch((undoError: unknown) =>
          options.logger.error("could not undo a half-written version", { model: header.model, version, error: undoError }),
        );
        throw error;
      }

      const modelVersion = presentVersion(created.version, updatedModel);
      await events.versionCreated({ modelVersion });
      for (const alias of header.aliases) {
        await events.aliasMoved({ model: header.model, alias, version, previousVersion: previousAliases[alias] ?? 0 });
      }
      options.logger.info("model version created", { model: header.model, version, sha256: artifact.sha256, bytes: artifact.bytes.byteLength });
      return { modelVersion };
    },

    async getModelVersion(request) {
      const selector = checkSelector(request.version);
      const model = (await store.getModel(selector.model)).value;
      const version = resolveVersionNumber(model, selector);
      return { modelVersion: presentVersion((await store.getVersion(model.name, version)).value, model) };
    },

    async listModelVersions(request) {
      checkModelName(request.model, "model");
      const pageSize = resolvePageSize(request.pageSize);
      const after = decodePageToken(request.pageToken, versionPrefix(request.model));
      const model = (await store.getModel(request.model)).value;
      const keys = (await store.versionKeys(request.model)).filter((key) => after === undefined || key > after);
      const modelVersions: ModelVersion[] = [];
      let lastExamined: string | undefined;
      for (const key of keys) {
        if (modelVersions.length === pageSize) break;
        lastExamined = key;
        const found = await store.findVersion(request.model, versionFromKey(key));
        if (!found) continue;
        const presented = presentVersion(found.value, model);
        if (request.stage === Stage.UNSPECIFIED || presented.stage === request.stage) modelVersions.push(presented);
      }
      const more = lastExamined !== undefined && keys[keys.length - 1] !== lastExamined;
      return { modelVersions, nextPageToken: more ? encodePageToken(lastExamined!) : "" };
    },

    async updateModelVersion(request) {
      checkModelName(request.model, "model");
      checkVersionNumber(request.version);
      if (request.description !== undefined) checkDescription(request.description);
      checkTags(request.setTags, "set_tags");
      checkMetrics(request.setMetrics, "set_metrics");
      const record = await store.updateVersion(request.model, request.version, (current) => {
        if (request.batching) checkBatchingFits(request.batching, current.signature);
        const tags = { ...current.tags, ...request.setTags };
        for (const key of request.removeTags) delete tags[key];
        return create(ModelVersionSchema, {
          ...current,
          description: request.description ?? current.description,
          tags,
          metrics: { ...current.metrics, ...request.setMetrics },
          batching: request.batching ?? current.batching,
          featureBinding: request.featureBinding ?? current.featureBinding,
        });
      });
      const modelVersion = presentVersion(record, (await store.getModel(request.model)).value);
      await events.versionUpdated({ modelVersion });
      return { modelVersion };
    },

    async transitionStage(request) {
      checkModelName(request.model, "model");
      checkVersionNumber(request.version);
      const record = (await store.getVersion(request.model, request.version)).value;
      let outcome: ReturnType<typeof transitionStage> | undefined;
      const model = await store.updateModel(request.model, (current) => {
        outcome = transitionStage(current, request.version, request.stage, request.archiveExisting);
        return outcome.model;
      });
      const { previousStage, archived } = outcome!;
      await events.stageChanged({ model: request.model, version: request.version, previousStage, stage: request.stage });
      for (const version of archived) {
        await events.stageChanged({ model: request.model, version, previousStage: request.stage, stage: Stage.ARCHIVED });
      }
      return { modelVersion: presentVersion(record, model), archivedVersions: archived };
    },

    async setAlias(request) {
      checkModelName(request.model, "model");
      checkAliasName(request.alias);
      checkVersionNumber(request.version);
      await store.getVersion(request.model, request.version);
      let previousVersion = 0;
      const model = await store.updateModel(request.model, (current) => {
        previousVersion = current.aliases[request.alias] ?? 0;
        return create(ModelSchema, { ...current, aliases: { ...current.aliases, [request.alias]: request.version } });
      });
      await events.aliasMoved({ model: request.model, alias: request.alias, version: request.version, previousVersion });
      return { model, previousVersion };
    },

    async deleteAlias(request) {
      checkModelName(request.model, "model");
      checkAliasName(request.alias);
      let previousVersion = 0;
      const model = await store.updateModel(request.model, (current) => {
        previousVersion = current.aliases[request.alias] ?? 0;
        if (previousVersion === 0) throw notFound(`model "${request.model}" has no alias "${request.alias}"`);
        const aliases = { ...current.aliases };
        delete aliases[request.alias];
        return create(ModelSchema, { ...current, aliases });
      });
      await events.aliasDeleted({ model: request.model, alias: request.alias, previousVersion });
      return { model };
    },

    async *downloadArtifact(request) {
      const selector = checkSelector(request.version);
      if (request.chunkSize > MAX_CHUNK_BYTES) throw invalidArgument(`chunk_size is ${request.chunkSize}; at most ${MAX_CHUNK_BYTES}`);
      const chunkSize = request.chunkSize || DEFAULT_CHUNK_BYTES;
      const model = (await store.getModel(selector.model)).value;
      const record = (await store.getVersion(model.name, resolveVersionNumber(model, selector))).value;
      const sha256 = record.artifact?.sha256 ?? "";
      const content = await store.objects.get(artifactObjectName(sha256));
      if (!content) throw notFound(`the artifact of ${model.name} version ${record.version} (sha256 ${sha256}) is missing from the artifact store`);
      yield { payload: { case: "modelVersion", value: presentVersion(record, model) } };
      for await (const chunk of rechunk(content, chunkSize)) yield { payload: { case: "chunk", value: chunk } };
    },
  };

  async function createModelIfMissing(name: string): Promise<void> {
    const now = timestampNow();
    const model = create(ModelSchema, { name, createTime: now, updateTime: now });
    try {
      await store.createModel(model);
      await events.modelCreated({ model });
    } catch (error) {
      if (!(error instanceof ConnectError && error.code === Code.AlreadyExists)) throw error;
    }
  }
}

function headerOf(message: UploadModelVersionRequest | undefined): UploadModelVersionRequest_Header {
  if (!message) throw invalidArgument("upload stream was empty: send a header message first, then the artifact in chunks");
  if (message.payload.case !== "header") throw invalidArgument("the first upload message must carry the header (model, size_bytes, ...)");
  return message.payload.value;
}

function checkUploadHeader(header: UploadModelVersionRequest_Header): void {
  checkModelName(header.model, "header.model");
  checkDescription(header.description);
  checkTags(header.tags, "header.tags");
  checkMetrics(header.metrics, "header.metrics");
  header.aliases.forEach(checkAliasName);
  if (header.batching) resolveBatchingOptions(header.batching);
}

/** Batching needs every input and output to have a dynamic leading dimension. */
function checkBatchingFits(batching: BatchingConfig | undefined, signature: Signature | undefined): void {
  if (!batching) return;
  resolveBatchingOptions(batching);
  if (signature) checkBatchable(signature, batching);
}

/** Re-slices a byte stream into chunks of exactly `size` bytes (the last may be shorter). */
async function* rechunk(source: AsyncIterable<Uint8Array>, size: number): AsyncGenerator<Uint8Array> {
  let pending: Uint8Array[] = [];
  let pendingBytes = 0;
  for await (const piece of source) {
    let offset = 0;
    while (offset < piece.byteLength) {
      const take = Math.min(size - pendingBytes, piece.byteLength - offset);
      pending.push(piece.subarray(offset, offset + take));
      pendingBytes += take;
      offset += take;
      if (pendingBytes === size) {
        yield Buffer.concat(pending, pendingBytes);
        pending = [];
        pendingBytes = 0;
      }
    }
  }
  if (pendingBytes > 0) yield Buffer.concat(pending, pendingBytes);
}
