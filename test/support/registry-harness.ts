import { openBackends, type Backends } from "../../libs/backends/index.js";
import { RegistryService } from "../../libs/gen/tessera/registry/v1/registry_pb.js";
import { createMeshClient, type MeshClient, type ServiceHost } from "../../libs/host/index.js";
import { silentLogger } from "../../libs/log/index.js";
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
  stop(): Promise<void>;
}

/**
 * A registry on ephemeral loopback ports, over the real NATS (fresh
 * buckets per call, so test files do not see each other's models) or over
 * the embedded backends.
 */
export async function startTestRegistry(options: { mode?: "nats" | "embedded"; natsUrl?: string; maxArtifactBytes?: number } = {}): Promise<TestRegistry> {
  const mode = options.mode ?? "nats";
  const dataDir = mode === "embedded" ? await mkdtemp(join(tmpdir(), "tessera-registry-")) : "";
  const backends = await openBackends(
    mode === "nats"
      ? { mode, natsUrl: options.natsUrl ?? testNatsUrl(), clientName: "test-registry", logger: silentLogger }
      : { mode, dataDir, logger: silentLogger },
  );
  const metadataBucket = uniqueName("reg");
  const artifactBucket = uniqueName("art");
  const host = await startRegistry({
    config: { host: "127.0.0.1", grpcPort: 0, httpPort: 0, metadataBucket, artifactBucket, maxArtifactBytes: options.maxArtifactBytes ?? 256 * 1024 * 1024 },
    backends,
    logger: silentLogger,
  });
  const mesh = createMeshClient(RegistryService, { address: host.grpcAddress });
  return {
    host,
    backends,
    client: mesh.client,
    metadataBucket,
    artifactBucket,
    async stop() {
      mesh.close();
      await host.shutdown();
      if (dataDir) await rm(dataDir, { recursive: true, force: true });
    },
  };
}
