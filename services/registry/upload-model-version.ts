import { randomUUID } from "node:crypto";
import { create } from "@bufbuild/protobuf";
import { timestampDate, timestampNow } from "@bufbuild/protobuf/wkt";
import { Code, ConnectError } from "@connectrpc/connect";
import { checkBatchable, resolveBatchingOptions } from "../../libs/batching/index.js";
import { failedPrecondition, invalidArgument, notFound, unavailable } from "../../libs/errors/index.js";
import type { BatchingConfig } from "../../libs/gen/tessera/registry/v1/batching_pb.js";
import {
  ArtifactFileSchema,
  ArtifactSchema,
  type ArtifactFile,
  ModelSchema,
  ModelVersionSchema,
  type Model,
  type ModelVersion,
  type UploadModelVersionRequest,
  type UploadModelVersionRequest_Header,
} from "../../libs/gen/tessera/registry/v1/registry_pb.js";
import type { Signature } from "../../libs/gen/tessera/registry/v1/signature_pb.js";
import type { Logger } from "../../libs/log/index.js";
import { readModelFromStream, type ExternalDataRef } from "../../libs/onnx/index.js";
import { artifactDigest, PartReader } from "../../libs/registry-client/index.js";
import { KV_MAX_VALUE_BYTES } from "../../libs/store/index.js";
import { checkAliasName, checkDescription, checkIdempotencyKey, checkMetrics, checkModelName, checkTags } from "./names.js";
import { nextWithin } from "./next-within.js";
import type { RegistryEvents } from "./registry-events.js";
import type { RegistryLimits } from "./registry-limits.js";
import { presentVersion, recordBytes, recordTooLarge, type RegistryStore, type Versioned } from "./registry-store.js";
import { aliasVersion } from "./resolve-version.js";
import { artifactObjectName } from "./store-keys.js";
import { expectedFiles, UploadAssembler, type CheckedArtifact, type ExpectedFile } from "./upload-assembler.js";

export interface UploadDependencies {
  store: RegistryStore;
  events: RegistryEvents;
  logger: Logger;
  maxArtifactBytes: number;
  limits: RegistryLimits;
}

/**
 * UploadModelVersion. The artifact streams into a temporary object while
 * it is counted and hashed (memory: about one chunk), each external data
 * file after it into one more; the model's signature and the files its
 * tensors read are read back from the stored object, and only when every
 * file is there is each named by its sha256. Two
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
  const files = expectedFiles(header, deps.maxArtifactBytes, limits);

  const existing = await store.findModel(header.model);
  if (!existing && !header.createModel) {
    throw notFound(`model "${header.model}" does not exist; create it first, or set header.create_model`);
  }
  // Caps and sizes first, so a record that could never be written costs no upload.
  checkModelFits(existing?.value ?? create(ModelSchema, { name: header.model }), header, limits);
  checkVersionFits(versionRecord(header, "0".repeat(64), 0n, undefined, header.externalData.map((file) => create(ArtifactFileSchema, { ...file, sha256: "0".repeat(64) }))));

  if (header.idempotencyKey !== "") {
    const earlier = await findEarlierUpload(deps, header);
    if (earlier) {
      void iterator.return?.();
      return earlier;
    }
  }

  const temps = files.map(() => `uploads/tmp-${randomUUID()}`);
  const named = new Set<number>();
  try {
    const checked = await receiveFiles(deps, iterator, files, temps);
    const content = await store.objects.get(temps[0]!);
    if (!content) throw unavailable(`the uploaded artifact vanished from the artifact store before it was checked; retry`);
    const outline = await readModelFromStream(content);
    checkExternalData(outline.externalData, files, checked);
    checkBatchingFits(header.batching, outline.signature);
    const [artifact, ...externalFiles] = checked as [CheckedArtifact, ...CheckedArtifact[]];
    const externalData = externalFiles.map((file, index) => create(ArtifactFileSchema, { path: files[index + 1]!.path, sha256: file.sha256, sizeBytes: BigInt(file.sizeBytes) }));
    const record = versionRecord(header, artifact.sha256, BigInt(artifact.sizeBytes), outline.signature, externalData);
    checkVersionFits(record);

    // Everything is checked: name each file by its content (a twin upload reuses it), then the records.
    for (const [index, file] of checked.entries()) {
      await nameByContent(store, temps[index]!, file.sha256);
      named.add(index);
    }

    if (!existing) await createModelIfMissing(deps, header.model);
    const created = await store.createVersion(record, (existing?.value.latestVersion ?? 0) + 1);
    const version = created.value.version;
    const digest = artifactDigest({ sha256: artifact.sha256, externalData });
    if (header.idempotencyKey !== "") {
      await store.putUpload(header.model, header.idempotencyKey, { version, sha256: digest, createdMs: createdMs(created.value) });
    }
    const published = await publishVersion(deps, header, created);
    deps.logger.info("model version created", { model: header.model, version, sha256: artifact.sha256, bytes: artifact.sizeBytes, externalDataFiles: externalData.length });
    return published;
  } finally {
    for (const [index, temp] of temps.entries()) {
      if (named.has(index)) continue;
      await store.objects.delete(temp).catch((error: unknown) => deps.logger.warn("could not remove a failed upload's temporary object", { object: temp, error }));
    }
  }
}

/**
 * Streams the upload's chunks into one temporary object per file (the model,
 * then each external data file), counting and hashing each as it passes;
 * refuses a stream that ends early or runs on past the last file.
 */
async function receiveFiles(deps: UploadDependencies, iterator: AsyncIterator<UploadModelVersionRequest>, files: readonly ExpectedFile[], temps: readonly string[]): Promise<CheckedArtifact[]> {
  const idleMs = deps.limits.uploadIdleTimeoutMs;
  async function* chunks(): AsyncGenerator<Uint8Array> {
    for (let next = await nextWithin(iterator, idleMs); !next.done; next = await nextWithin(iterator, idleMs)) {
      const payload = next.value.payload;
      if (payload.case !== "chunk") throw invalidArgument("only the first upload message may carry a header; the rest carry chunks");
      yield payload.value;
    }
  }
  async function* counted(part: AsyncIterable<Uint8Array>, assembler: UploadAssembler): AsyncGenerator<Uint8Array> {
    for await (const chunk of part) {
      assembler.add(chunk);
      yield chunk;
    }
  }
  const reader = new PartReader(chunks());
  const checked: CheckedArtifact[] = [];
  for (const [index, file] of files.entries()) {
    const assembler = new UploadAssembler(file);
    await deps.store.objects.put(temps[index]!, counted(reader.take(file.sizeBytes), assembler));
    checked.push(assembler.finish());
  }
  if (await reader.hasMore()) {
    const total = files.reduce((sum, file) => sum + file.sizeBytes, 0);
    throw invalidArgument(
      files.length === 1
        ? `upload sent more than header.size_bytes (${total}) bytes; nothing was stored`
        : `upload sent more than header.size_bytes and header.external_data announce (${total} bytes in all); nothing was stored`,
    );
  }
  return checked;
}

/** Gives a checked temporary object its content address, or drops it when a twin already has it. */
async function nameByContent(store: RegistryStore, temp: string, sha256: string): Promise<void> {
  const objectName = artifactObjectName(sha256);
  if (await store.objects.has(objectName)) {
    await store.objects.delete(temp);
    return;
  }
  await store.objects.rename(temp, objectName).catch(async (error: unknown) => {
    if (!(error instanceof ConnectError && error.code === Code.AlreadyExists)) throw error;
    await store.objects.delete(temp); // a twin upload named it first
  });
}

/**
 * Every file the model's tensors read from must be in the upload, and long
 * enough for the bytes they read; otherwise a replica would fail to load
 * the version long after the upload said OK.
 */
export function checkExternalData(refs: readonly ExternalDataRef[], files: readonly ExpectedFile[], checked: readonly CheckedArtifact[]): void {
  const sizes = new Map(files.slice(1).map((file, index) => [file.path, checked[index + 1]?.sizeBytes ?? file.sizeBytes]));
  const missing = [...new Set(refs.filter((ref) => !sizes.has(ref.location)).map((ref) => ref.location))];
  if (missing.length > 0) {
    const first = refs.find((ref) => ref.location === missing[0])!;
    const list = missing.slice(0, 5).map((m) => `"${m}"`).join(", ") + (missing.length > 5 ? ` and ${missing.length - 5} more` : "");
    throw failedPrecondition(
      `the model keeps tensor data in ${list} (tensor "${first.tensor}" reads "${first.location}"), which the upload does not include: send ${missing.length === 1 ? "it" : "them"} in header.external_data (\`tessera models push\` takes the files beside the model file), or save the model with its weights inline; nothing was stored`,
    );
  }
  for (const ref of refs) {
    const size = BigInt(sizes.get(ref.location)!);
    const end = ref.offset + (ref.length ?? 0n);
    if (end > size) {
      throw failedPrecondition(
        `tensor "${ref.tensor}" reads bytes ${ref.offset}..${end} of "${ref.location}", which holds ${size} bytes: upload the data file the model was saved with; nothing was stored`,
      );
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
  // For a model with external data the key records the digest of all its files (artifactDigest).
  if (earlier.sha256 !== artifactDigest({ sha256: header.sha256, externalData: header.externalData })) {
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

function versionRecord(header: UploadModelVersionRequest_Header, sha256: string, sizeBytes: bigint, signature: Signature | undefined, externalData: ArtifactFile[]): ModelVersion {
  const now = timestampNow();
  return create(ModelVersionSchema, {
    model: header.model,
    description: header.description,
    tags: header.tags,
    metrics: header.metrics,
    artifact: create(ArtifactSchema, { sha256, sizeBytes, format: "onnx", externalData }),
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
