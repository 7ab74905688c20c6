import { JetStreamApiError } from "@nats-io/jetstream";
import { Kvm, KvWatchInclude, type KV } from "@nats-io/kv";
import type { NatsConnection } from "@nats-io/transport-node";
import { invalidArgument } from "../errors/index.js";
import { silentLogger, type Logger } from "../log/index.js";
import { translateNatsError } from "../nats/index.js";
import { kvErrors } from "./kv-errors.js";
import type { KvChange, KvStore, StopWatch } from "./kv-store.js";
import { plainBytes } from "./plain-bytes.js";
import { validateKvKey, validateKvPrefix, validateKvRevision, validateKvValue } from "./validate-kv.js";

export interface NatsKvOptions {
  /** Bucket name, `[-_a-zA-Z0-9]+`; created when missing (an existing bucket keeps its settings). */
  bucket: string;
  /**
   * When set, an entry disappears this many milliseconds after its last
   * write: membership records kept alive by heartbeats. Expiry is silent
   * (no watch event) on nats-server 2.9. Default: entries live until deleted.
   */
  ttlMs?: number;
  /**
   * Values kept per key. Default 5: the API reads only the latest, but an
   * operator can see the last few writes with `nats kv history` after a bad
   * one. TTL buckets keep 1 — old heartbeats are worth nothing.
   */
  history?: number;
  /** Where a watcher's failing onChange is reported. Default: dropped. */
  logger?: Logger;
  /** Copies a NATS cluster keeps (when this call creates the bucket). Default 1. */
  replicas?: number;
}

const bucketPattern = /^[-_a-zA-Z0-9]+$/;
const wrongLastSequence = new Set([10071, 10164]);

function isWrongLastSequence(err: unknown): boolean {
  return err instanceof JetStreamApiError && wrongLastSequence.has(err.code);
}

/**
 * The subject filter that covers every key starting with `prefix`; the exact
 * prefix test is then done here, since a filter works on whole tokens.
 */
function filterFor(prefix: string): string {
  const tokens = prefix.split(".");
  tokens.pop();
  return tokens.length === 0 ? ">" : `${tokens.join(".")}.>`;
}

/** A KvStore on a NATS JetStream KV bucket. The connection stays the caller's to close. */
export async function openNatsKv(nc: NatsConnection, options: NatsKvOptions): Promise<KvStore> {
  const { bucket } = options;
  const logger = options.logger ?? silentLogger;
  if (!bucketPattern.test(bucket)) {
    throw invalidArgument(`invalid KV bucket name "${bucket}": use letters, digits, - and _`);
  }
  const history = options.history ?? (options.ttlMs === undefined ? 5 : 1);
  let kv: KV;
  try {
    kv = await new Kvm(nc).create(bucket, {
      history,
      replicas: options.replicas ?? 1,
      ...(options.ttlMs === undefined ? {} : { ttl: options.ttlMs }),
    });
  } catch (err) {
    throw translateNatsError(err, `opening KV bucket "${bucket}"`);
  }
  const where = (key: string) => `key "${key}" in KV bucket "${bucket}"`;
  const stops = new Set<StopWatch>();

  return {
    async get(key) {
      validateKvKey(key);
      try {
        const e = await kv.get(key);
        if (e === null || e.operation !== "PUT") return undefined;
        return { value: plainBytes(e.value), revision: e.revision };
      } catch (err) {
        throw translateNatsError(err, `reading ${where(key)}`);
      }
    },
    async create(key, value) {
      validateKvKey(key);
      validateKvValue(key, value);
      try {
        return await kv.create(key, value);
      } catch (err) {
        if (isWrongLastSequence(err)) throw kvErrors.alreadyExists(key, err);
        throw translateNatsError(err, `creating ${where(key)}`);
      }
    },
    async update(key, value, expectedRevision) {
      validateKvKey(key);
      validateKvValue(key, value);
      validateKvRevision(key, expectedRevision);
      try {
        return await kv.update(key, value, expectedRevision);
      } catch (err) {
        if (isWrongLastSequence(err)) throw kvErrors.changedConcurrently(key, expectedRevision, err);
        throw translateNatsError(err, `updating ${where(key)}`);
      }
    },
    async put(key, value) {
      validateKvKey(key);
      validateKvValue(key, value);
      try {
        return await kv.put(key, value);
      } catch (err) {
        throw translateNatsError(err, `writing ${where(key)}`);
      }
    },
    async delete(key, expectedRevision) {
      validateKvKey(key);
      if (expectedRevision !== undefined) validateKvRevision(key, expectedRevision);
      try {
        await kv.delete(key, expectedRevision === undefined ? undefined : { previousSeq: expectedRevision });
      } catch (err) {
        if (expectedRevision !== undefined && isWrongLastSequence(err)) {
          throw kvErrors.changedConcurrently(key, expectedRevision, err);
        }
        throw translateNatsError(err, `deleting ${where(key)}`);
      }
    },
    async keys(prefix = "") {
      validateKvPrefix(prefix);
      try {
        const found: string[] = [];
        for await (const key of await kv.keys(filterFor(prefix))) {
          if (key.startsWith(prefix)) found.push(key);
        }
        return found.sort();
      } catch (err) {
        throw translateNatsError(err, `listing keys "${prefix}*" in KV bucket "${bucket}"`);
      }
    },
    async watch(prefix, onChange): Promise<StopWatch> {
      validateKvPrefix(prefix);
      let iter: Awaited<ReturnType<KV["watch"]>>;
      try {
        iter = await kv.watch({ key: filterFor(prefix), include: KvWatchInclude.UpdatesOnly });
        await nc.flush();
      } catch (err) {
        throw translateNatsError(err, `watching keys "${prefix}*" in KV bucket "${bucket}"`);
      }
      const done = (async () => {
        for await (const e of iter) {
          if (!e.key.startsWith(prefix)) continue;
          const change: KvChange =
            e.operation === "PUT"
              ? { key: e.key, operation: "put", revision: e.revision, value: plainBytes(e.value) }
              : { key: e.key, operation: "delete", revision: e.revision };
          try {
            await onChange(change);
          } catch (err) {
            logger.warn("a KV watcher failed on a change", { bucket, key: e.key, error: err });
          }
        }
      })().catch((err: unknown) => {
        logger.warn("a KV watch ended with an error", { bucket, prefix, error: err });
      });
      const stop: StopWatch = async () => {
        stops.delete(stop);
        iter.stop();
        await done;
      };
      stops.add(stop);
      return stop;
    },
    async close() {
      await Promise.all([...stops].map((stop) => stop()));
    },
  };
}
