import { join } from "node:path";
import { createMemoryEventBus, openNatsEventBus, type EventBus } from "../events/index.js";
import type { Logger } from "../log/index.js";
import { connectNats, type NatsConnection } from "../nats/index.js";
import { createMemoryKvStore, openDirectoryObjectStore, openNatsKv, openNatsObjectStore, type KvStore, type ObjectStore } from "../store/index.js";

/**
 * Where a process keeps state and sends events: the real column of
 * DESIGN.md (NATS JetStream KV, Object Store, subjects), or the embedded
 * one (memory, a local directory, an in-process bus) for a single-process
 * mesh on a bare laptop.
 */
export interface Backends {
  readonly mode: "nats" | "embedded";
  kv(bucket: string, options?: { ttlMs?: number }): Promise<KvStore>;
  objects(bucket: string): Promise<ObjectStore>;
  readonly events: EventBus;
  /** Closes the event bus and the NATS connection. */
  close(): Promise<void>;
}

export type BackendsOptions =
  | { mode: "nats"; natsUrl: string; clientName: string; logger: Logger }
  | { mode: "embedded"; dataDir: string; logger: Logger };

export async function openBackends(options: BackendsOptions): Promise<Backends> {
  return options.mode === "nats" ? openNatsBackends(options) : openEmbeddedBackends(options);
}

async function openNatsBackends(options: { natsUrl: string; clientName: string; logger: Logger }): Promise<Backends> {
  const nc: NatsConnection = await connectNats({ servers: options.natsUrl, name: options.clientName, logger: options.logger });
  const events = await openNatsEventBus(nc, { logger: options.logger });
  const stores: Array<{ close(): Promise<void> }> = [];
  return {
    mode: "nats",
    events,
    async kv(bucket, kvOptions) {
      const store = await openNatsKv(nc, { bucket, ttlMs: kvOptions?.ttlMs, logger: options.logger });
      stores.push(store);
      return store;
    },
    objects: (bucket) => openNatsObjectStore(nc, { bucket }),
    async close() {
      await Promise.all(stores.map((store) => store.close()));
      await events.close();
      await nc.drain();
    },
  };
}

/** One in-memory store per bucket name, shared by everything in this process. */
async function openEmbeddedBackends(options: { dataDir: string; logger: Logger }): Promise<Backends> {
  const events = createMemoryEventBus({ logger: options.logger });
  const kvs = new Map<string, KvStore>();
  const objectStores = new Map<string, Promise<ObjectStore>>();
  return {
    mode: "embedded",
    events,
    async kv(bucket) {
      let store = kvs.get(bucket);
      if (!store) kvs.set(bucket, (store = createMemoryKvStore()));
      return store;
    },
    objects(bucket) {
      let store = objectStores.get(bucket);
      if (!store) objectStores.set(bucket, (store = openDirectoryObjectStore(join(options.dataDir, bucket))));
      return store;
    },
    async close() {
      await Promise.all([...kvs.values()].map((store) => store.close()));
      await events.close();
    },
  };
}
