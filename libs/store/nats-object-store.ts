import { jetstream, type JetStreamClient } from "@nats-io/jetstream";
import { Objm, StorageType, type ObjectInfo as NatsObjectInfo, type ObjectStore as NatsObjectStore } from "@nats-io/obj";
import type { NatsConnection } from "@nats-io/transport-node";
import { aborted, alreadyExists, failedPrecondition, invalidArgument, notFound, unavailable } from "../errors/index.js";
import { translateNatsError } from "../nats/index.js";
import { chunksOf } from "./object-source.js";
import type { ObjectInfo, ObjectStore } from "./object-store.js";
import { plainBytes } from "./plain-bytes.js";
import { Sha256Check } from "./sha256-check.js";
import { validateObjectName } from "./validate-object-name.js";

export interface NatsObjectStoreOptions {
  /** Bucket name, `[-_a-zA-Z0-9]+`; created (file storage) when missing. */
  bucket: string;
  /**
   * Chunks fetched per request while reading. Default 8 (of 128 KiB each):
   * at most about 1 MiB of an object is in memory at once per reader.
   */
  readAheadChunks?: number;
  /** Copies a NATS cluster keeps (when this call creates the bucket). Default 1. */
  replicas?: number;
}

const bucketPattern = /^[-_a-zA-Z0-9]+$/;
const digestPrefix = "SHA-256=";
/** How long one fetch of chunks may wait; a healthy server answers in milliseconds. */
const fetchExpiresMs = 5000;

function toObjectInfo(info: NatsObjectInfo): ObjectInfo {
  const digest = info.digest.startsWith(digestPrefix) ? info.digest.slice(digestPrefix.length) : "";
  return { name: info.name, size: info.size, sha256: Buffer.from(digest, "base64url").toString("hex") };
}

/**
 * Wraps the caller's source so that, if it throws, we know the failure was
 * the source's (rethrown as is) and not the store's (translated).
 */
function readableFrom(source: AsyncIterable<Uint8Array>, failed: { error?: unknown }): ReadableStream<Uint8Array> {
  const it = source[Symbol.asyncIterator]();
  return new ReadableStream<Uint8Array>({
    async pull(controller) {
      try {
        const r = await it.next();
        if (r.done) controller.close();
        else if (r.value.byteLength > 0) controller.enqueue(r.value);
      } catch (err) {
        failed.error = err;
        controller.error(err);
      }
    },
    async cancel() {
      await it.return?.();
    },
  });
}

/**
 * An ObjectStore on a NATS JetStream Object Store bucket. Writes go through
 * nats.js (which removes the chunks of a put that fails midway, so a partial
 * object never appears). Reads fetch a few chunks at a time from an ordered
 * consumer, so memory stays bounded however slowly the caller reads —
 * nats.js's own get() pushes the whole object as fast as the network allows.
 */
export async function openNatsObjectStore(nc: NatsConnection, options: NatsObjectStoreOptions): Promise<ObjectStore> {
  const { bucket } = options;
  if (!bucketPattern.test(bucket)) {
    throw invalidArgument(`invalid object store bucket name "${bucket}": use letters, digits, - and _`);
  }
  const readAhead = options.readAheadChunks ?? 8;
  let os: NatsObjectStore;
  try {
    os = await new Objm(nc).create(bucket, { storage: StorageType.File, replicas: options.replicas ?? 1 });
  } catch (err) {
    throw translateNatsError(err, `opening object store bucket "${bucket}"`);
  }
  const js = jetstream(nc);
  const stream = `OBJ_${bucket}`;
  const where = (name: string) => `object "${name}" in bucket "${bucket}"`;

  async function rawInfo(name: string): Promise<NatsObjectInfo | undefined> {
    try {
      const info = await os.info(name);
      return info === null || info.deleted ? undefined : info;
    } catch (err) {
      throw translateNatsError(err, `reading the info of ${where(name)}`);
    }
  }

  return {
    async put(name, source) {
      validateObjectName(name);
      const failed: { error?: unknown } = {};
      try {
        const info = await os.put({ name }, readableFrom(chunksOf(source), failed));
        return toObjectInfo(info);
      } catch (err) {
        if ("error" in failed) throw failed.error;
        throw translateNatsError(err, `storing ${where(name)}`);
      }
    },

    async get(name) {
      validateObjectName(name);
      const info = await rawInfo(name);
      if (info === undefined) return undefined;
      if (info.options?.link) {
        throw failedPrecondition(`${where(name)} is a link, which Tessera does not create; delete it and put the object again`);
      }
      return readChunks(js, stream, bucket, info, readAhead, async () => (await rawInfo(name))?.nuid);
    },

    async info(name) {
      validateObjectName(name);
      const info = await rawInfo(name);
      return info && toObjectInfo(info);
    },

    async has(name) {
      validateObjectName(name);
      return (await rawInfo(name)) !== undefined;
    },

    async rename(from, to) {
      validateObjectName(from);
      validateObjectName(to);
      const info = await rawInfo(from);
      if (info === undefined) throw notFound(`${where(from)} does not exist`);
      if ((await rawInfo(to)) !== undefined) throw alreadyExists(`${where(to)} already exists`);
      try {
        // Only the metadata moves: the chunks stay under the object's nuid.
        await os.update(from, { name: to });
      } catch (err) {
        if (err instanceof Error && /already exists/.test(err.message)) throw alreadyExists(`${where(to)} already exists`, err);
        throw translateNatsError(err, `renaming ${where(from)} to "${to}"`);
      }
      return { ...toObjectInfo(info), name: to };
    },
    async delete(name) {
      validateObjectName(name);
      try {
        if ((await rawInfo(name)) === undefined) return false;
        await os.delete(name);
        return true;
      } catch (err) {
        throw translateNatsError(err, `deleting ${where(name)}`);
      }
    },
  };
}

async function* readChunks(
  js: JetStreamClient,
  stream: string,
  bucket: string,
  info: NatsObjectInfo,
  readAhead: number,
  currentNuid: () => Promise<string | undefined>,
): AsyncIterable<Uint8Array> {
  const what = `reading object "${info.name}" from bucket "${bucket}"`;
  const check = new Sha256Check(info.name, toObjectInfo(info));
  let remaining = info.chunks;
  if (remaining > 0) {
    let consumer: Awaited<ReturnType<JetStreamClient["consumers"]["get"]>>;
    try {
      consumer = await js.consumers.get(stream, { filter_subjects: `$O.${bucket}.C.${info.nuid}` });
    } catch (err) {
      throw translateNatsError(err, what);
    }
    try {
      let emptyFetches = 0;
      while (remaining > 0) {
        let got = 0;
        try {
          const batch = await consumer.fetch({ max_messages: Math.min(readAhead, remaining), expires: fetchExpiresMs });
          for await (const m of batch) {
            got++;
            remaining--;
            check.update(m.data);
            yield plainBytes(m.data);
          }
        } catch (err) {
          throw translateNatsError(err, what);
        }
        if (got > 0) {
          emptyFetches = 0;
          continue;
        }
        // No chunk came: the object may have been replaced or deleted under us.
        if ((await currentNuid()) !== info.nuid) {
          throw aborted(`object "${info.name}" was replaced or deleted while being read: read it again`);
        }
        if (++emptyFetches >= 3) throw unavailable(`${what}: NATS stopped sending chunks; retry`);
      }
    } finally {
      await consumer.delete().catch(() => {});
    }
  }
  check.verify();
}
