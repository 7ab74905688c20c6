import { describe, expect, it } from "vitest";
import { createHash } from "node:crypto";
import { create } from "@bufbuild/protobuf";
import { UploadModelVersionRequest_HeaderSchema } from "../../libs/gen/tessera/registry/v1/registry_pb.js";
import { UploadAssembler } from "./upload-assembler.js";

const bytes = new Uint8Array(1000).map((_, i) => i % 251);
const sha256 = createHash("sha256").update(bytes).digest("hex");
const header = (init: { sizeBytes?: bigint; sha256?: string }) => create(UploadModelVersionRequest_HeaderSchema, { model: "m", ...init });

describe("UploadAssembler", () => {
  it("counts and hashes chunks as they pass", () => {
    const assembler = new UploadAssembler(header({ sizeBytes: 1000n, sha256 }), 10_000);
    assembler.add(bytes.subarray(0, 400));
    assembler.add(bytes.subarray(400));
    expect(assembler.finish()).toEqual({ sha256, sizeBytes: 1000 });
  });

  it.each([
    ["no size", { sha256 }, /size_bytes is required/],
    ["a size over the limit", { sizeBytes: 20_000n }, /accepts artifacts up to 10000 bytes/],
    ["a malformed sha256", { sizeBytes: 1000n, sha256: "XYZ" }, /64 lower-case hex/],
  ])("refuses a header with %s", (_case, init, message) => {
    expect(() => new UploadAssembler(header(init), 10_000)).toThrow(message);
  });

  it("refuses more bytes than announced as soon as they arrive", () => {
    const assembler = new UploadAssembler(header({ sizeBytes: 500n }), 10_000);
    expect(() => assembler.add(bytes)).toThrow(/more than header.size_bytes \(500\)/);
  });

  it("refuses a stream that ended early", () => {
    const assembler = new UploadAssembler(header({ sizeBytes: 1000n }), 10_000);
    assembler.add(bytes.subarray(0, 10));
    expect(() => assembler.finish()).toThrow(/ended after 10 of 1000 bytes/);
  });

  it("refuses bytes whose sha256 differs from the header's", () => {
    const assembler = new UploadAssembler(header({ sizeBytes: 1000n, sha256: "0".repeat(64) }), 10_000);
    assembler.add(bytes);
    expect(() => assembler.finish()).toThrow(new RegExp(`sha256 is ${sha256}`));
  });
});
