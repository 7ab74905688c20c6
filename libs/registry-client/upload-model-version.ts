import { createHash } from "node:crypto";
import { create, type MessageInitShape } from "@bufbuild/protobuf";
import type { Client } from "@connectrpc/connect";
import {
  type ModelVersion,
  type RegistryService,
  UploadModelVersionRequest_HeaderSchema,
} from "../gen/tessera/registry/v1/registry_pb.js";
import type { BatchingConfigSchema } from "../gen/tessera/registry/v1/batching_pb.js";
import type { FeatureBindingSchema } from "../gen/tessera/registry/v1/feature_binding_pb.js";

/** 1 MiB chunks: well under gRPC's message limit, few enough to keep overhead low. */
export const UPLOAD_CHUNK_BYTES = 1024 * 1024;

/** The upload header a caller fills in; size and sha256 are computed here. */
export interface UploadHeader {
  model: string;
  description?: string;
  tags?: Record<string, string>;
  metrics?: Record<string, number>;
  batching?: MessageInitShape<typeof BatchingConfigSchema>;
  createModel?: boolean;
  aliases?: string[];
  /** Makes a retry of this upload answer the version the first attempt created (see the proto). */
  idempotencyKey?: string;
  featureBinding?: MessageInitShape<typeof FeatureBindingSchema>;
}

/** An external data file announced in an upload's header; its bytes follow the model's, in the listed order. */
export interface UploadFileHeader {
  /** Relative to the model file's folder, as the model's tensors name it. */
  path: string;
  sizeBytes: number | bigint;
  /** Checked by the registry when given. */
  sha256?: string;
}

/**
 * Uploads an artifact as a new version, sending its size and sha256 so the
 * registry can check both; `externalData` are the files the model keeps its
 * tensors in (ONNX external data), each under the path the model names.
 */
export async function uploadModelVersion(
  client: Client<typeof RegistryService>,
  header: UploadHeader,
  artifact: Uint8Array,
  options: { timeoutMs?: number; externalData?: readonly { path: string; bytes: Uint8Array }[] } = {},
): Promise<ModelVersion> {
  const sha256 = createHash("sha256").update(artifact).digest("hex");
  const files = options.externalData ?? [];
  const externalData = files.map((file) => ({ path: file.path, sizeBytes: BigInt(file.bytes.byteLength), sha256: createHash("sha256").update(file.bytes).digest("hex") }));
  async function* messages() {
    yield {
      payload: {
        case: "header" as const,
        value: create(UploadModelVersionRequest_HeaderSchema, { ...header, sizeBytes: BigInt(artifact.byteLength), sha256, externalData }),
      },
    };
    for (const bytes of [artifact, ...files.map((file) => file.bytes)]) {
      for (let offset = 0; offset < bytes.byteLength; offset += UPLOAD_CHUNK_BYTES) {
        yield { payload: { case: "chunk" as const, value: bytes.subarray(offset, offset + UPLOAD_CHUNK_BYTES) } };
      }
    }
  }
  const response = await client.uploadModelVersion(messages(), { timeoutMs: options.timeoutMs ?? 120_000 });
  if (!response.modelVersion) throw new Error("registry answered an upload without the new version");
  return response.modelVersion;
}

/**
 * Uploads an artifact that arrives as a stream (a file read stream), never
 * holding it whole: the caller gives its size, and its sha256 when known
 * (without one the registry cannot check the bytes against it). With
 * `externalData`, `chunks` carries the model's bytes and then each listed
 * file's, back to back in that order.
 */
export async function uploadModelVersionStream(
  client: Client<typeof RegistryService>,
  header: UploadHeader & { sizeBytes: number | bigint; sha256?: string; externalData?: readonly UploadFileHeader[] },
  chunks: AsyncIterable<Uint8Array>,
  options: { timeoutMs?: number } = {},
): Promise<ModelVersion> {
  async function* messages() {
    yield {
      payload: {
        case: "header" as const,
        value: create(UploadModelVersionRequest_HeaderSchema, {
          ...header,
          sizeBytes: BigInt(header.sizeBytes),
          sha256: header.sha256 ?? "",
          externalData: (header.externalData ?? []).map((file) => ({ path: file.path, sizeBytes: BigInt(file.sizeBytes), sha256: file.sha256 ?? "" })),
        }),
      },
    };
    for await (const chunk of chunks) {
      for (let offset = 0; offset < chunk.byteLength; offset += UPLOAD_CHUNK_BYTES) {
        yield { payload: { case: "chunk" as const, value: chunk.subarray(offset, offset + UPLOAD_CHUNK_BYTES) } };
      }
    }
  }
  const response = await client.uploadModelVersion(messages(), { timeoutMs: options.timeoutMs ?? 600_000 });
  if (!response.modelVersion) throw new Error("registry answered an upload without the new version");
  return response.modelVersion;
}
