import type { Backends } from "../../libs/backends/index.js";
import { RegistryService } from "../../libs/gen/tessera/registry/v1/registry_pb.js";
import { serve, startService, type ServiceHost } from "../../libs/host/index.js";
import type { Logger } from "../../libs/log/index.js";
import type { RegistryConfig } from "./config.js";
import { RegistryEvents } from "./registry-events.js";
import { createRegistryService } from "./registry-service.js";
import { RegistryStore } from "./registry-store.js";

export interface RegistryDependencies {
  config: Pick<RegistryConfig, "host" | "grpcPort" | "httpPort" | "metadataBucket" | "artifactBucket" | "maxArtifactBytes">;
  backends: Backends;
  logger: Logger;
  /** Close the backends when the service stops. Default true; false when the caller shares them. */
  ownsBackends?: boolean;
}

/** Starts the registry on its two ports over the given backends. */
export async function startRegistry(deps: RegistryDependencies): Promise<ServiceHost> {
  const { config, backends, logger } = deps;
  const store = new RegistryStore(await backends.kv(config.metadataBucket), await backends.objects(config.artifactBucket));
  const impl = createRegistryService({
    store,
    events: new RegistryEvents(backends.events, logger),
    logger,
    maxArtifactBytes: config.maxArtifactBytes,
  });
  const host = await startService({
    name: "registry",
    services: [serve(RegistryService, impl)],
    host: config.host,
    grpcPort: config.grpcPort,
    httpPort: config.httpPort,
    logger,
    onClose: deps.ownsBackends === false ? undefined : () => backends.close(),
  });
  host.setReady(true);
  return host;
}
