import type { Client } from "@connectrpc/connect";
import { Code, ConnectError } from "../../libs/errors/index.js";
import type { RegistryService } from "../../libs/gen/tessera/registry/v1/registry_pb.js";
import { parseServeList } from "../../services/inference/serve-list.js";
import type { ServiceEndpoint } from "./running-mesh.js";
import { waitForHttp } from "./wait-for-http.js";

/**
 * Where a replica stands after start-up:
 * - ready: serving everything it was told to (/readyz answers 200);
 * - idle: live, told to serve nothing (a replica is ready only once it serves something);
 * - waiting: some of what it serves is not in the registry yet (it loads it once pushed);
 * - loading: still loading when the wait ran out.
 */
export type ReplicaReadiness =
  | { readonly state: "ready" }
  | { readonly state: "idle" }
  | { readonly state: "waiting"; readonly missing: readonly string[] }
  | { readonly state: "loading" };

/**
 * Decides, and waits as long as worth it, whether a replica is ready. Asks
 * the registry first: waiting for a model nobody has pushed yet would only
 * run out the clock.
 */
export async function replicaReadiness(
  replica: ServiceEndpoint,
  registry: Client<typeof RegistryService>,
  options: { timeoutMs: number; signal?: AbortSignal },
): Promise<ReplicaReadiness> {
  if (replica.serve.length === 0) return { state: "idle" };
  const missing: string[] = [];
  for (const spec of parseServeList(replica.serve.join(","))) {
    try {
      await registry.getModelVersion(
        { version: { model: spec.model, selector: spec.alias !== undefined ? { case: "alias", value: spec.alias } : { case: "version", value: spec.version } } },
        { timeoutMs: 5_000 },
      );
    } catch (error) {
      if (ConnectError.from(error).code === Code.NotFound) missing.push(spec.alias !== undefined ? `${spec.model}@${spec.alias}` : `${spec.model}@${spec.version}`);
    }
  }
  if (missing.length > 0) return { state: "waiting", missing };
  const ready = await waitForHttp(`http://${replica.httpAddress}/readyz`, { timeoutMs: options.timeoutMs, signal: options.signal, intervalMs: 250 });
  return ready ? { state: "ready" } : { state: "loading" };
}
