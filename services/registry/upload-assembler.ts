import { createHash, type Hash } from "node:crypto";
import { invalidArgument } from "../../libs/errors/index.js";
import type { UploadModelVersionRequest_Header } from "../../libs/gen/tessera/registry/v1/registry_pb.js";

const SHA256_HEX = /^[0-9a-f]{64}$/;

export interface CheckedArtifact {
  sizeBytes: number;
  sha256: string;
}

/**
 * Checks an upload's chunks as they pass on to the object store: counts
 * and hashes them, keeping none, and refuses the upload the moment it goes
 * wrong (too many bytes), or at the end (too few, or a different sha256).
 */
export class UploadAssembler {
  private received = 0;
  private readonly hash: Hash = createHash("sha256");

  constructor(
    private readonly header: UploadModelVersionRequest_Header,
    maxArtifactBytes: number,
  ) {
    const size = Number(header.sizeBytes);
    if (size <= 0) throw invalidArgument("header.size_bytes is required: the artifact's size in bytes, so an upload that ends early is detected");
    if (size > maxArtifactBytes) throw invalidArgument(`header.size_bytes is ${size}; this registry accepts artifacts up to ${maxArtifactBytes} bytes`);
    if (header.sha256 !== "" && !SHA256_HEX.test(header.sha256)) {
      throw invalidArgument("header.sha256 must be 64 lower-case hex characters (or empty to skip the check)");
    }
  }

  get expectedBytes(): number {
    return Number(this.header.sizeBytes);
  }

  add(chunk: Uint8Array): void {
    this.received += chunk.byteLength;
    if (this.received > this.expectedBytes) {
      throw invalidArgument(`upload sent more than header.size_bytes (${this.expectedBytes}) bytes; nothing was stored`);
    }
    this.hash.update(chunk);
  }

  finish(): CheckedArtifact {
    if (this.received < this.expectedBytes) {
      throw invalidArgument(`upload ended after ${this.received} of ${this.expectedBytes} bytes; nothing was stored`);
    }
    const sha256 = this.hash.digest("hex");
    if (this.header.sha256 !== "" && this.header.sha256 !== sha256) {
      throw invalidArgument(`artifact sha256 is ${sha256}, but the header said ${this.header.sha256}; nothing was stored`);
    }
    return { sizeBytes: this.received, sha256 };
  }
}
