import { createHash } from "node:crypto";
import { create, fromBinary, toBinary } from "@bufbuild/protobuf";
import { timestampNow } from "@bufbuild/protobuf/wkt";
import { Code, ConnectError } from "@connectrpc/connect";
import { aborted, failedPrecondition, notFound } from "../../libs/errors/index.js";
import {
  ModelSchema,
  ModelVersionSchema,
  type Model,
  type ModelVersion,
} from "../../libs/gen/tessera/registry/v1/registry_pb.js";
import { KV_MAX_VALUE_BYTES, type KvStore, type ObjectStore } from "../../libs/store/index.js";
import { stageOf } from "./stage-transition.js";
import { MODEL_PREFIX, modelKey, uploadKey, versionKey, versionPrefix } from "./store-keys.js";

/** A record and the KV revision it was read at, for compare-and-set. */
export interface Versioned<T> {
  value: T;
  revision: number;
}

/** What an idempotency key stands for: the version its first upload created. */
export interface UploadRecord {
  version: number;
  sha256: string;
  /** The version record's create time (ms): a number reused after an orphan was removed is told apart. */
  createdMs: number;
}

/** Most times a compare-and-set write is retried against concurrent writers. */
const MAX_CAS_ATTEMPTS = 16;

/**
 * The registry's records over a KvStore (metadata) and an ObjectStore
 * (artifacts). Every write is one compare-and-set on one key, so two
 * writers can race without corrupting a model: one wins, the other reads
 * again and retries.
 */
export class RegistryStore {
  constructor(
    readonly kv: KvStore,
    readonly objects: ObjectStore,
  ) {}

  async findModel(name: string): Promise<Versioned<Model> | undefined> {
    const entry = await this.kv.get(modelKey(name));
    return entry && { value: fromBinary(ModelSchema, entry.value), revision: entry.revision };
  }

  async getModel(name: string): Promise<Versioned<Model>> {
    const found = await this.findModel(name);
    if (!found) throw notFound(`model "${name}" does not exist; create it first (CreateModel, or upload with header.create_model)`);
    return found;
  }

  async createModel(model: Model): Promise<Versioned<Model>> {
    const revision = await this.kv.create(modelKey(model.name), checkedBinary(model));
    return { value: model, revision };
  }

  /**
   * Applies `change` to the current model record and writes it with
   * compare-and-set, re-reading and re-applying when another writer got
   * there first. `change` must be a pure function of the record it is given.
   */
  async updateModel(name: string, change: (model: Model) => Model): Promise<Versioned<Model>> {
    for (let attempt = 0; attempt < MAX_CAS_ATTEMPTS; attempt++) {
      const current = await this.getModel(name);
      const next = create(ModelSchema, { ...change(current.value), updateTime: timestampNow() });
      try {
        const revision = await this.kv.update(modelKey(name), checkedBinary(next), current.revision);
        return { value: next, revision };
      } catch (error) {
        if (!isConflict(error)) throw error;
      }
    }
    throw aborted(`model "${name}" is being changed by many writers at once; retry`);
  }

  /** Keys of every model record, sorted (`models.<name>`). */
  async modelKeys(): Promise<string[]> {
    return this.kv.keys(MODEL_PREFIX);
  }

  async findVersion(model: string, version: number): Promise<Versioned<ModelVersion> | undefined> {
    const entry = await this.kv.get(versionKey(model, version));
    return entry && { value: fromBinary(ModelVersionSchema, entry.value), revision: entry.revision };
  }

  async getVersion(model: string, version: number): Promise<Versioned<ModelVersion>> {
    const found = await this.findVersion(model, version);
    if (!found) throw notFound(`model "${model}" has no version ${version}`);
    return found;
  }

  async versionKeys(model: string): Promise<string[]> {
    return this.kv.keys(versionPrefix(model));
  }

  /**
   * Stores a new version under the next free number. The number is claimed
   * by creating its key, which fails if another upload claimed it first; we
   * then try the next one.
   */
  async createVersion(record: ModelVersion, firstCandidate: number): Promise<Versioned<ModelVersion>> {
    let candidate = firstCandidate;
    for (let attempt = 0; attempt < MAX_CAS_ATTEMPTS; attempt++, candidate++) {
      const version = create(ModelVersionSchema, { ...record, version: candidate });
      try {
        const revision = await this.kv.create(versionKey(record.model, candidate), checkedBinary(version));
        return { value: version, revision };
      } catch (error) {
        if (!(error instanceof ConnectError && error.code === Code.AlreadyExists)) throw error;
      }
    }
    throw aborted(`could not claim a version number for "${record.model}": too many concurrent uploads; retry`);
  }

  /**
   * Removes a version record that was never published, if it is still at
   * `revision`: ABORTED when something touched it meanwhile (an upload
   * retry finishing it), so a finished version is never removed.
   */
  async removeVersion(model: string, version: number, revision: number): Promise<void> {
    await this.kv.delete(versionKey(model, version), revision);
  }

  async updateVersion(model: string, version: number, change: (record: ModelVersion) => ModelVersion): Promise<Versioned<ModelVersion>> {
    for (let attempt = 0; attempt < MAX_CAS_ATTEMPTS; attempt++) {
      const current = await this.getVersion(model, version);
      const next = create(ModelVersionSchema, { ...change(current.value), updateTime: timestampNow() });
      try {
        const revision = await this.kv.update(versionKey(model, version), checkedBinary(next), current.revision);
        return { value: next, revision };
      } catch (error) {
        if (!isConflict(error)) throw error;
      }
    }
    throw aborted(`version ${version} of "${model}" is being changed by many writers at once; retry`);
  }

  async findUpload(model: string, idempotencyKey: string): Promise<UploadRecord | undefined> {
    const entry = await this.kv.get(uploadKey(model, hashKey(idempotencyKey)));
    if (!entry) return undefined;
    try {
      return JSON.parse(Buffer.from(entry.value).toString("utf8")) as UploadRecord;
    } catch {
      return undefined; // unreadable: treated as unused, the next upload writes it again
    }
  }

  async putUpload(model: string, idempotencyKey: string, record: UploadRecord): Promise<void> {
    await this.kv.put(uploadKey(model, hashKey(idempotencyKey)), Buffer.from(JSON.stringify(record), "utf8"));
  }
}

/**
 * A stored version as clients see it: stage and aliases live on the model
 * record (one atomic write for transitions), so they are joined in here.
 */
export function presentVersion(record: ModelVersion, model: Model): ModelVersion {
  const aliases = Object.entries(model.aliases)
    .filter(([, version]) => version === record.version)
    .map(([alias]) => alias)
    .sort();
  return create(ModelVersionSchema, { ...record, stage: stageOf(model, record.version), aliases });
}

/** The encoded size of a model record, to check caps before anything is written. */
export function recordBytes(record: Model | ModelVersion): number {
  return record.$typeName === ModelSchema.typeName ? toBinary(ModelSchema, record as Model).byteLength : toBinary(ModelVersionSchema, record as ModelVersion).byteLength;
}

/** The encoded record, refused with what to do when it would not fit in one KV value. */
function checkedBinary(record: Model | ModelVersion): Uint8Array {
  const bytes = record.$typeName === ModelSchema.typeName ? toBinary(ModelSchema, record as Model) : toBinary(ModelVersionSchema, record as ModelVersion);
  if (bytes.byteLength > KV_MAX_VALUE_BYTES) throw recordTooLarge(record, bytes.byteLength);
  return bytes;
}

export function recordTooLarge(record: Model | ModelVersion, bytes: number): ConnectError {
  const what = record.$typeName === ModelSchema.typeName ? `the record of model "${(record as Model).name}"` : `the record of a version of "${(record as ModelVersion).model}"`;
  return failedPrecondition(
    `${what} would be ${bytes} bytes, over the ${KV_MAX_VALUE_BYTES} bytes one record may hold: remove tags, aliases or metrics, or shorten the description`,
  );
}

function hashKey(idempotencyKey: string): string {
  return createHash("sha256").update(idempotencyKey, "utf8").digest("hex").slice(0, 40);
}

function isConflict(error: unknown): boolean {
  return error instanceof ConnectError && error.code === Code.Aborted;
}
