import { Code, ConnectError, type Client } from "@connectrpc/connect";
import type { RegistryService } from "../../libs/gen/tessera/registry/v1/registry_pb.js";
import type { ProfileSource } from "./drift-monitor.js";

/** Reference profiles from the registry; a version without one is undefined, not an error. */
export function registryProfiles(registry: Client<typeof RegistryService>): ProfileSource {
  return async (model, version) => {
    try {
      const response = await registry.getReferenceProfile({ version: { model, selector: { case: "version", value: version } } }, { timeoutMs: 10_000 });
      return response.profile;
    } catch (error) {
      if (ConnectError.from(error).code === Code.NotFound) return undefined;
      throw error;
    }
  };
}
