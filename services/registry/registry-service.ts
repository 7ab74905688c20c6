import { create } from "@bufbuild/protobuf";
import { timestampNow } from "@bufbuild/protobuf/wkt";
import { Code, ConnectError, type ServiceImpl } from "@connectrpc/connect";
import { alreadyExists, failedPrecondition, invalidArgument, notFound } from "../../libs/errors/index.js";
import type { RegistryService } from "../../libs/gen/tessera/registry/v1/registry_pb.js";
import { ModelSchema, ModelVersionSchema, Stage, type ModelVersion } from "../../libs/gen/tessera/registry/v1/registry_pb.js";
import type { Logger } from "../../libs/log/index.js";
import { checkAliasName, checkDescription, checkMetrics, checkModelName, checkTags, checkVersionNumber } from "./names.js";
import { decodePageToken, encodePageToken, pageOf, resolvePageSize } from "./page-token.js";
import { referenceProfileMethods } from "./reference-profiles.js";
import type { RegistryEvents } from "./registry-events.js";
import { DEFAULT_REGISTRY_LIMITS, type RegistryLimits } from "./registry-limits.js";
import { presentVersion, type RegistryStore } from "./registry-store.js";
import { aliasVersion, checkSelector, resolveVersionNumber } from "./resolve-version.js";
import { transitionStage } from "./stage-transition.js";
import { artifactObjectName, MODEL_PREFIX, modelFromKey, versionFromKey, versionPrefix } from "./store-keys.js";
import { checkBatchingFits, uploadModelVersion } from "./upload-model-version.js";
import { UploadSlots } from "./upload-slots.js";

export interface RegistryServiceOptions {
  store: RegistryStore;
  events: RegistryEvents;
  logger: Logger;
  /** Largest artifact accepted, in bytes. */
  maxArtifactBytes: number;
  /** Upload concurrency, idle timeout, tag and alias caps. Default DEFAULT_REGISTRY_LIMITS. */
  limits?: RegistryLimits;
}

const DEFAULT_CHUNK_BYTES = 256 * 1024;
const MAX_CHUNK_BYTES = 4 * 1024 * 1024;

export function createRegistryService(options: RegistryServiceOptions): ServiceImpl<typeof RegistryService> {
  const { store, events } = options;
  const limits = options.limits ?? DEFAULT_REGISTRY_LIMITS;
  const uploads = new UploadSlots(limits.maxConcurrentUploads);

  return {
    async createModel(request) {
      checkModelName(request.name);
      checkDescription(request.description);
      checkTags(request.tags, "tags", limits.maxTags);
      const now = timestampNow();
      const model = create(ModelSchema, { name: request.name, description: request.description, tags: request.tags, createTime: now, updateTime: now });
      let revision: number;
      try {
        revision = (await store.createModel(model)).revision;
      } catch (error) {
        if (error instanceof ConnectError && error.code === Code.AlreadyExists) throw alreadyExists(`model "${request.name}" already exists`);
        throw error;
      }
      await events.modelCreated({ model, revision: BigInt(revision) });
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
      checkTags(request.setTags, "set_tags", limits.maxTags);
      const { value: model, revision } = await store.updateModel(request.name, (current) => {
        const tags = { ...current.tags, ...request.setTags };
        for (const key of request.removeTags) delete tags[key];
        checkTags(tags, "tags", limits.maxTags);
        return create(ModelSchema, { ...current, description: request.description ?? current.description, tags });
      });
      await events.modelUpdated({ model, revision: BigInt(revision) });
      return { model };
    },

    async uploadModelVersion(requests) {
      const release = uploads.acquire();
      try {
        const modelVersion = await uploadModelVersion({ store, events, logger: options.logger, maxArtifactBytes: options.maxArtifactBytes, limits }, requests);
        return { modelVersion };
      } finally {
        release();
      }
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
      checkTags(request.setTags, "set_tags", limits.maxTags);
      checkMetrics(request.setMetrics, "set_metrics");
      const { value: record, revision } = await store.updateVersion(request.model, request.version, (current) => {
        if (request.batching) checkBatchingFits(request.batching, current.signature);
        const tags = { ...current.tags, ...request.setTags };
        for (const key of request.removeTags) delete tags[key];
        checkTags(tags, "tags", limits.maxTags);
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
      await events.versionUpdated({ modelVersion, revision: BigInt(revision) });
      return { modelVersion };
    },

    async transitionStage(request) {
      checkModelName(request.model, "model");
      checkVersionNumber(request.version);
      const record = (await store.getVersion(request.model, request.version)).value;
      let outcome: ReturnType<typeof transitionStage> | undefined;
      const { value: model, revision } = await store.updateModel(request.model, (current) => {
        outcome = transitionStage(current, request.version, request.stage, request.archiveExisting);
        return outcome.model;
      });
      const { previousStage, archived } = outcome!;
      await events.stageChanged({ model: request.model, version: request.version, previousStage, stage: request.stage, revision: BigInt(revision) });
      for (const version of archived) {
        await events.stageChanged({ model: request.model, version, previousStage: request.stage, stage: Stage.ARCHIVED, revision: BigInt(revision) });
      }
      return { modelVersion: presentVersion(record, model), archivedVersions: archived };
    },

    async setAlias(request) {
      checkModelName(request.model, "model");
      checkAliasName(request.alias);
      checkVersionNumber(request.version);
      await store.getVersion(request.model, request.version);
      let previousVersion = 0;
      const { value: model, revision } = await store.updateModel(request.model, (current) => {
        previousVersion = aliasVersion(current, request.alias);
        const count = Object.keys(current.aliases).length;
        if (previousVersion === 0 && count >= limits.maxAliases) {
          throw failedPrecondition(`model "${request.model}" has ${count} aliases, the most allowed (TESSERA_MAX_ALIASES): delete an unused one first (DeleteAlias)`);
        }
        return create(ModelSchema, { ...current, aliases: { ...current.aliases, [request.alias]: request.version } });
      });
      await events.aliasMoved({ model: request.model, alias: request.alias, version: request.version, previousVersion, revision: BigInt(revision) });
      return { model, previousVersion };
    },

    async deleteAlias(request) {
      checkModelName(request.model, "model");
      checkAliasName(request.alias);
      let previousVersion = 0;
      const { value: model, revision } = await store.updateModel(request.model, (current) => {
        previousVersion = aliasVersion(current, request.alias);
        if (previousVersion === 0) throw notFound(`model "${request.model}" has no alias "${request.alias}"`);
        const aliases = { ...current.aliases };
        delete aliases[request.alias];
        return create(ModelSchema, { ...current, aliases });
      });
      await events.aliasDeleted({ model: request.model, alias: request.alias, previousVersion, revision: BigInt(revision) });
      return { model };
    },

    async *downloadArtifact(request) {
      const selector = checkSelector(request.version);
      if (request.chunkSize > MAX_CHUNK_BYTES) throw invalidArgument(`chunk_size is ${request.chunkSize}; at most ${MAX_CHUNK_BYTES}`);
      const chunkSize = request.chunkSize || DEFAULT_CHUNK_BYTES;
      const model = (await store.getModel(selector.model)).value;
      const record = (await store.getVersion(model.name, resolveVersionNumber(model, selector))).value;
      const sha256 = record.artifact?.sha256 ?? "";
      const extra = request.includeExternalData ? (record.artifact?.externalData ?? []) : [];
      // Every file is looked up before the first byte goes out, so a missing one is NOT_FOUND, not a cut stream.
      for (const file of extra) {
        if (!(await store.objects.has(artifactObjectName(file.sha256)))) {
          throw notFound(`external data file "${file.path}" of ${model.name} version ${record.version} (sha256 ${file.sha256}) is missing from the artifact store`);
        }
      }
      const content = await store.objects.get(artifactObjectName(sha256));
      if (!content) throw notFound(`the artifact of ${model.name} version ${record.version} (sha256 ${sha256}) is missing from the artifact store`);
      yield { payload: { case: "modelVersion", value: presentVersion(record, model) } };
      for await (const chunk of rechunk(content, chunkSize)) yield { payload: { case: "chunk", value: chunk } };
      for (const file of extra) {
        const fileContent = await store.objects.get(artifactObjectName(file.sha256));
        if (!fileContent) throw notFound(`external data file "${file.path}" of ${model.name} version ${record.version} (sha256 ${file.sha256}) vanished from the artifact store while it was sent`);
        for await (const chunk of rechunk(fileContent, chunkSize)) yield { payload: { case: "chunk", value: chunk } };
      }
    },

    ...referenceProfileMethods(store),
  };
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
