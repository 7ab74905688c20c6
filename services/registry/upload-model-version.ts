import { randomUUID } from "node:crypto";
import { create } from "@bufbuild/protobuf";
import { timestampDate, timestampNow } from "@bufbuild/protobuf/wkt";
import { Code, ConnectError } from "@connectrpc/connect";
import { checkBatchable, resolveBatchingOptions } from "../../libs/batching/index.js";
import { failedPrecondition, invalidArgument, notFound, unavailable } from "../../libs/errors/index.js";
import type { BatchingConfig } from "../../libs/gen/tessera/registry/v1/batching_pb.js";
import {
  ArtifactSchema,
  ModelSchema,
  ModelVersionSchema,
  type Model,
  type ModelVersion,
  type UploadModelVersionRequest,
  type UploadModelVersionRequest_Header,
} from "../../libs/gen/tessera/registry/v1/registry_pb.js";
import type { Signature } from "../../libs/gen/tessera/registry/v1/signature_pb.js";
import type { Logger } from "../../libs/log/index.js";
import { readSignatureFromStream } from "../../libs/onnx/index.js";
import { KV_MAX_VALUE_BYTES } from "../../libs/store/index.js";
import { checkAliasName, checkDescription, checkIdempotencyKey, checkMetrics, checkModelName, checkTags } from "./names.js";
import { nextWithin } from "./next-within.js";
import type { RegistryEvents } from "./registry-events.js";
import type { RegistryLimits } from "./registry-limits.js";
import { presentVersion, recordBytes, recordTooLarge, type RegistryStore, type Versioned } from "./registry-store.js";
import { aliasVersion } from "./resolve-version.js";
import { artifactObjectName } from "./store-keys.js";
import { UploadAssembler } from "./upload-assembler.js";

export interface UploadDependencies {
  store: RegistryStore;
  events: RegistryEvents;
  logger: Logger;
  maxArtifactBytes: number;
  limits: RegistryLimits;
}

/**
 * UploadModelVersion. The artifact streams into a temporary object while
 * it is counted and hashed (memory: about one chunk), its signature is read
 * back from the stored object, and it is then named by its sha256. Two
 * writes follow: the version record, then the model record that publishes
 * it (latest_version, aliases). Only a definite failure of the second is
 * undone; after an unclear one (a timeout that may have landed) the model
 * is re-read. An idempotency key makes a client's retry answer the version
 * its first attempt created; a crash between the two writes leaves an
 * orphan that the retry finishes or reconcileOrphans() removes.
 */
export async function uploadModelVersion(deps: UploadDependencies, requests: AsyncIterable<UploadModelVersionRequest>): Promise<ModelVersion> {
  const { store, limits } = deps;
  const iterator = requests[Symbol.asyncIterator]();
  const first = await nextWithin(iterator, limits.uploadIdleTimeoutMs);
  const header = headerOf(first.done ? undefined : first.value);
  checkUploadHeader(header, limits);

  const existing = await store.findModel(header.model);
  if (!existing && !header.createModel) {
    throw notFound(`model "${header.model}" does not exist; create it first, or set header.create_model`);
  }
  // Caps and sizes first, so a record that could never be written costs no upload.
  checkModelFits(existing?.value ?? create(ModelSchema, { name: header.model }), header, limits);
  checkVersionFits(versionRecord(header, "0".repeat(64), 0n, undefined));

  if (header.idempotencyKey !== "") {
    const earlier = await findEarlierUpload(deps, header);
    if (earlier) {
      void iterator.return?.();
      return earlier;
    }
  }

  const assembler = new UploadAssembler(header, deps.maxArtifactBytes);
  const tempName = `uploads/tmp-${randomUUID()}`;
  let stored = false;
  try {
    async function* chunks(): AsyncGenerator<Uint8Array> {
      for (let next = await nextWithin(iterator, limits.uploadIdleTimeoutMs); !next.done; next = await nextWithin(iterator, limits.uploadIdleTimeoutMs)) {
        const payload = next.value.payload;
        if (payload.case !== "chunk") throw invalidArgument("only the first upload message may carry a header; the rest carry chunks");
        assembler.add(payload.value);
        yield payload.value;
      }
    }
    await store.objects.put(tempName, chunks());
    const artifact = assembler.finish();
    const content = await store.objects.get(tempName);
    if (!content) throw unavailable(`the uploaded artifact vanished from the artifact store before it was checked; retry`);
    const signature = await readSignatureFromStream(content);
    checkBatchingFits(header.batching, signature);
    const record = versionRecord(header, artifact.sha256, BigInt(artifact.sizeBytes), signature);
    checkVersionFits(record);

    // Everything is checked: name the artifact by its content (a twin upload reuses it), then the records.
    const objectName = artifactObjectName(artifact.sha256);
    if (await store.objects.has(objectName)) {
      await store.objects.delete(tempName);
    } else {
      await store.objects.rename(tempName, objectName).catch(async (error: unknown) => {
        if (!(error instanceof ConnectError && error.code === Code.AlreadyExists)) throw error;
        await store.objects.delete(tempName); // a twin upload named it first
      });
    }
    stored = true;

    if (!existing) await createModelIfMissing(deps, header.model);
    const created = await store.createVersion(record, (existing?.value.latestVersion ?? 0) + 1);
    const version = created.value.version;
    if (header.idempotencyKey !== "") {
      await store.putUpload(header.model, header.idempotencyKey, { version, sha256: artifact.sha256, createdMs: createdMs(created.value) });
    }
    const published = await publishVersion(deps, header, created);
    deps.logger.info("model version created", { model: header.model, version, sha256: artifact.sha256, bytes: artifact.sizeBytes });
    return published;
  } finally {
    if (!stored) {
      await store.objects.delete(tempName).catch((error: unknown) => deps.logger.warn("could not remove a failed upload's temporary object", { object: tempName, error }));
    }
  }
}

/**
 * The second write: points latest_version and the header's aliases at the
 * new version. Undone only when it definitely did not apply.
 */
async function publishVersion(deps: UploadDependencies, header: UploadModelVersionRequest_Header, created: Versioned<ModelVersion>): Promise<ModelVersion> {
  const { store } = deps;
  const version = created.value.version;
  const previousAliases: Record<string, number> = {};
  const apply = (current: Model) => {
    const aliases = { ...current.aliases };
    for (const alias of header.aliases) {
      previousAliases[alias] = aliasVersion(current, alias);
      aliases[alias] = version;
    }
    return create(ModelSchema, { ...current, aliases, latestVersion: Math.max(current.latestVersion, version) });
  };
  let model: Versioned<Model>;
  try {
    model = await store.updateModel(header.model, apply);
  } catch (error) {
    if (isDefinite(error)) {
      await undoVersion(deps, header, created);
      throw error;
    }
    // Unclear (a timeout, a lost connection): the write may have landed. Read what is there.
    const current = await store.findModel(header.model).catch(() => undefined);
    if (current === undefined) {
      throw unavailable(
        `version ${version} of "${header.model}" was stored, but whether it was published is unknown (${ConnectError.from(error).rawMessage}); retry the upload with the same idempotency_key`,
        error,
      );
    }
    if (current.value.latestVersion >= version) {
      model = current; // it landed (or a later upload made this version visible anyway)
    } else {
      // It did not land: nothing points at the version yet, so writing it again is safe.
      try {
        model = await store.updateModel(header.model, apply);
      } catch (retryError) {
        if (isDefinite(retryError)) await undoVersion(deps, header, created);
        throw retryError;
      }
    }
  }
  const modelVersion = presentVersion(created.value, model.value);
  await deps.events.versionCreated({ modelVersion, revision: BigInt(model.revision) });
  for (const alias of header.aliases) {
    if (aliasVersion(model.value, alias) !== version) continue;
    await deps.events.aliasMoved({ model: header.model, alias, version, previousVersion: previousAliases[alias] ?? 0, revision: BigInt(model.revision) });
  }
  return modelVersion;
}

/** A retry of an upload whose key was seen: the version it created, published if the first attempt stopped short. */
async function findEarlierUpload(deps: UploadDependencies, header: UploadModelVersionRequest_Header): Promise<ModelVersion | undefined> {
  const { store } = deps;
  const earlier = await store.findUpload(header.model, header.idempotencyKey);
  if (!earlier) return undefined;
  if (earlier.sha256 !== header.sha256) {
    throw failedPrecondition(
      `idempotency_key "${header.idempotencyKey}" was used for another artifact of "${header.model}" (sha256 ${earlier.sha256}, version ${earlier.version}); use a new key for a new upload`,
    );
  }
  const record = await store.findVersion(header.model, earlier.version);
  // Gone (an orphan removed) or the number reused by another upload: this key's upload starts afresh.
  if (!record || createdMs(record.value) !== earlier.createdMs) return undefined;
  const model = await store.getModel(header.model);
  if (model.value.latestVersion >= earlier.version) return presentVersion(record.value, model.value);
  // The first attempt stopped between its two writes. Touch the record first, so the
  // orphan reconciler (which removes it only at the revision it read) cannot remove it now.
  const touched = await store.updateVersion(header.model, earlier.version, (current) => current).catch((error: unknown) => {
    if (error instanceof ConnectError && error.code === Code.NotFound) return undefined;
    throw error;
  });
  if (!touched) return undefined;
  deps.logger.info("finishing an upload retried with its idempotency key", { model: header.model, version: earlier.version });
  return publishVersion(deps, header, touched);
}

async function undoVersion(deps: UploadDependencies, header: UploadModelVersionRequest_Header, created: Versioned<ModelVersion>): Promise<void> {
  const version = created.value.version;
  await deps.store.removeVersion(header.model, version, created.revision).catch((error: unknown) =>
    deps.logger.error("could not undo a half-written version; the orphan reconciler will", { model: header.model, version, error }),
  );
}

/** Failures after which the write certainly did not apply; anything else (timeouts, lost connections) may have. */
function isDefinite(error: unknown): boolean {
  if (!(error instanceof ConnectError)) return false;
  return [Code.InvalidArgument, Code.FailedPrecondition, Code.NotFound, Code.AlreadyExists, Code.Aborted, Code.PermissionDenied, Code.ResourceExhausted, Code.OutOfRange, Code.Unauthenticated].includes(error.code);
}

async function createModelIfMissing(deps: UploadDependencies, name: string): Promise<void> {
  const now = timestampNow();
  const model = create(ModelSchema, { name, createTime: now, updateTime: now });
  try {
    const created = await deps.store.createModel(model);
    await deps.events.modelCreated({ model, revision: BigInt(created.revision) });
  } catch (error) {
    if (!(error instanceof ConnectError && error.code === Code.AlreadyExists)) throw error;
  }
}

function versionRecord(header: UploadModelVersionRequest_Header, sha256: string, sizeBytes: bigint, signature: Signature | undefined): ModelVersion {
  const now = timestampNow();
  return create(ModelVersionSchema, {
    model: header.model,
    description: header.description,
    tags: header.tags,
    metrics: header.metrics,
    artifact: create(ArtifactSchema, { sha256, sizeBytes, format: "onnx" }),
    signature,
    batching: header.batching,
    featureBinding: header.featureBinding,
    createTime: now,
    updateTime: now,
  });
}

function createdMs(record: ModelVersion): number {
  return record.createTime ? timestampDate(record.createTime).getTime() : 0;
}

function headerOf(message: UploadModelVersionRequest | undefined): UploadModelVersionRequest_Header {
  if (!message) throw invalidArgument("upload stream was empty: send a header message first, then the artifact in chunks");
  if (message.payload.case !== "header") throw invalidArgument("the first upload message must carry the header (model, size_bytes, ...)");
  return message.payload.value;
}

function checkUploadHeader(header: UploadModelVersionRequest_Header, limits: RegistryLimits): void {
  checkModelName(header.model, "header.model");
  checkDescription(header.description);
  checkTags(header.tags, "header.tags", limits.maxTags);
  checkMetrics(header.metrics, "header.metrics");
  header.aliases.forEach(checkAliasName);
  if (header.batching) resolveBatchingOptions(header.batching);
  if (header.idempotencyKey !== "") {
    checkIdempotencyKey(header.idempotencyKey);
    if (header.sha256 === "") throw invalidArgument("header.idempotency_key needs header.sha256, so a retry is known to carry the same artifact");
  }
}

/** The model record after this upload must stay within the alias cap and one KV value. */
function checkModelFits(model: Model, header: UploadModelVersionRequest_Header, limits: RegistryLimits): void {
  const aliases = new Set([...Object.keys(model.aliases), ...header.aliases]);
  if (aliases.size > limits.maxAliases) {
    throw failedPrecondition(
      `model "${header.model}" would have ${aliases.size} aliases; at most ${limits.maxAliases} (TESSERA_MAX_ALIASES): delete unused aliases first (DeleteAlias); nothing was stored`,
    );
  }
  const next = create(ModelSchema, { ...model, aliases: Object.fromEntries([...aliases].map((a) => [a, 0x7fffffff])), latestVersion: 0x7fffffff });
  const bytes = recordBytes(next);
  if (bytes > KV_MAX_VALUE_BYTES) throw recordTooLarge(next, bytes);
}

function checkVersionFits(record: ModelVersion): void {
  const bytes = recordBytes(create(ModelVersionSchema, { ...record, version: 0x7fffffff }));
  if (bytes > KV_MAX_VALUE_BYTES) throw recordTooLarge(record, bytes);
}

/** Batching needs every input and output to have a dynamic leading dimension. */
export function checkBatchingFits(batching: BatchingConfig | undefined, signature: Signature | undefined): void {
  if (!batching) return;
  resolveBatchingOptions(batching);
  if (signature) checkBatchable(signature, batching);
}
