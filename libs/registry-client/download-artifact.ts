import { createHash } from "node:crypto";
import type { MessageInitShape } from "@bufbuild/protobuf";
import type { Client } from "@connectrpc/connect";
import { dataLoss, invalidArgument } from "../errors/index.js";
import type { ModelVersion, RegistryService, VersionSelectorSchema } from "../gen/tessera/registry/v1/registry_pb.js";
import { PartReader } from "./part-reader.js";

export interface DownloadedArtifact {
  modelVersion: ModelVersion;
  /** The model file. */
  bytes: Uint8Array;
  /** Its external data files, when asked for (includeExternalData), in the record's order. */
  externalData: { path: string; bytes: Uint8Array }[];
}

/** One file of a version as it arrives: path "" is the model file, anything else an external data file beside it. */
export interface ArtifactFileInfo {
  path: string;
  sha256: string;
  sizeBytes: bigint;
}

export interface DownloadOptions {
  timeoutMs?: number;
  signal?: AbortSignal;
  /** Bytes per chunk the registry sends; default its own (256 KiB). */
  chunkSize?: number;
}

export interface DownloadFilesOptions extends DownloadOptions {
  /** Default true. */
  includeExternalData?: boolean;
  /**
   * Asked once the version record arrives: true ends the download there,
   * before any file is sent to `sink` (the caller has every file already).
   */
  skip?: (modelVersion: ModelVersion) => Promise<boolean>;
}

/**
 * Downloads a version's files, handing each to `sink` as a stream of chunks
 * (the model first, then its external data files) so none needs to be held
 * whole. Each file's size and sha256 are checked as its last chunk passes:
 * a mismatch fails that stream with DATA_LOSS, so a sink that writes to a
 * temporary name and renames only after the stream ends never keeps a
 * damaged file. Resolves to the version record.
 */
export async function downloadArtifactFiles(
  client: Client<typeof RegistryService>,
  version: MessageInitShape<typeof VersionSelectorSchema>,
  sink: (file: ArtifactFileInfo, chunks: AsyncIterable<Uint8Array>, modelVersion: ModelVersion) => Promise<void>,
  options: DownloadFilesOptions = {},
): Promise<ModelVersion> {
  const includeExternalData = options.includeExternalData ?? true;
  const stream = client.downloadArtifact({ version, includeExternalData, chunkSize: options.chunkSize ?? 0 }, { timeoutMs: options.timeoutMs ?? 120_000, signal: options.signal });
  const iterator = stream[Symbol.asyncIterator]();
  const first = await iterator.next();
  const modelVersion = !first.done && first.value.payload.case === "modelVersion" ? first.value.payload.value : undefined;
  const artifact = modelVersion?.artifact;
  if (!modelVersion || !artifact) {
    await iterator.return?.();
    throw invalidArgument("the registry sent an artifact without its version record");
  }
  async function* chunks(): AsyncGenerator<Uint8Array> {
    for (let next = await iterator.next(); !next.done; next = await iterator.next()) {
      if (next.value.payload.case === "chunk") yield next.value.payload.value;
    }
  }
  if (options.skip && (await options.skip(modelVersion))) {
    await iterator.return?.();
    return modelVersion;
  }
  const reader = new PartReader(chunks());
  const what = `${modelVersion.model} v${modelVersion.version}`;
  const files: ArtifactFileInfo[] = [{ path: "", sha256: artifact.sha256, sizeBytes: artifact.sizeBytes }, ...(includeExternalData ? artifact.externalData : [])];
  try {
    for (const file of files) {
      const name = file.path === "" ? `artifact of ${what}` : `external data file "${file.path}" of ${what}`;
      let verified = false;
      async function* checked(): AsyncGenerator<Uint8Array> {
        const hash = createHash("sha256");
        let size = 0;
        for await (const chunk of reader.take(Number(file.sizeBytes))) {
          hash.update(chunk);
          size += chunk.byteLength;
          yield chunk;
        }
        const sha256 = hash.digest("hex");
        if (sha256 !== file.sha256 || BigInt(size) !== file.sizeBytes) {
          throw dataLoss(`${name} arrived damaged: ${size} bytes with sha256 ${sha256}, expected ${file.sizeBytes} bytes with ${file.sha256}`);
        }
        verified = true;
      }
      await sink(file, checked(), modelVersion);
      if (!verified) throw new Error(`the sink for ${name} stopped reading before the end, so the file was not checked`);
    }
    if (await reader.hasMore()) throw dataLoss(`the registry sent more bytes for ${what} than its files hold`);
  } finally {
    await iterator.return?.();
  }
  return modelVersion;
}

/** Downloads a version's artifact (and its external data files, when asked) into memory, each checked against the version record. */
export async function downloadArtifact(
  client: Client<typeof RegistryService>,
  version: MessageInitShape<typeof VersionSelectorSchema>,
  options: DownloadOptions & { includeExternalData?: boolean } = {},
): Promise<DownloadedArtifact> {
  let bytes = new Uint8Array(0);
  const externalData: { path: string; bytes: Uint8Array }[] = [];
  const modelVersion = await downloadArtifactFiles(
    client,
    version,
    async (file, chunks) => {
      const parts: Uint8Array[] = [];
      for await (const chunk of chunks) parts.push(chunk);
      const whole = Buffer.concat(parts);
      if (file.path === "") bytes = whole;
      else externalData.push({ path: file.path, bytes: whole });
    },
    { ...options, includeExternalData: options.includeExternalData ?? false },
  );
  return { modelVersion, bytes, externalData };
}
