import { createHash } from "node:crypto";
import type { MessageInitShape } from "@bufbuild/protobuf";
import type { Client } from "@connectrpc/connect";
import { dataLoss, invalidArgument } from "../errors/index.js";
import type { ModelVersion, RegistryService, VersionSelectorSchema } from "../gen/tessera/registry/v1/registry_pb.js";

export interface DownloadedArtifact {
  modelVersion: ModelVersion;
  bytes: Uint8Array;
}

/** Downloads a version's artifact and checks its size and sha256 against the version record. */
export async function downloadArtifact(
  client: Client<typeof RegistryService>,
  version: MessageInitShape<typeof VersionSelectorSchema>,
  options: { timeoutMs?: number; signal?: AbortSignal } = {},
): Promise<DownloadedArtifact> {
  let modelVersion: ModelVersion | undefined;
  const chunks: Uint8Array[] = [];
  const hash = createHash("sha256");
  let size = 0;
  for await (const message of client.downloadArtifact({ version }, { timeoutMs: options.timeoutMs ?? 120_000, signal: options.signal })) {
    if (message.payload.case === "modelVersion") modelVersion = message.payload.value;
    else if (message.payload.case === "chunk") {
      chunks.push(message.payload.value);
      hash.update(message.payload.value);
      size += message.payload.value.byteLength;
    }
  }
  if (!modelVersion?.artifact) throw invalidArgument("the registry sent an artifact without its version record");
  const sha256 = hash.digest("hex");
  if (sha256 !== modelVersion.artifact.sha256 || BigInt(size) !== modelVersion.artifact.sizeBytes) {
    throw dataLoss(
      `artifact of ${modelVersion.model} v${modelVersion.version} arrived damaged: ${size} bytes with sha256 ${sha256}, expected ${modelVersion.artifact.sizeBytes} bytes with ${modelVersion.artifact.sha256}`,
    );
  }
  return { modelVersion, bytes: Buffer.concat(chunks, size) };
}
