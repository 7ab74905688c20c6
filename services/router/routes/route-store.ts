import { create, fromBinary, toBinary } from "@bufbuild/protobuf";
import { RouteSchema, type Route } from "../../../libs/gen/tessera/router/v1/router_pb.js";
import type { Logger } from "../../../libs/log/index.js";
import type { KvStore, StopWatch } from "../../../libs/store/index.js";

/**
 * Routes in a KV bucket, one key per model, and this router's copy of
 * them, kept current by a watch: every router instance sees a change
 * within the watch's latency, and keeps serving its last copy while NATS
 * is away.
 */
export class RouteStore {
  private readonly routes = new Map<string, Route>();
  private stopWatch: StopWatch | undefined;

  private constructor(
    private readonly kv: KvStore,
    private readonly logger: Logger,
  ) {}

  /** Watches first, then reads, so no change between the two is missed. */
  static async open(kv: KvStore, logger: Logger): Promise<RouteStore> {
    const store = new RouteStore(kv, logger);
    store.stopWatch = await kv.watch("", (change) => store.apply(change.key, change.operation === "put" ? change.value : undefined, change.revision));
    for (const key of await kv.keys()) {
      const entry = await kv.get(key);
      if (entry) store.apply(key, entry.value, entry.revision);
    }
    return store;
  }

  get(model: string): Route | undefined {
    return this.routes.get(model);
  }

  list(): Route[] {
    return [...this.routes.values()].sort((a, b) => a.model.localeCompare(b.model));
  }

  /** Compare-and-set: expectedRevision 0 creates (ALREADY_EXISTS if present), else updates (ABORTED if moved). */
  async set(route: Route, expectedRevision: number): Promise<Route> {
    const value = toBinary(RouteSchema, create(RouteSchema, { ...route, revision: 0n }));
    const revision = expectedRevision === 0 ? await this.kv.create(route.model, value) : await this.kv.update(route.model, value, expectedRevision);
    this.apply(route.model, value, revision);
    return this.routes.get(route.model)!;
  }

  async delete(model: string, expectedRevision: number): Promise<void> {
    await this.kv.delete(model, expectedRevision === 0 ? undefined : expectedRevision);
    this.routes.delete(model);
  }

  async close(): Promise<void> {
    await this.stopWatch?.();
  }

  private apply(key: string, value: Uint8Array | undefined, revision: number): void {
    const held = this.routes.get(key);
    if (held && Number(held.revision) >= revision) return;
    if (!value) {
      this.routes.delete(key);
      this.logger.info("route deleted", { model: key, revision });
      return;
    }
    try {
      const route = fromBinary(RouteSchema, value);
      route.revision = BigInt(revision);
      this.routes.set(key, route);
      this.logger.info("route loaded", { model: key, revision, splits: route.splits.map((s) => `${s.version}:${s.weight}`).join(",") });
    } catch (error) {
      this.logger.warn("a stored route could not be decoded; keeping the previous one", { model: key, revision, error });
    }
  }
}
