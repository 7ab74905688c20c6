import { join } from "node:path";
import { createMemoryEventBus, openNatsEventBus, type EventBus } from "../events/index.js";
import type { Logger } from "../log/index.js";
import { meshNames, type MeshNames } from "../mesh-names/index.js";
import { connectNats, followNatsHealth, type NatsConnection, type NatsOptions, type NatsProblem } from "../nats/index.js";
import { createMemoryKvStore, openDirectoryObjectStore, openNatsKv, openNatsObjectStore, type KvStore, type ObjectStore } from "../store/index.js";

/**
 * Where a process keeps state and sends events: the real column of
 * DESIGN.md (NATS JetStream KV, Object Store, subjects), or the embedded
 * one (memory, a local directory, an in-process bus) for a single-process
 * mesh on a bare laptop.
 */
export interface Backends {
  readonly mode: "nats" | "embedded";
  /**
   * The mesh's names. kv(), objects() and events take logical names
   * (`tessera_registry`, `tessera.registry.alias.moved`) and namespace them
   * by the mesh, so code written for the default mesh runs in any.
   */
  readonly names: MeshNames;
  kv(bucket: string, options?: { ttlMs?: number }): Promise<KvStore>;
  objects(bucket: string): Promise<ObjectStore>;
  readonly events: EventBus;
  /**
   * Calls `onChange` with why the stores are unreachable (NATS down), and
   * with undefined once they are back; never for the embedded stores.
   * Returns a function that stops following.
   */
  followHealth(onChange: (problem: NatsProblem) => void): () => void;
  /** Closes the event bus and the NATS connection. */
  close(): Promise<void>;
}

interface CommonBackendsOptions {
  logger: Logger;
  /** The mesh (TESSERA_MESH, readMeshName). Default "tessera". */
  mesh?: string;
}

export type BackendsOptions =
  | (CommonBackendsOptions & {
      mode: "nats";
      natsUrl: string | string[];
      clientName: string;
      /** Credentials, TLS and the JetStream replica count (readNatsOptions); natsUrl wins over its servers. */
      nats?: Partial<NatsOptions>;
    })
  | (CommonBackendsOptions & { mode: "embedded"; dataDir: string });

export async function openBackends(options: BackendsOptions): Promise<Backends> {
  return options.mode === "nats" ? openNatsBackends(options) : openEmbeddedBackends(options);
}

async function openNatsBackends(options: Extract<BackendsOptions, { mode: "nats" }>): Promise<Backends> {
  const names = meshNames(options.mesh);
  const replicas = options.nats?.jetstreamReplicas ?? 1;
  const nc: NatsConnection = await connectNats({ servers: options.natsUrl, name: options.clientName, logger: options.logger, auth: options.nats });
  if (replicas === 1 && nc.info?.cluster) {
    options.logger.warn("NATS is a cluster but JetStream keeps one copy of each bucket and stream; set TESSERA_JETSTREAM_REPLICAS=3 so one server's loss loses nothing", {
      cluster: nc.info.cluster,
    });
  }
  const events = await openNatsEventBus(nc, { logger: options.logger, names, stream: { replicas } });
  const stores: Array<{ close(): Promise<void> }> = [];
  return {
    mode: "nats",
    names,
    events,
    async kv(bucket, kvOptions) {
      const store = await openNatsKv(nc, { bucket: names.bucket(bucket), ttlMs: kvOptions?.ttlMs, logger: options.logger, replicas });
      stores.push(store);
      return store;
    },
    objects: (bucket) => openNatsObjectStore(nc, { bucket: names.bucket(bucket), replicas }),
    followHealth: (onChange) => followNatsHealth(nc, onChange),
    async close() {
      await Promise.all(stores.map((store) => store.close()));
      await events.close();
      await nc.drain();
    },
  };
}

/** One in-memory store per bucket name, shared by everything in this process. */
async function openEmbeddedBackends(options: Extract<BackendsOptions, { mode: "embedded" }>): Promise<Backends> {
  const events = createMemoryEventBus({ logger: options.logger });
  const names = meshNames(options.mesh);
  const kvs = new Map<string, KvStore>();
  const objectStores = new Map<string, Promise<ObjectStore>>();
  return {
    mode: "embedded",
    names,
    events,
    followHealth: () => () => {},
    // Keyed by wire name, as on NATS: a caller holding a wire name (the router's config) and one holding the logical name meet in one store.
    async kv(logical) {
      const bucket = names.bucket(logical);
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
