import { openBackends, type Backends } from "../../libs/backends/index.js";
import { FeatureService } from "../../libs/gen/tessera/feature/v1/feature_pb.js";
import { createMeshClient, type MeshClient } from "../../libs/host/index.js";
import { silentLogger } from "../../libs/log/index.js";
import type { NatsConnection } from "../../libs/nats/index.js";
import { createMemoryOnlineStore, openRedisOnlineStore, type OnlineStore } from "../../libs/online-store/index.js";
import { testNatsUrl, testRedisUrl, uniqueName } from "../../libs/testing/index.js";
import { startFeature, type FeatureHost } from "../../services/feature/start-feature.js";

export interface TestFeature {
  host: FeatureHost;
  backends: Backends;
  store: OnlineStore;
  client: MeshClient<typeof FeatureService>["client"];
  bucket: string;
  keyPrefix: string;
  /** Push subjects must start with this and a dot. */
  pushSubjectPrefix: string;
  stop(): Promise<void>;
}

export interface TestFeatureOptions {
  /** Definitions: real NATS KV (default) or memory. */
  mode?: "nats" | "embedded";
  /** Online store: Redis at REDIS_URL (default), a given Redis/cluster, or memory. */
  online?: "redis" | "memory" | { url: string; cluster?: boolean; commandTimeoutMs?: number };
  maxFutureSkewMs?: number;
  now?: () => number;
  /** Consume push sources: a fresh stream and subject prefix per call, on this connection. */
  nats?: NatsConnection;
  /** TESSERA_MESH_TOKEN: the service refuses writes without it; the harness's client sends it. */
  meshToken?: string;
}

/** A feature service on ephemeral loopback ports, with a fresh definitions bucket and key prefix per call. */
export async function startTestFeature(options: TestFeatureOptions = {}): Promise<TestFeature> {
  const mode = options.mode ?? "nats";
  const backends = await openBackends(
    mode === "nats" ? { mode, natsUrl: testNatsUrl(), clientName: "test-feature", logger: silentLogger } : { mode, dataDir: "", logger: silentLogger },
  );
  const keyPrefix = `${uniqueName("tf")}:`;
  const online = options.online ?? "redis";
  const store =
    online === "memory"
      ? createMemoryOnlineStore()
      : online === "redis"
        ? await openRedisOnlineStore({ url: testRedisUrl(), keyPrefix })
        : await openRedisOnlineStore({ url: online.url, cluster: online.cluster, keyPrefix, commandTimeoutMs: online.commandTimeoutMs });
  const bucket = uniqueName("feat");
  const pushSubjectPrefix = uniqueName("push");
  const host = await startFeature({
    config: {
      host: "127.0.0.1",
      grpcPort: 0,
      httpPort: 0,
      definitionsBucket: bucket,
      maxFutureSkewMs: options.maxFutureSkewMs ?? 60_000,
      pushSubjectPrefix: options.nats ? pushSubjectPrefix : "feature_push",
      pushStream: uniqueName("PUSH"),
      ...(options.meshToken ? { meshToken: options.meshToken } : {}),
    },
    nats: options.nats,
    backends,
    onlineStore: store,
    logger: silentLogger,
    now: options.now,
  });
  const mesh = createMeshClient(FeatureService, { address: host.grpcAddress, meshToken: options.meshToken });
  return {
    host,
    backends,
    store,
    client: mesh.client,
    bucket,
    keyPrefix,
    pushSubjectPrefix: options.nats ? pushSubjectPrefix : "feature_push",
    async stop() {
      mesh.close();
      await host.shutdown();
    },
  };
}
