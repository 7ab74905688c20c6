import type { Client } from "@connectrpc/connect";
import { failedPrecondition } from "../../../libs/errors/index.js";
import type { ModelVersion, RegistryService } from "../../../libs/gen/tessera/registry/v1/registry_pb.js";
import { artifactDigest, downloadArtifactFiles } from "../../../libs/registry-client/index.js";
import type { ModelCache } from "../runtime/model-cache.js";

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

/** A version fetched into the model cache: its record and the model file's path, its external data files beside it. */
export interface FetchedVersion {
  modelVersion: ModelVersion;
  path: string;
}

/**
 * Fetches one version's files (DownloadArtifact with its external data)
 * into the cache folder of its artifact digest, streaming each to disk and
 * checking it against the recorded size and sha256 before it is renamed
 * into place. A version whose files are all in the cache already, whole,
 * is not downloaded again.
 */
export async function fetchVersion(registry: RegistryClient, cache: ModelCache, model: string, version: number, options: FetchOptions): Promise<FetchedVersion> {
  const filesOf = (modelVersion: ModelVersion) => {
    const artifact = modelVersion.artifact;
    if (!artifact) throw failedPrecondition(`the registry's record of ${model} v${version} has no artifact`);
    return { digest: artifactDigest(artifact), files: [{ path: "", sha256: artifact.sha256 }, ...artifact.externalData] };
  };
  const modelVersion = await downloadArtifactFiles(
    registry,
    { model, selector: { case: "version", value: version } },
    async (file, chunks, record) => {
      await cache.writeFile(filesOf(record).digest, file, chunks);
    },
    {
      timeoutMs: options.timeoutMs,
      signal: options.signal,
      skip: async (record) => {
        const { digest, files } = filesOf(record);
        return cache.hasFiles(digest, files);
      },
    },
  );
  return { modelVersion, path: cache.pathOf(filesOf(modelVersion).digest) };
}
