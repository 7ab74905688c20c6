import { openBackends, type Backends } from "../../libs/backends/index.js";
import { RegistryService } from "../../libs/gen/tessera/registry/v1/registry_pb.js";
import { createMeshClient, type MeshClient, type ServiceHost } from "../../libs/host/index.js";
import { silentLogger } from "../../libs/log/index.js";
import type { KvStore } from "../../libs/store/index.js";
import type { RegistryLimits } from "../../services/registry/registry-limits.js";
import { testNatsUrl, uniqueName } from "../../libs/testing/index.js";
import { startRegistry } from "../../services/registry/start-registry.js";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";

export interface TestRegistry {
  host: ServiceHost;
  backends: Backends;
  client: MeshClient<typeof RegistryService>["client"];
  metadataBucket: string;
  artifactBucket: string;
  /** Where the embedded store keeps artifacts; "" over NATS. */
  dataDir: string;
  stop(): Promise<void>;
}

/**
 * A registry on ephemeral loopback ports, over the real NATS (fresh
 * buckets per call, so test files do not see each other's models) or over
 * the embedded backends.
 */
export interface TestRegistryOptions {
  mode?: "nats" | "embedded";
  natsUrl?: string;
  maxArtifactBytes?: number;
  limits?: RegistryLimits;
  /** Wraps the metadata store the registry writes through (a faultyKvStore). */
  wrapKv?: (kv: KvStore) => KvStore;
  /** Reuse these buckets (a registry restarted over another's data). Default: fresh ones. */
  metadataBucket?: string;
  artifactBucket?: string;
  /** The mesh (TESSERA_MESH). Default "tessera". */
  mesh?: string;
  orphanGraceMs?: number;
}

export async function startTestRegistry(options: TestRegistryOptions = {}): Promise<TestRegistry> {
  const mode = options.mode ?? "nats";
  const dataDir = mode === "embedded" ? await mkdtemp(join(tmpdir(), "tessera-registry-")) : "";
  const backends = await openBackends(
    mode === "nats"
      ? { mode, natsUrl: options.natsUrl ?? testNatsUrl(), clientName: "test-registry", logger: silentLogger, mesh: options.mesh }
      : { mode, dataDir, logger: silentLogger, mesh: options.mesh },
  );
  const metadataBucket = options.metadataBucket ?? uniqueName("reg");
  const artifactBucket = options.artifactBucket ?? uniqueName("art");
  const wrapKv = options.wrapKv;
  const host = await startRegistry({
    config: {
      host: "127.0.0.1",
      grpcPort: 0,
      httpPort: 0,
      metadataBucket,
      artifactBucket,
      maxArtifactBytes: options.maxArtifactBytes ?? 256 * 1024 * 1024,
      ...(options.limits ? { limits: options.limits } : {}),
    },
    backends: wrapKv ? { ...backends, kv: async (bucket, kvOptions) => wrapKv(await backends.kv(bucket, kvOptions)) } : backends,
    logger: silentLogger,
    orphanGraceMs: options.orphanGraceMs,
  });
  const mesh = createMeshClient(RegistryService, { address: host.grpcAddress });
  return {
    host,
    backends,
    client: mesh.client,
    metadataBucket,
    artifactBucket,
    dataDir,
    async stop() {
      mesh.close();
      await host.shutdown();
      if (dataDir) await rm(dataDir, { recursive: true, force: true });
    },
  };
}
