import { Cluster, Redis, type ChainableCommander } from "ioredis";
import { internal, toConnectError, unavailable } from "../errors/index.js";
import { silentLogger, type Logger } from "../log/index.js";
import type { OnlineRead, OnlineRecord, OnlineStore, OnlineWrite } from "./online-store.js";
import { EVENT_TIME_FIELD, WRITE_ROW_SCRIPT } from "./write-script.js";

export interface RedisOnlineStoreOptions {
  /**
   * "redis://host:port[/db]" for one Redis; for a cluster, one or more
   * "host:port" or redis:// seed nodes, comma-separated.
   */
  url: string;
  cluster?: boolean;
  /** Prefix of every key, so meshes can share a Redis. Default "tf:". */
  keyPrefix?: string;
  /**
   * How long one command may take before it fails UNAVAILABLE. Default
   * 2000 ms: a loopback Redis answers in well under a millisecond, so
   * anything near this is a Redis that is gone, and a caller should hear
   * it rather than hang.
   */
  commandTimeoutMs?: number;
  /** Milliseconds to wait for the first connection. Default 5000. */
  connectTimeoutMs?: number;
  logger?: Logger;
}

/**
 * The online store on Redis or Redis Cluster. Layout: one hash per
 * (table, entity) at `<prefix>{<entityKey>}:<table>`; the braces are a
 * Cluster hash tag, so all of one entity's tables share a slot. Fields:
 * `_t` (event time, decimal ms) and one per feature (encoded bytes).
 *
 * Commands are never queued while Redis is away (no offline queue, no
 * retries): a read then fails UNAVAILABLE at once, and ioredis keeps
 * reconnecting in the background, so the store recovers by itself.
 */
export async function openRedisOnlineStore(options: RedisOnlineStoreOptions): Promise<OnlineStore> {
  const logger = options.logger ?? silentLogger;
  const prefix = options.keyPrefix ?? "tf:";
  const commandTimeout = options.commandTimeoutMs ?? 2000;
  const connectTimeout = options.connectTimeoutMs ?? 5000;
  const where = options.cluster ? `Redis Cluster at ${options.url}` : `Redis at ${options.url}`;
  const retry = (times: number) => Math.min(times * 100, 2000);

  let client: Redis | Cluster;
  if (options.cluster) {
    const nodes = options.url.split(",").map((node) => {
      const parsed = new URL(node.includes("://") ? node : `redis://${node}`);
      return { host: parsed.hostname, port: Number(parsed.port || 6379) };
    });
    client = new Cluster(nodes, {
      lazyConnect: true,
      enableOfflineQueue: false,
      // Batches the commands of one read per node: one round trip per node, not per key.
      enableAutoPipelining: true,
      clusterRetryStrategy: retry,
      redisOptions: { connectTimeout, commandTimeout, maxRetriesPerRequest: 0 },
    });
  } else {
    client = new Redis(options.url, {
      lazyConnect: true,
      enableOfflineQueue: false,
      maxRetriesPerRequest: 0,
      connectTimeout,
      commandTimeout,
      retryStrategy: retry,
    });
  }
  let up = false;
  client.on("error", (error: unknown) => {
    if (up) logger.warn("online store: Redis connection error; reconnecting", { where, error });
  });
  client.on("ready", () => {
    if (up) logger.info("online store: Redis is back", { where });
  });
  try {
    await client.connect();
    await client.ping();
  } catch (error) {
    client.disconnect();
    throw unavailable(`cannot reach ${where} (${messageOf(error)}): start it with \`redis-server\` or set REDIS_URL`, error);
  }
  up = true;

  const keyOf = (table: string, entityKey: string) => `${prefix}{${entityKey}}:${table}`;
  const fail = (what: string, error: unknown) => {
    if (isReplyError(error) && !/^(CLUSTERDOWN|LOADING|TRYAGAIN|MASTERDOWN|MOVED|ASK)/.test(messageOf(error))) {
      return internal(`online store: ${what} on ${where} failed: ${messageOf(error)}`, error);
    }
    return unavailable(`online store: ${where} is not answering (${messageOf(error)}); retry once it is back`, error);
  };
  const evalArgs = (row: OnlineWrite): [string, number, string, string, string, ...(string | Buffer)[]] => {
    const args: (string | Buffer)[] = [];
    for (const [name, value] of row.fields) args.push(name, Buffer.from(value.buffer, value.byteOffset, value.byteLength));
    return [WRITE_ROW_SCRIPT, 1, keyOf(row.table, row.entityKey), String(Math.trunc(row.eventTimeMs)), String(Math.trunc(row.ttlMs ?? 0)), ...args];
  };

  return {
    kind: options.cluster ? "redis-cluster" : "redis",

    async write(rows) {
      if (rows.length === 0) return { applied: [] };
      try {
        if (client instanceof Cluster) {
          // One entity is one slot, but a batch spans many: no MULTI across
          // slots. Each row is still atomic (one script call).
          const results = await Promise.all(rows.map((row) => client.eval(...evalArgs(row))));
          return { applied: results.map((r) => r === 1) };
        }
        // One Redis: the whole batch in MULTI/EXEC, so it lands whole or not at all.
        const multi: ChainableCommander = client.multi();
        for (const row of rows) multi.eval(...evalArgs(row));
        return { applied: unwrap(await multi.exec()).map((r) => r === 1) };
      } catch (error) {
        throw fail("write", error);
      }
    },

    async read(keys) {
      if (keys.length === 0) return [];
      try {
        let replies: (Buffer | null)[][];
        if (client instanceof Cluster) {
          replies = await Promise.all(keys.map((key) => client.hmgetBuffer(keyOf(key.table, key.entityKey), EVENT_TIME_FIELD, ...key.fields)));
        } else {
          const pipeline = client.pipeline();
          for (const key of keys) pipeline.hmgetBuffer(keyOf(key.table, key.entityKey), EVENT_TIME_FIELD, ...key.fields);
          replies = unwrap(await pipeline.exec()) as (Buffer | null)[][];
        }
        return replies.map((reply, i) => toRecord(reply, keys[i]!));
      } catch (error) {
        throw fail("read", error);
      }
    },

    async ping() {
      try {
        return (await client.ping()) === "PONG";
      } catch {
        return false;
      }
    },

    async close() {
      up = false;
      client.disconnect();
    },
  };
}

function toRecord(reply: (Buffer | null)[], key: OnlineRead): OnlineRecord | undefined {
  const time = reply[0];
  if (!time) return undefined;
  const fields = new Map<string, Uint8Array>();
  key.fields.forEach((name, i) => {
    const value = reply[i + 1];
    if (value) fields.set(name, value);
  });
  return { eventTimeMs: Number(time.toString("latin1")), fields };
}

/** A pipeline's or MULTI's replies, or its first error. */
function unwrap(results: [Error | null, unknown][] | null): unknown[] {
  if (!results) throw internal("Redis discarded the transaction");
  return results.map(([error, value]) => {
    if (error) throw error;
    return value;
  });
}

function isReplyError(error: unknown): boolean {
  return error instanceof Error && error.name === "ReplyError";
}

function messageOf(error: unknown): string {
  return toConnectError(error).rawMessage;
}
