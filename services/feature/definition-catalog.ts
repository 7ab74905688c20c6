import { fromBinary, toBinary } from "@bufbuild/protobuf";
import { Code, ConnectError } from "@connectrpc/connect";
import { aborted } from "../../libs/errors/index.js";
import { EntitySchema, FeatureViewSchema, type Entity, type FeatureView } from "../../libs/gen/tessera/feature/v1/feature_pb.js";
import type { Logger } from "../../libs/log/index.js";
import type { KvStore, StopWatch } from "../../libs/store/index.js";
import { ENTITY_PREFIX, entityKey, VIEW_PREFIX, viewKey, viewVersionKey, viewVersionPrefix } from "./definition-keys.js";

interface Held<T> {
  value: T;
  revision: number;
}

/** A definition to write, and the revision it was planned against (0: must not exist). */
export interface DefinitionWrite {
  entity?: Entity;
  view?: FeatureView;
  expectedRevision: number;
}

/**
 * The definitions over a KvStore, with every current definition held in
 * memory: reads (every GetOnlineFeatures) never wait on NATS. A KV watch
 * keeps the copy current when another instance applies, and the higher
 * revision per key wins, as KvStore.watch asks.
 */
export class DefinitionCatalog {
  private readonly entities = new Map<string, Held<Entity>>();
  private readonly views = new Map<string, Held<FeatureView>>();
  private stopWatch: StopWatch | undefined;
  private readonly viewListeners = new Set<(view: FeatureView) => void>();

  private constructor(
    private readonly kv: KvStore,
    private readonly logger: Logger,
  ) {}

  static async open(kv: KvStore, logger: Logger): Promise<DefinitionCatalog> {
    const catalog = new DefinitionCatalog(kv, logger);
    catalog.stopWatch = await kv.watch("", (change) => {
      if (change.operation !== "put" || !change.value) return;
      try {
        catalog.hold(change.key, change.value, change.revision);
      } catch (error) {
        logger.error("definition change not readable", { key: change.key, error });
      }
    });
    for (const key of [...(await kv.keys(ENTITY_PREFIX)), ...(await kv.keys(VIEW_PREFIX))]) {
      const entry = await kv.get(key);
      if (entry) catalog.hold(key, entry.value, entry.revision);
    }
    return catalog;
  }

  entity(name: string): Held<Entity> | undefined {
    return this.entities.get(name);
  }

  view(name: string): Held<FeatureView> | undefined {
    return this.views.get(name);
  }

  listEntities(): Entity[] {
    return [...this.entities.values()].map((held) => held.value).sort((a, b) => a.name.localeCompare(b.name));
  }

  listViews(): FeatureView[] {
    return [...this.views.values()].map((held) => held.value).sort((a, b) => a.name.localeCompare(b.name));
  }

  /** A kept version of a view, from the KV (old versions are not held in memory). */
  async viewVersion(name: string, version: number): Promise<FeatureView | undefined> {
    const entry = await this.kv.get(viewVersionKey(name, version));
    return entry && fromBinary(FeatureViewSchema, entry.value);
  }

  async viewVersions(name: string): Promise<number[]> {
    const prefix = viewVersionPrefix(name);
    return (await this.kv.keys(prefix)).map((key) => Number(key.slice(prefix.length))).sort((a, b) => a - b);
  }

  /**
   * Writes each definition with compare-and-set against the revision it
   * was planned on; ABORTED when another writer changed one meanwhile
   * (apply again: the plan is redone on what is stored then).
   */
  async write(writes: readonly DefinitionWrite[]): Promise<void> {
    for (const write of writes) {
      const key = write.entity ? entityKey(write.entity.name) : viewKey(write.view!.name);
      const bytes = write.entity ? toBinary(EntitySchema, write.entity) : toBinary(FeatureViewSchema, write.view!);
      try {
        if (write.view) await this.kv.put(viewVersionKey(write.view.name, write.view.version), bytes);
        const revision = write.expectedRevision === 0 ? await this.kv.create(key, bytes) : await this.kv.update(key, bytes, write.expectedRevision);
        this.hold(key, bytes, revision);
      } catch (error) {
        if (error instanceof ConnectError && (error.code === Code.AlreadyExists || error.code === Code.Aborted)) {
          throw aborted(`${key} was changed by another apply at the same time; apply again`, error);
        }
        throw error;
      }
    }
  }

  /** Calls `listener` with every view that changes from now on; returns how to stop. */
  onViewChange(listener: (view: FeatureView) => void): () => void {
    this.viewListeners.add(listener);
    return () => this.viewListeners.delete(listener);
  }

  async close(): Promise<void> {
    await this.stopWatch?.();
  }

  private hold(key: string, value: Uint8Array, revision: number): void {
    if (key.startsWith(ENTITY_PREFIX)) {
      const name = key.slice(ENTITY_PREFIX.length);
      if ((this.entities.get(name)?.revision ?? 0) < revision) this.entities.set(name, { value: fromBinary(EntitySchema, value), revision });
    } else if (key.startsWith(VIEW_PREFIX)) {
      const name = key.slice(VIEW_PREFIX.length);
      if ((this.views.get(name)?.revision ?? 0) < revision) {
        const view = fromBinary(FeatureViewSchema, value);
        this.views.set(name, { value: view, revision });
        for (const listener of this.viewListeners) listener(view);
      }
    }
  }
}
