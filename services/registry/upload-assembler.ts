import { createHash, type Hash } from "node:crypto";
import { invalidArgument } from "../../libs/errors/index.js";
import type { UploadModelVersionRequest_Header } from "../../libs/gen/tessera/registry/v1/registry_pb.js";
import { checkArtifactPaths } from "../../libs/registry-client/index.js";
import type { RegistryLimits } from "./registry-limits.js";

const SHA256_HEX = /^[0-9a-f]{64}$/;

export interface CheckedArtifact {
  sizeBytes: number;
  sha256: string;
}

/** One file an upload announced: the model file (path "") or one of its external data files. */
export interface ExpectedFile {
  path: string;
  sizeBytes: number;
  /** Empty: not checked. */
  sha256: string;
}

/**
 * The files an upload's header announces, in the order their bytes follow
 * it (the model first), after checking what can be checked before any byte
 * arrives: sizes, sha256 forms, external data paths, the file count and the
 * total size. INVALID_ARGUMENT naming the field otherwise.
 */
export function expectedFiles(header: UploadModelVersionRequest_Header, maxArtifactBytes: number, limits: RegistryLimits): ExpectedFile[] {
  const size = Number(header.sizeBytes);
  if (size <= 0) throw invalidArgument("header.size_bytes is required: the artifact's size in bytes, so an upload that ends early is detected");
  if (size > maxArtifactBytes) throw invalidArgument(`header.size_bytes is ${size}; this registry accepts artifacts up to ${maxArtifactBytes} bytes`);
  if (header.sha256 !== "" && !SHA256_HEX.test(header.sha256)) {
    throw invalidArgument("header.sha256 must be 64 lower-case hex characters (or empty to skip the check)");
  }
  const extra = header.externalData;
  if (extra.length > limits.maxExternalDataFiles) {
    throw invalidArgument(`header.external_data lists ${extra.length} files; at most ${limits.maxExternalDataFiles} (TESSERA_MAX_EXTERNAL_DATA_FILES): save the model's external data into fewer files`);
  }
  checkArtifactPaths(
    extra.map((file) => file.path),
    "header.external_data",
  );
  let total = size;
  extra.forEach((file, index) => {
    const field = `header.external_data[${index}]`;
    if (file.sizeBytes <= 0n) throw invalidArgument(`${field}.size_bytes is required (${file.path}): the file's size in bytes, so an upload that ends early is detected`);
    if (file.sha256 !== "" && !SHA256_HEX.test(file.sha256)) throw invalidArgument(`${field}.sha256 must be 64 lower-case hex characters (or empty to skip the check)`);
    if (header.idempotencyKey !== "" && file.sha256 === "") {
      throw invalidArgument(`${field}.sha256 is needed with header.idempotency_key, so a retry is known to carry the same files`);
    }
    total += Number(file.sizeBytes);
  });
  if (total > limits.maxVersionBytes) {
    throw invalidArgument(`the model and its external data are ${total} bytes in all; this registry accepts up to ${limits.maxVersionBytes} bytes per version (TESSERA_MAX_VERSION_BYTES)`);
  }
  return [{ path: "", sizeBytes: size, sha256: header.sha256 }, ...extra.map((file) => ({ path: file.path, sizeBytes: Number(file.sizeBytes), sha256: file.sha256 }))];
}

/**
 * Checks one file's chunks as they pass on to the object store: counts and
 * hashes them, keeping none, and refuses the upload the moment it goes
 * wrong (too many bytes), or at the end (too few, or a different sha256).
 */
export class UploadAssembler {
  private received = 0;
  private readonly hash: Hash = createHash("sha256");

  constructor(private readonly file: ExpectedFile) {}

  get expectedBytes(): number {
    return this.file.sizeBytes;
  }

  add(chunk: Uint8Array): void {
    this.received += chunk.byteLength;
    if (this.received > this.expectedBytes) {
      throw invalidArgument(`upload sent more than ${this.sizeField()} (${this.expectedBytes}) bytes${this.of()}; nothing was stored`);
    }
    this.hash.update(chunk);
  }

  finish(): CheckedArtifact {
    if (this.received < this.expectedBytes) {
      throw invalidArgument(`upload ended after ${this.received} of ${this.expectedBytes} bytes${this.of()}; nothing was stored`);
    }
    const sha256 = this.hash.digest("hex");
    if (this.file.sha256 !== "" && this.file.sha256 !== sha256) {
      throw invalidArgument(`${this.file.path === "" ? "artifact" : `external data file "${this.file.path}"`} sha256 is ${sha256}, but the header said ${this.file.sha256}; nothing was stored`);
    }
    return { sizeBytes: this.received, sha256 };
  }

  private of(): string {
    return this.file.path === "" ? "" : ` of external data file "${this.file.path}"`;
  }

  private sizeField(): string {
    return this.file.path === "" ? "header.size_bytes" : "its size_bytes";
  }
}
