import type { Client } from "@connectrpc/connect";
import { failedPrecondition } from "../../../libs/errors/index.js";
import type { ModelVersion, RegistryService } from "../../../libs/gen/tessera/registry/v1/registry_pb.js";
import { downloadArtifact, type DownloadedArtifact } from "../../../libs/registry-client/index.js";

export type RegistryClient = Client<typeof RegistryService>;

export interface FetchOptions {
  /** Deadline of the call, ms. */
  readonly timeoutMs: number;
  readonly signal?: AbortSignal;
}

/** The version an alias points at now, as the registry says. */
export async function lookUpAlias(registry: RegistryClient, model: string, alias: string, options: FetchOptions): Promise<ModelVersion> {
  const response = await registry.getModelVersion(
    { version: { model, selector: { case: "alias", value: alias } } },
    { timeoutMs: options.timeoutMs, signal: options.signal },
  );
  if (!response.modelVersion) throw failedPrecondition(`the registry answered no model version for ${model}@${alias}`);
  return response.modelVersion;
}

/**
 * One version's record and artifact bytes (DownloadArtifact), the bytes
 * checked against the recorded size and sha256 before anything loads them.
 */
export function fetchVersion(registry: RegistryClient, model: string, version: number, options: FetchOptions): Promise<DownloadedArtifact> {
  return downloadArtifact(registry, { model, selector: { case: "version", value: version } }, options);
}
